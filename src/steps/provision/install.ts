/**
 * pkg.install: the target release's packages on new. Debian: debconf answers preseeded (on stdin to
 * debconf-set-selections), then `apt-get install -y --no-install-recommends` with DEBIAN_FRONTEND=noninteractive
 * in the environment and the packaged config files kept; RHEL: `dnf install -y`. Before installing, the packages
 * not yet installed are checkpointed, so undo purges exactly those (and nothing the host had before).
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { tail } from "../../hosts/errors.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params, strList, union } from "../params.js";

const PKG = /^[A-Za-z0-9][A-Za-z0-9+._:-]*$/;
const INSTALL_TIMEOUT_MS = 3 * 3600 * 1000;
const APT_ENV = { DEBIAN_FRONTEND: "noninteractive", APT_LISTCHANGES_FRONTEND: "none" } as const;

function read(raw: JsonObject): { family: string; packages: string[]; debconf: string[] } {
  const p = new Params("pkg.install", raw);
  const packages = p.strs("packages");
  for (const x of packages) {
    if (!PKG.test(x))
      throw new UserError("PLAN_PARAM", `pkg.install: refusing an unusual package name ${JSON.stringify(x)}`);
  }
  return { family: p.str("family"), packages: [...new Set(packages)], debconf: p.strs("debconf", []) };
}

/** Which of `packages` are installed: dpkg's "ii" (Debian) or `rpm -q` success (RHEL). */
export async function installedPackages(
  host: Host,
  family: string,
  packages: readonly string[],
): Promise<Set<string>> {
  const out = new Set<string>();
  if (packages.length === 0) return out;
  if (family === "debian") {
    // Names are checked against PKG above (no leading dash). Unknown packages make dpkg-query exit 1 with a message per name; the known ones are still listed.
    const r = await host.exec(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\\n", ...packages]);
    for (const line of r.stdout.split("\n")) {
      const [name, status] = line.trim().split(/\s+/);
      if (name && status?.startsWith("ii")) out.add(name.replace(/:.*$/, ""));
    }
    return out;
  }
  for (const p of packages) if ((await host.exec(["rpm", "-q", p])).exitCode === 0) out.add(p);
  return out;
}

/**
 * What a failed package's maintainer script printed: apt's output ends with "Errors were encountered while
 * processing: X", which names the package but not the cause; the cause is what X's postinst wrote between
 * "Setting up X" and the next package's line. Those sections (bounded) are kept for every package dpkg names.
 */
export function maintainerScriptOutput(stdout: string, stderr: string): string {
  const failed = new Set<string>();
  for (const m of `${stderr}\n${stdout}`.matchAll(/dpkg: error processing package ([^\s(]+)/g)) {
    failed.add(m[1]!.replace(/:.*$/, ""));
  }
  const lines = stdout.split("\n");
  const sections: string[] = [];
  for (const pkg of failed) {
    const start = lines.findIndex(
      (l) => l.startsWith(`Setting up ${pkg} `) || l.startsWith(`Setting up ${pkg}:`),
    );
    if (start < 0) continue;
    let end = start + 1;
    while (
      end < lines.length &&
      end - start < 40 &&
      !/^(Setting up|Processing triggers|Unpacking) /.test(lines[end]!)
    )
      end++;
    sections.push(lines.slice(start, end).join("\n"));
  }
  return sections.join("\n");
}

function failure(
  host: Host,
  what: string,
  r: { exitCode: number; stdout: string; stderr: string },
): UserError {
  const scripts = maintainerScriptOutput(r.stdout, r.stderr);
  return new UserError(
    "PKG_INSTALL",
    `on ${host.name}: ${what} exited with ${r.exitCode}:\n${scripts ? `${tail(scripts, 3000)}\n…\n` : ""}${tail(`${r.stderr}\n${r.stdout}`.trim(), 2500)}`,
    {
      nextSteps: [
        "Fix the package problem named above on the new controller (source, dependencies, disk), then re-run.",
      ],
    },
  );
}

async function install(
  ctx: StepContext,
  host: Host,
  family: string,
  packages: readonly string[],
  debconf: readonly string[],
): Promise<void> {
  if (family === "debian") {
    if (debconf.length > 0) {
      const r = await host.exec(["debconf-set-selections"], { stdin: `${debconf.join("\n")}\n` });
      if (r.exitCode !== 0) throw failure(host, "debconf-set-selections", r);
    }
    ctx.emit({ type: "step-progress", message: `apt-get install of ${packages.length} package(s)` });
    // A handover killed mid-install leaves apt-get running on new (the SSH channel dropping does not stop it)
    // or dpkg half-configured: wait for the lock, then finish what dpkg started before installing again.
    const lock = ["-o", `DPkg::Lock::Timeout=${Math.floor(INSTALL_TIMEOUT_MS / 2000)}`];
    const fix = await host.exec(["dpkg", "--force-confdef", "--force-confold", "--configure", "-a"], {
      env: APT_ENV,
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
    if (fix.exitCode !== 0 && !/lock/i.test(fix.stderr)) throw failure(host, "dpkg --configure -a", fix);
    const r = await host.exec(
      [
        "apt-get",
        "install",
        ...lock,
        "-y",
        "--no-install-recommends",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
        ...packages,
      ],
      { env: APT_ENV, timeoutMs: INSTALL_TIMEOUT_MS },
    );
    if (r.exitCode !== 0) throw failure(host, "apt-get install", r);
    return;
  }
  const r = await host.exec(["dnf", "install", "-y", ...packages], { timeoutMs: INSTALL_TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(host, "dnf install", r);
}

export function installStep(_deps: StepDeps): StepImpl {
  return {
    kind: "pkg.install",
    async run(ctx, raw) {
      const { family, packages, debconf } = read(raw);
      const host = ctx.host("new");
      const have = await installedPackages(host, family, packages);
      // Merged with an earlier attempt's list: what it installed now looks "installed before" but is still ours.
      const newlyInstalled = union(
        strList(ctx.previousUndoData?.newlyInstalled),
        packages.filter((p) => !have.has(p)),
      );
      const undo: JsonObject = { newlyInstalled };
      ctx.checkpoint?.(undo);
      const todo = packages.filter((p) => !have.has(p));
      if (todo.length > 0) await install(ctx, host, family, todo, debconf);
      return undo;
    },
    async verify(ctx, raw) {
      const { family, packages } = read(raw);
      const have = await installedPackages(ctx.host("new"), family, packages);
      const missing = packages.filter((p) => !have.has(p));
      return missing.length === 0
        ? { ok: true, detail: `${packages.length} package(s) installed` }
        : { ok: false, detail: `not installed: ${missing.join(", ")}` };
    },
    async undo(ctx, raw, undoData) {
      const { family } = read(raw);
      const host = ctx.host("new");
      const ours = strList(undoData.newlyInstalled);
      const present = [...(await installedPackages(host, family, ours))];
      if (present.length === 0) return;
      const r =
        family === "debian"
          ? await host.exec(["apt-get", "purge", "-y", ...present], {
              env: APT_ENV,
              timeoutMs: INSTALL_TIMEOUT_MS,
            })
          : await host.exec(["dnf", "remove", "-y", ...present], { timeoutMs: INSTALL_TIMEOUT_MS });
      if (r.exitCode !== 0) throw failure(host, family === "debian" ? "apt-get purge" : "dnf remove", r);
    },
  };
}
