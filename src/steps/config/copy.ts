/**
 * config.copy: old's config dir (e.g. /etc/nova) onto new, keeping files the new packages installed that old
 * lacks (new rootwrap filters, policy samples, api-paste of the new release), then owner/group and modes as the
 * packages set them: `chown -R svc:svc`, and keystone's `fernet-keys/` and `credential-keys/` 0700 with 0600 files
 * (tokens and encrypted credentials depend on those keys; keystone refuses group/world-readable ones).
 *
 * Packaged defaults are not carried: a file old's packages installed as a conffile and nobody edited (its md5 is
 * still the one dpkg recorded) is the OLD release's default, and copying it would override the new package's
 * (seen in the lab: Victoria's policy.d/00_default_policy.yaml over Zed's made nova refuse the admin with 403;
 * api-paste.ini and rootwrap filters change between releases too). Only files the operator changed, and files no
 * package owns, are copied. Without dpkg on old (RPM), everything is copied and the log says so.
 *
 * Transfer: `tar -cf -` on old streamed into `tar -xf -` on new into a private staging dir, then `cp -a` over the
 * target: no shell strings, nothing on the jump's disk. Old is only read.
 *
 * Undo: new's dir as it was before the FIRST attempt is kept in /var/backups/handover/copy<dir> (taken before
 * anything changes, journaled first; a redo never retakes it, so it never captures a half-copied state).
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { TEMP_DIR_PATTERN, makeTempDir, removeTempDir } from "../../db/mysql-cli.js";
import { UserError } from "../../lib/errors.js";
import { pipeBetween } from "../../data/pipe.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { backupPath, checkPath, splitPath } from "./paths.js";

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** keystone's key repositories: owner-only (keystone-manage fernet_setup creates them so). */
export const PRIVATE_KEY_DIRS = ["fernet-keys", "credential-keys"] as const;

interface CopyParams {
  dir: string;
  owner: string;
  group: string;
  keepNewOnly: boolean;
}

function read(raw: JsonObject): CopyParams {
  const p = new Params("config.copy", raw);
  const owner = p.str("owner");
  const group = p.str("group", owner);
  if (!NAME.test(owner) || !NAME.test(group)) {
    throw new UserError("PLAN_PARAM", `config.copy: unusual owner ${JSON.stringify(`${owner}:${group}`)}`);
  }
  return {
    dir: checkPath(p.str("dir"), "config dir"),
    owner,
    group,
    keepNewOnly: p.bool("keepNewOnly", true),
  };
}

/** Entries below `dir` as "<type> <relative path>" (type: f file, d dir, l symlink ...); empty when absent. */
export async function listTree(host: Host, dir: string): Promise<Set<string> | undefined> {
  if ((await host.stat(dir)) === undefined) return undefined;
  const r = await host.run(["find", dir, "-mindepth", "1", "-printf", "%y %P\\n"]);
  return new Set(r.stdout.split("\n").filter((l) => l !== ""));
}

/**
 * Paths under `dir` (relative to its parent, as tar names them) that are conffiles of old's packages and unchanged
 * since install; undefined when old has no dpkg. Read-only: dpkg-query and md5sum.
 */
export async function unmodifiedConffiles(host: Host, dir: string): Promise<string[] | undefined> {
  const q = await host.exec(["dpkg-query", "-W", "-f", "${Conffiles}\\n"]);
  if (q.exitCode !== 0) return undefined;
  const recorded = new Map<string, string>();
  for (const line of q.stdout.split("\n")) {
    // " /etc/nova/api-paste.ini 8e2b1b4f0b3f1d5c9d2f6f1f0a7c3e21" (+ " obsolete" for files a package dropped)
    const m = /^\s+(\/\S+)\s+([0-9a-f]{32})(\s+obsolete)?\s*$/.exec(line);
    if (m?.[1] && m[2] && !m[3] && m[1].startsWith(`${dir}/`)) recorded.set(m[1], m[2]);
  }
  if (recorded.size === 0) return [];
  const sums = await host.exec(["md5sum", "--", ...recorded.keys()]);
  const { parent } = splitPath(dir);
  const out: string[] = [];
  for (const line of sums.stdout.split("\n")) {
    const m = /^([0-9a-f]{32})\s+\*?(\/.+)$/.exec(line);
    if (m?.[1] && m[2] && recorded.get(m[2]) === m[1])
      out.push(m[2].slice(parent === "/" ? 1 : parent.length + 1));
  }
  return out.sort();
}

