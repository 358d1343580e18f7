/**
 * Everything `up` needs from the cache, built if missing, one builder at a time. The Zed mirror only needs the
 * `new` rootfs, so it is built while old (the slow one) is still installing and seeding.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { withBuildLock } from "./build-lock.js";
import { ensureMirror, mirrorDir } from "./mirror.js";
import { CACHE_DIR } from "./paths.js";
import type { RootfsKind } from "./plan.js";
import { baseKey, ensureRootfs, pkgsKey, rootfsKey, SUITES, type Rootfs } from "./rootfs-cache.js";

const KINDS: RootfsKind[] = ["old", "compute", "new"];

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

/**
 * Remove cache entries the current inputs no longer use (old keys pile up while packages.txt and build.sh are
 * edited), keeping the download caches and anything a running lab's overlays stack on.
 */
export function pruneCaches(computes: number, inUse: readonly string[]): string[] {
  const keep = new Set<string>([
    join(CACHE_DIR, "base", baseKey(SUITES.old)),
    join(CACHE_DIR, "base", baseKey(SUITES.new)),
    ...KINDS.map((k) => join(CACHE_DIR, "pkgs", pkgsKey(k))),
    ...KINDS.map((k) => join(CACHE_DIR, "rootfs", rootfsKey(k, computes))),
    mirrorDir(),
  ]);
  const removed: string[] = [];
  for (const layer of ["base", "pkgs", "rootfs", "mirror"]) {
    const parent = join(CACHE_DIR, layer);
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      const dir = join(parent, name);
      if (keep.has(dir) || inUse.some((p) => p.startsWith(`${dir}/`) || p === dir)) continue;
      if (/\.tmp-(\d+)$/.test(name)) continue; // a build in progress (stale ones are swept by the next build)
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}
