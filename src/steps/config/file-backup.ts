/**
 * Single-file backups for the in-place config edits (config.rewrite, config.horizon, config.edit): before a file
 * is first changed its content goes to /var/backups/handover/<kind><path> (mode 0600: configs hold passwords),
 * and the list of backed-up files is checkpointed BEFORE the write. A redo keeps the first attempt's backup, so
 * undo restores the state before the step, not a half-edited one.
 */
import type { JsonObject, StepContext } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { strList, union } from "../params.js";
import { backupPath, splitPath } from "./paths.js";

export type EditKind = "rewrite" | "horizon" | "edit";

/** Backs `file` up once (a backup already there is the original and is kept). */
export async function backupOnce(host: Host, kind: EditKind, file: string): Promise<string> {
  const backup = backupPath(kind, file);
  if ((await host.stat(backup)) !== undefined) return backup;
  await host.run(["mkdir", "-p", "-m", "0700", "--", splitPath(backup).parent]);
  await host.writeFileAtomic(backup, await host.readFile(file), { mode: 0o600, uid: 0, gid: 0 });
  return backup;
}

/** Records that `files` are about to change (merged with earlier attempts), before anything is written. */
export function checkpointFiles(
  ctx: StepContext,
  files: readonly string[],
  extra: JsonObject = {},
): JsonObject {
  const undo: JsonObject = { ...extra, files: union(strList(ctx.previousUndoData?.files), files) };
  ctx.checkpoint?.(undo);
  return undo;
}

/** Puts each recorded file's backup back (keeping the file's owner and mode), then drops the backup. */
export async function restoreBackups(host: Host, kind: EditKind, undoData: JsonObject): Promise<string[]> {
  const restored: string[] = [];
  for (const file of strList(undoData.files)) {
    const backup = backupPath(kind, file);
    if ((await host.stat(backup)) === undefined) continue; // never changed, or restored already
    await host.writeFileAtomic(file, await host.readFile(backup));
    await host.removeFile(backup);
    restored.push(file);
  }
  return restored;
}
