/**
 * Everything `up` needs from the cache, built if missing, one builder at a time. The Zed mirror only needs the
 * `new` rootfs, so it is built while old (the slow one) is still installing and seeding.
 */
import { withBuildLock } from "./build-lock.js";
import { ensureMirror } from "./mirror.js";
import type { RootfsKind } from "./plan.js";
import { ensureRootfs, type Rootfs } from "./rootfs-cache.js";

export interface Caches {
  readonly lowers: Record<RootfsKind, Rootfs>;
  readonly mirror: string;
}

export function ensureCaches(computes: number): Promise<Caches> {
  return withBuildLock(async () => {
    const nu = ensureRootfs("new", computes);
    const [old, compute, nw, mirror] = await Promise.all([
      ensureRootfs("old", computes),
      ensureRootfs("compute", computes),
      nu,
      nu.then((r) => ensureMirror(r)),
    ]);
    return { lowers: { old, compute, new: nw }, mirror };
  });
}
