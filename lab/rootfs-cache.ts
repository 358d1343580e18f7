/**
 * Cached root filesystems, built in three layers so that editing one input rebuilds only what depends on it:
 *   base/<suite>-<key>        debootstrap --variant=minbase from the machine's Debian mirror
 *   pkgs/<kind>-<key>         base + `apt-get install` of lab/rootfs/<kind>/packages.txt (services not started)
 *   rootfs/<kind>-<key>       lab/rootfs/<kind>/build.sh run on an overlay of pkgs: its `upper/` holds only
 *                             what the seeding changed (e.g. /var/lib/mysql); hosts stack upper over pkgs/root
 * Each layer is built in a temp dir and renamed into place atomically, so a partial build is never used.
 * base and pkgs layers hold `root/`; rootfs layers hold `upper/` and `mysql-root.pass` (0600).
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { debianMirror } from "./apt-sources.js";
import { chrootRun } from "./chroot.js";
import { hashParts, hashTree } from "./hash.js";
import { CACHE_DIR, kindDir } from "./paths.js";
import { labEnv, type RootfsKind } from "./plan.js";
import { run, runLogged } from "./proc.js";
import { phase, say } from "./progress.js";

/** Bump to invalidate a layer (and those above it) when this builder's recipe for it changes. */
const BASE_RECIPE = "3";
const PKGS_RECIPE = "4";
const ROOTFS_RECIPE = "4";

export const SUITES: Record<RootfsKind, string> = { old: "bullseye", compute: "bullseye", new: "bookworm" };

/** Where a kind's inputs are copied inside its rootfs (build.sh and start.sh run from there). */
export const IN_ROOT_LAB_DIR = "/usr/local/lib/handover-lab";

/** Files under lab/rootfs/<kind>/ that do not affect the cached build (start.sh runs at `up`). */
const NOT_BUILD_INPUTS = new Set(["start.sh", "README.md"]);

/** What the lab itself needs in every host (sshd for the jump, ip and ping for tests), whatever packages.txt says. */
const LAB_BASE_PACKAGES = ["openssh-server", "iproute2", "iputils-ping", "procps"];

/** A kind's packages: lab/rootfs/<kind>/packages.txt plus the lab's own, deduplicated and sorted. */
export function kindPackages(kind: RootfsKind): string[] {
  return [...new Set([...LAB_BASE_PACKAGES, ...readPackageList(join(kindDir(kind), "packages.txt"))])].sort();
}

