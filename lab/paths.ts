/**
 * Where the lab keeps things. Runtime state lives under /run (gone at reboot, like the namespaces it describes);
 * rootfs builds and the package mirror live in a cache outside the repository so a warm `up` takes seconds.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository's lab/ directory (this file's directory). */
export const LAB_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = dirname(LAB_DIR);

export const STATE_DIR = "/run/handover-lab";
export const STATE_FILE = join(STATE_DIR, "state.json");
/** Holds the bind-mounted namespace files; itself a private bind mount (unshare --mount=FILE requires it). */
export const NS_DIR = join(STATE_DIR, "ns");
export const HOSTS_DIR = join(STATE_DIR, "hosts");
export const KEYS_DIR = join(STATE_DIR, "keys");
export const LOG_DIR = join(STATE_DIR, "logs");
export const ANSWERS_FILE = join(STATE_DIR, "answers.yaml");
export const KNOWN_HOSTS_FILE = join(STATE_DIR, "known_hosts");
export const LAB_KEY_FILE = join(KEYS_DIR, "id_ed25519");
export const OLD_MYSQL_PASS_FILE = join(STATE_DIR, "old-mysql.pass");
export const NEW_MYSQL_PASS_FILE = join(STATE_DIR, "new-mysql.pass");

export const CACHE_DIR = process.env.HANDOVER_LAB_CACHE ?? "/var/cache/handover-lab";

/** Directory of one rootfs kind's inputs (packages.txt, build.sh, start.sh and files they use). */
export function kindDir(kind: string): string {
  return join(LAB_DIR, "rootfs", kind);
}

/** Per-host runtime directory: overlay upper/work and the merged root mount point. */
export function hostDir(host: string): string {
  return join(HOSTS_DIR, host);
}
