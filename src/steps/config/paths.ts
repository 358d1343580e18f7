/**
 * Paths step params name (config dirs and files, image dirs, backups). They come from the catalog through the
 * plan, but every one ends up in an argv of `rm -rf`, `tar` or `cp` as root, so anything unusual is refused.
 */
import { UserError } from "../../lib/errors.js";

/** Absolute, no `.`/`..` components, no doubled or trailing slash, printable ASCII without quotes or spaces. */
const SAFE_PATH = /^(\/[A-Za-z0-9_@+:,.-]+)+$/;

export function checkPath(path: string, what = "path"): string {
  const parts = path.split("/").slice(1);
  if (!SAFE_PATH.test(path) || parts.some((p) => p === "." || p === "..") || path.length > 512) {
    throw new UserError("PLAN_PARAM", `refusing an unusual ${what}: ${JSON.stringify(path)}`, {
      nextSteps: ["Plan again from the answer file; a hand-edited plan may have been changed."],
    });
  }
  return path;
}

/** `/etc/nova` -> ["/etc", "nova"]. */
export function splitPath(path: string): { parent: string; base: string } {
  checkPath(path);
  const i = path.lastIndexOf("/");
  return { parent: i === 0 ? "/" : path.slice(0, i), base: path.slice(i + 1) };
}

/**
 * Where handover keeps backups of the new controller's files it replaces: outside the config dirs (a backup
 * inside /etc/nova would be read as config by nothing, but copied along, diffed and chowned by everything).
 */
export const BACKUP_ROOT = "/var/backups/handover";

/** `/var/backups/handover/<kind>/<path without its leading slash>`. */
export function backupPath(kind: "copy" | "rewrite" | "horizon" | "edit", path: string): string {
  checkPath(path);
  return `${BACKUP_ROOT}/${kind}${path}`;
}
