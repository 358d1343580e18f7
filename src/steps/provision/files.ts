/**
 * Remembering a file's previous state in undo data (content as base64, mode) and putting it back. Used for the
 * small root-owned files provisioning writes (apt source list, policy-rc.d); never for anything holding secrets.
 */
import type { JsonObject } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";

export async function snapshotFile(host: Host, path: string): Promise<JsonObject> {
  const st = await host.stat(path);
  if (!st) return { existed: false };
  const data = await host.readFile(path);
  return { existed: true, content: data.toString("base64"), mode: st.mode & 0o7777 };
}

export async function restoreFile(host: Host, path: string, snap: JsonObject | undefined): Promise<void> {
  if (!snap || snap.existed !== true || typeof snap.content !== "string") {
    await host.removeFile(path);
    return;
  }
  await host.writeFileAtomic(path, Buffer.from(snap.content, "base64"), {
    mode: typeof snap.mode === "number" ? snap.mode : 0o644,
  });
}

/** The snapshot to keep: the first attempt's, when an earlier attempt already recorded one. */
export function firstSnapshot(previous: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = previous?.[key];
  return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}