async function exists(host: Host, path: string): Promise<boolean> {
  return (await host.stat(path)) !== undefined;
}

/** Takes the backup of new's dir once: copy to `.partial`, then rename (a crash leaves only a partial, retaken). */
async function takeBackup(neu: Host, dir: string, backup: string): Promise<void> {
  if (await exists(neu, backup)) return;
  const partial = `${backup}.partial`;
  await neu.run(["mkdir", "-p", "--", splitPath(backup).parent]);
  await neu.run(["rm", "-rf", "--", partial]);
  await neu.run(["cp", "-a", "--", dir, partial]);
  await neu.run(["mv", "-T", "--", partial, backup]);
}

async function fixOwnership(neu: Host, p: CopyParams): Promise<void> {
  await neu.run(["chown", "-R", `${p.owner}:${p.group}`, "--", p.dir]);
  for (const sub of PRIVATE_KEY_DIRS) {
    const path = `${p.dir}/${sub}`;
    // u=rwX: directories 0700, key files 0600 (X adds execute to directories only, the keys are not executable).
    if ((await neu.stat(path))?.isDirectory) await neu.run(["chmod", "-R", "u=rwX,go=", "--", path]);
  }
}

export function configCopyStep(_deps: StepDeps): StepImpl {
  return {
    kind: "config.copy",
    async run(ctx: StepContext, raw: JsonObject) {
      const p = read(raw);
      const old = ctx.host("old");
      const neu = ctx.host("new");
      const { parent, base } = splitPath(p.dir);
      if (!(await old.stat(p.dir))?.isDirectory) {
        throw new UserError(
          "CONFIG_DIR_MISSING",
          `on ${old.name}: ${p.dir} does not exist or is not a directory`,
          {
            nextSteps: [
              `Check that the service is installed on ${old.name}, or leave it out of the answer file's services.`,
            ],
          },
        );
      }
      const backup = backupPath("copy", p.dir);
      const prev = ctx.previousUndoData;
      // Whether new had the dir before the FIRST attempt: an earlier attempt's record wins over what we see now.
      const existed = typeof prev?.existed === "boolean" ? prev.existed : await exists(neu, p.dir);
      const undo: JsonObject = { dir: p.dir, existed, backup: existed ? backup : "", tempDir: "" };
      ctx.checkpoint?.(undo);
      if (typeof prev?.tempDir === "string" && TEMP_DIR_PATTERN.test(prev.tempDir))
        await removeTempDir(neu, prev.tempDir);
      if (existed) await takeBackup(neu, p.dir, backup);

      const defaults = await unmodifiedConffiles(old, p.dir);
      const staging = await makeTempDir(neu);
      ctx.checkpoint?.({ ...undo, tempDir: staging });
      try {
        // Literal, anchored member names: a file name with glob characters excludes only itself.
        const excludes = (defaults ?? []).map((f) => `--exclude=${f}`);
        const tarOpts = excludes.length > 0 ? ["--anchored", "--no-wildcards", ...excludes] : [];
        const bytes = await pipeBetween(
          { host: old, argv: ["tar", "-C", parent, ...tarOpts, "-cf", "-", "--", base] },
          { host: neu, argv: ["tar", "-C", staging, "-xf", "-"] },
          {
            what: `${p.dir} from ${old.name} to ${neu.name}`,
            code: "CONFIG_COPY_FAILED",
            signal: ctx.signal,
            nextSteps: [`Fix the cause named above, then re-run: the copy of ${p.dir} starts over.`],
          },
        );
        if (!p.keepNewOnly) await neu.run(["rm", "-rf", "--", p.dir]);
        await neu.run(["mkdir", "-p", "--", p.dir]);
        // `src/.` copies the directory's contents (dotfiles too) over the target, leaving new-only files alone.
        await neu.run(["cp", "-a", "--", `${staging}/${base}/.`, `${p.dir}/`]);
        await fixOwnership(neu, p);
        ctx.emit({
          type: "log",
          level: "info",
          message:
            `${p.dir}: ${bytes} bytes of tar copied from ${old.name}; ` +
            (defaults === undefined
              ? "no dpkg on old, so packaged defaults were copied too"
              : `${defaults.length} unedited packaged default(s) left to the new packages${defaults.length > 0 ? ` (${defaults.slice(0, 8).join(", ")}${defaults.length > 8 ? ", …" : ""})` : ""}`),
        });
      } finally {
        await removeTempDir(neu, staging);
      }
      return { ...undo, tempDir: "" };
    },

    async verify(ctx, raw) {
      const p = read(raw);
      const old = ctx.host("old");
      const neu = ctx.host("new");
      const want = await listTree(old, p.dir);
      const have = await listTree(neu, p.dir);
      if (!have) return { ok: false, detail: `${p.dir} does not exist on ${neu.name}` };
      // Old's unedited packaged defaults were not copied: new may lack them (its packages dropped them).
      const { base } = splitPath(p.dir);
      const skipped = new Set(
        (await unmodifiedConffiles(old, p.dir))?.map((f) => `f ${f.slice(base.length + 1)}`),
      );
      // Names and types only: config.rewrite changes contents afterwards, and that must not undo this step.
      const wanted = [...(want ?? [])];
      // A directory holding only skipped defaults may be absent on new too.
      const onlyDefaults = (dir: string): boolean =>
        wanted.every((e) => !e.slice(2).startsWith(`${dir}/`) || e.startsWith("d ") || skipped.has(e));
      const missing = wanted.filter(
        (e) => !have.has(e) && !skipped.has(e) && !(e.startsWith("d ") && onlyDefaults(e.slice(2))),
      );
      if (missing.length > 0) {
        return {
          ok: false,
          detail: `${p.dir} on ${neu.name} lacks ${missing.length} of old's entries: ${missing.slice(0, 10).join(", ")}`,
        };
      }
      const owner = (await neu.run(["stat", "-c", "%U:%G", "--", p.dir])).stdout.trim();
      if (owner !== `${p.owner}:${p.group}`) {
        return {
          ok: false,
          detail: `${p.dir} on ${neu.name} is owned by ${owner}, not ${p.owner}:${p.group}`,
        };
      }
      for (const sub of PRIVATE_KEY_DIRS) {
        const path = `${p.dir}/${sub}`;
        if (!(await neu.stat(path))?.isDirectory) continue;
        // Modes as find(1) reports them: keystone refuses keys readable by anyone but itself.
        const modes = await neu.run(["find", path, "-printf", "%m %y %P\\n"]);
        const wrong = modes.stdout
          .split("\n")
          .filter((l) => l !== "" && !/^700 d /.test(l) && !/^600 f /.test(l));
        if (wrong.length > 0) {
          return {
            ok: false,
            detail: `${path} on ${neu.name} is not 0700 dirs / 0600 files: ${wrong.slice(0, 5).join(", ")}`,
          };
        }
      }
      return {
        ok: true,
        detail: `${p.dir} on ${neu.name} holds all ${want?.size ?? 0} entries of old's, owned by ${owner}`,
      };
    },

    async undo(ctx, raw, undoData) {
      const p = read(raw);
      const neu = ctx.host("new");
      if (typeof undoData.tempDir === "string" && TEMP_DIR_PATTERN.test(undoData.tempDir)) {
        await removeTempDir(neu, undoData.tempDir);
      }
      if (undoData.existed === false) {
        // new had no such dir before: whatever is there now came from this step.
        await neu.run(["rm", "-rf", "--", p.dir]);
        return;
      }
      const backup =
        typeof undoData.backup === "string" && undoData.backup !== "" ? undoData.backup : undefined;
      if (backup !== backupPath("copy", p.dir)) return; // nothing was changed yet (crash before the backup existed)
      if (!(await exists(neu, backup))) return; // restored already (undo is called again after a crash)
      await neu.run(["rm", "-rf", "--", p.dir]);
      await neu.run(["mv", "-T", "--", backup, p.dir]);
    },
  };
}