export function readPackageList(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

export function baseKey(suite: string): string {
  return `${suite}-${hashParts([BASE_RECIPE, suite])}`;
}

export function pkgsKey(kind: RootfsKind): string {
  return `${kind}-${hashParts([PKGS_RECIPE, baseKey(SUITES[kind]), ...kindPackages(kind)])}`;
}

/**
 * HANDOVER_LAB_NO_SEED=1 (every kind) or =old,compute (some): skip build.sh and start.sh, for working on the lab
 * infrastructure while a kind's seeding does not build. Such a rootfs is cached under its own key.
 */
export function unseeded(kind: RootfsKind): boolean {
  const v = process.env.HANDOVER_LAB_NO_SEED ?? "";
  return v === "1" || v.split(",").includes(kind);
}

/** `computes` is part of the key when the kind has a build.sh: old seeds one nova compute service per compute. */
export function rootfsKey(kind: RootfsKind, computes = 1): string {
  const seeded = !unseeded(kind) && existsSync(join(kindDir(kind), "build.sh"));
  const inputs = seeded ? `${hashTree(kindDir(kind), NOT_BUILD_INPUTS)}/computes=${computes}` : "unseeded";
  return `${kind}-${hashParts([ROOTFS_RECIPE, pkgsKey(kind), inputs])}`;
}

/** The finished rootfs layer for a kind (its `root/` is an overlay lower dir), or undefined if not built. */

function logFileFor(name: string): { path: string; fd: number } {
  mkdirSync(join(CACHE_DIR, "logs"), { recursive: true });
  const path = join(CACHE_DIR, "logs", `${name}.log`);
  return { path, fd: openSync(path, "w") };
}

function tail(path: string, lines = 30): string {
  return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
}

async function mustSucceed(what: string, log: { path: string }, code: Promise<number>): Promise<void> {
  const c = await code;
  if (c !== 0) throw new Error(`${what} failed (exit ${c}); last lines of ${log.path}:\n${tail(log.path)}`);
}

/** Remove temp dirs of earlier builds whose builder process is gone (their mounts died with it). */
function sweepStaleTemps(parent: string): void {
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (m && !existsSync(`/proc/${m[1]}`)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}

/** Build `final` via `build(tmp)` unless it exists; rename into place only after success. */
async function buildLayer(final: string, build: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(final)) return final;
  const parent = join(final, "..");
  mkdirSync(parent, { recursive: true });
  sweepStaleTemps(parent);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await build(tmp);
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return final;
}

const inFlight = new Map<string, Promise<string>>();
/** Share one build among concurrent callers (old and compute both need the bullseye base). */
function once(key: string, fn: () => Promise<string>): Promise<string> {
  let p = inFlight.get(key);
  if (!p) {
    p = fn();
    inFlight.set(key, p);
    p.catch(() => inFlight.delete(key));
  }
  return p;
}

function ensureBase(suite: string): Promise<string> {
  const final = join(CACHE_DIR, "base", baseKey(suite));
  return once(final, () =>
    buildLayer(final, (tmp) =>
      phase(`rootfs base ${suite}: debootstrap --variant=minbase`, async () => {
        const log = logFileFor(`base-${suite}`);
        const debs = join(CACHE_DIR, "debs", `debootstrap-${suite}`);
        mkdirSync(debs, { recursive: true });
        try {
          await mustSucceed(
            `debootstrap ${suite}`,
            log,
            // In a private mount namespace: debootstrap mounts /proc and /sys in the target, and an interrupted
            // run would leave them mounted on the jump.
            runLogged(
              "unshare",
              [
                "--mount",
                "--propagation",
                "private",
                "debootstrap",
                "--variant=minbase",
                `--cache-dir=${debs}`,
                suite,
                join(tmp, "root"),
                debianMirror(),
              ],
              log.fd,
            ),
          );
        } finally {
          closeSync(log.fd);
        }
      }),
    ),
  );
}

function writePolicyRcD(root: string, forbid: boolean): void {
  const file = join(root, "usr/sbin/policy-rc.d");
  if (forbid) {
    writeFileSync(
      file,
      "#!/bin/sh\n# handover lab cache build: never start services while installing\nexit 101\n",
    );
    chmodSync(file, 0o755);
  } else rmSync(file, { force: true });
}

function ensurePkgs(kind: RootfsKind): Promise<string> {
  const final = join(CACHE_DIR, "pkgs", pkgsKey(kind));
  return once(final, async () => {
    if (existsSync(final)) return final;
    const base = await ensureBase(SUITES[kind]);
    return buildLayer(final, async (tmp) => {
      const pkgs = kindPackages(kind);
      const root = join(tmp, "root");
      await phase(`rootfs ${kind}: copy ${SUITES[kind]} base`, () => {
        run("cp", ["-a", join(base, "root"), root]);
      });
      await phase(`rootfs ${kind}: apt-get install ${pkgs.length} packages`, async () => {
        const log = logFileFor(`pkgs-${kind}`);
        const debs = join(CACHE_DIR, "debs", kind);
        mkdirSync(debs, { recursive: true });
        copyFileSync("/etc/resolv.conf", join(root, "etc/resolv.conf"));
        writePolicyRcD(root, true);
        // No fsync per file while unpacking (the layer is renamed into place only once complete anyway).
        writeFileSync(join(root, "etc/dpkg/dpkg.cfg.d/handover-lab-unsafe-io"), "force-unsafe-io\n");
        const binds = [[debs, "/var/cache/apt/archives"]] as const;
        try {
          await mustSucceed(`apt-get update (${kind})`, log, chrootRun(root, ["apt-get", "update"], log.fd));
          if (pkgs.length > 0) {
            await mustSucceed(
              `apt-get install (${kind})`,
              log,
              chrootRun(root, ["apt-get", "install", "-y", "--no-install-recommends", ...pkgs], log.fd, {
                binds,
              }),
            );
          }
          await mustSucceed(`apt-get clean (${kind})`, log, chrootRun(root, ["apt-get", "clean"], log.fd));
          rmSync(join(root, "etc/dpkg/dpkg.cfg.d/handover-lab-unsafe-io"));
          // Lab hosts have no route to any registry: leave no apt source pointing at one, and no resolver.
          writePolicyRcD(root, false);
          writeFileSync(join(root, "etc/apt/sources.list"), "# handover lab: no package source configured\n");
          writeFileSync(join(root, "etc/resolv.conf"), "");
          rmSync(join(root, "var/lib/apt/lists"), { recursive: true, force: true });
          mkdirSync(join(root, "var/lib/apt/lists/partial"), { recursive: true });
        } finally {
          closeSync(log.fd);
        }
      });
    });
  });
}

/**
 * Lab hosts have no DNS, but eventlet (every OpenStack service) refuses to start on a resolv.conf without a
 * nameserver: point at loopback, where lookups fail at once and never leave the host.
 */
export const RESOLV_CONF = "# handover lab: no DNS; lab names are in /etc/hosts\nnameserver 127.0.0.1\n";

/** A cached rootfs: overlay lower layers, top first (build.sh's changes, then the package layer). */
export interface Rootfs {
  readonly dir: string;
  readonly layers: readonly string[];
}

function rootfsOf(kind: RootfsKind, dir: string): Rootfs {
  return { dir, layers: [join(dir, "upper"), join(CACHE_DIR, "pkgs", pkgsKey(kind), "root")] };
}

/**
 * The cached, seeded rootfs for a kind: built now (with visible progress) if its inputs changed. build.sh runs on
 * an overlay of the package layer, so only what it changes is stored (no copy of the package layer).
 */
export function ensureRootfs(kind: RootfsKind, computes = 1): Promise<Rootfs> {
  const final = join(CACHE_DIR, "rootfs", rootfsKey(kind, computes));
  return once(final, async () => {
    if (existsSync(final)) return final;
    const pkgs = await ensurePkgs(kind);
    return buildLayer(final, async (tmp) => {
      const upper = join(tmp, "upper");
      const inputs = join(upper, IN_ROOT_LAB_DIR.slice(1), kind);
      mkdirSync(inputs, { recursive: true });
      mkdirSync(join(tmp, "work"));
      mkdirSync(join(tmp, "mnt"));
      if (existsSync(kindDir(kind))) cpSync(kindDir(kind), inputs, { recursive: true });
      mkdirSync(join(upper, "etc"), { recursive: true });
      writeFileSync(join(upper, "etc/resolv.conf"), RESOLV_CONF);
      const password = randomBytes(18).toString("base64url");
      writeFileSync(join(tmp, "mysql-root.pass"), password, { mode: 0o600 });
      if (unseeded(kind)) say(`rootfs ${kind}: HANDOVER_LAB_NO_SEED: build.sh skipped`);
      else if (existsSync(join(kindDir(kind), "build.sh"))) {
        await phase(`rootfs ${kind}: build.sh (seeding, no network)`, async () => {
          const log = logFileFor(`build-${kind}`);
          try {
            await mustSucceed(
              `build.sh (${kind})`,
              log,
              chrootRun(join(tmp, "mnt"), ["/bin/sh", `${IN_ROOT_LAB_DIR}/${kind}/build.sh`], log.fd, {
                isolatedNetwork: true,
                env: { ...labEnv(computes), LAB_KIND: kind, LAB_MYSQL_ROOT_PASSWORD: password },
                hostname: kind,
                overlay: { lowers: [join(pkgs, "root")], upper, work: join(tmp, "work") },
              }),
            );
          } finally {
            closeSync(log.fd);
          }
        });
      } else say(`rootfs ${kind}: no build.sh yet, skipping the seeding step`);
      rmSync(join(tmp, "work"), { recursive: true, force: true });
      rmSync(join(tmp, "mnt"), { recursive: true, force: true });
    });
  }).then((dir) => rootfsOf(kind, dir));
}
