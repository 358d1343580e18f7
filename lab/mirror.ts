/**
 * The Zed package mirror the new controller is provisioned from. Built once into the cache: the dependency closure
 * (with Recommends, as a default `apt-get install` wants) of lab/mirror/packages.txt relative to the bare `new`
 * rootfs, downloaded with `apt-get install --download-only` into an empty archive dir, indexed as a flat repository
 * (Packages, Packages.gz, an unsigned Release; clients use [trusted=yes]). Served read-only by the jump over HTTP.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { debianMirror } from "./apt-sources.js";
import { chrootRun } from "./chroot.js";
import { hashParts } from "./hash.js";
import { CACHE_DIR, LAB_DIR, LOG_DIR } from "./paths.js";
import { JUMP_MGMT, MIRROR_PORT } from "./plan.js";
import { run } from "./proc.js";
import { phase } from "./progress.js";
import { readPackageList, rootfsKey, SUITES, type Rootfs } from "./rootfs-cache.js";
import { recordPid, type LabState } from "./state.js";
import { waitTcp } from "./host-services.js";

const RECIPE = "1";
const LIST = join(LAB_DIR, "mirror", "packages.txt");

export function mirrorPackages(): string[] {
  return readPackageList(LIST);
}

export function mirrorDir(): string {
  const key = hashParts([RECIPE, rootfsKey("new", 1), ...mirrorPackages().sort()]);
  return join(CACHE_DIR, "mirror", key);
}

function releaseFile(dir: string, files: readonly string[]): string {
  const lines = [`Date: ${new Date().toUTCString()}`, "Label: handover-lab", "Suite: ./", "MD5Sum:"];
  const sums = (algo: string): string[] =>
    files.map((f) => {
      const data = readFileSync(join(dir, f));
      return ` ${createHash(algo).update(data).digest("hex")} ${data.length} ${f}`;
    });
  lines.push(...sums("md5"), "SHA256:", ...sums("sha256"));
  return `${lines.join("\n")}\n`;
}

/** Build the mirror unless cached; `newRootfs` is the cached `new` layer (copied, never modified). */
export async function ensureMirror(newRootfs: Rootfs): Promise<string> {
  const final = mirrorDir();
  if (existsSync(join(final, "Release"))) return final;
  const pkgs = mirrorPackages();
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "repo"), { recursive: true });
  const logPath = join(CACHE_DIR, "logs", "mirror.log");
  mkdirSync(join(CACHE_DIR, "logs"), { recursive: true });
  const fd = openSync(logPath, "w");
  try {
    await phase(`Zed mirror: download the closure of ${pkgs.length} packages`, async () => {
      // A throw-away overlay over the cached `new` layers: apt's lists and locks never touch the cache.
      const root = join(tmp, "mnt");
      const upper = join(tmp, "upper");
      for (const d of [root, join(upper, "etc/apt"), join(tmp, "work")]) mkdirSync(d, { recursive: true });
      writeFileSync(join(upper, "etc/apt/sources.list"), `deb ${debianMirror()} ${SUITES.new} main\n`);
      copyFileSync("/etc/resolv.conf", join(upper, "etc/resolv.conf"));
      const overlay = { lowers: newRootfs.layers, upper, work: join(tmp, "work") };
      const archives = join(tmp, "repo");
      mkdirSync(join(archives, "partial"), { recursive: true });
      const binds = [[archives, "/var/cache/apt/archives"]] as const;
      for (const argv of [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--download-only", ...pkgs],
      ]) {
        const code = await chrootRun(root, argv, fd, { binds, overlay });
        if (code !== 0) {
          const tail = readFileSync(logPath, "utf8").split("\n").slice(-30).join("\n");
          throw new Error(
            `${argv.slice(0, 2).join(" ")} for the mirror exited ${code}; see ${logPath}:\n${tail}`,
          );
        }
      }
      for (const d of [root, upper, join(tmp, "work")]) rmSync(d, { recursive: true, force: true });
      rmSync(join(archives, "partial"), { recursive: true, force: true });
      rmSync(join(archives, "lock"), { force: true });
    });
    await phase("Zed mirror: index (dpkg-scanpackages)", () => {
      const repo = join(tmp, "repo");
      const packages = run("dpkg-scanpackages", ["--multiversion", ".", "/dev/null"], { cwd: repo }).stdout;
      writeFileSync(join(repo, "Packages"), packages);
      writeFileSync(join(repo, "Packages.gz"), gzipSync(packages));
      writeFileSync(join(repo, "Release"), releaseFile(repo, ["Packages", "Packages.gz"]));
    });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
  mkdirSync(join(final, ".."), { recursive: true });
  renameSync(join(tmp, "repo"), final);
  rmSync(tmp, { recursive: true, force: true });
  return final;
}

/** Number of .deb files and their total size (for status lines). */
export function mirrorSummary(dir: string): string {
  const debs = readdirSync(dir).filter((f) => f.endsWith(".deb"));
  const bytes = debs.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  return `${debs.length} packages, ${(bytes / 1e6).toFixed(0)} MB`;
}

/** Serve the mirror read-only on the jump's mgmt address (http.server serves GET/HEAD only). */
export async function serveMirror(state: LabState, dir: string): Promise<void> {
  mkdirSync(LOG_DIR, { recursive: true });
  const fd = openSync(join(LOG_DIR, "mirror-http.log"), "a");
  const child = spawn(
    "/usr/bin/python3",
    ["-m", "http.server", String(MIRROR_PORT), "--bind", JUMP_MGMT, "--directory", dir],
    { detached: true, stdio: ["ignore", fd, fd] },
  );
  closeSync(fd);
  child.unref();
  recordPid(state, child.pid!, "mirror http.server");
  await waitTcp(JUMP_MGMT, MIRROR_PORT, "the package mirror", 10_000);
}
