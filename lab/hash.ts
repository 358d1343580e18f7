/** Content hashes for cache keys: stable over file order, sensitive to names, modes and contents. */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export function hashParts(parts: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(`${p.length}:${p}`);
  return h.digest("hex").slice(0, 16);
}

/** Hash every regular file under `dir` (relative names, exec bit and contents), skipping names in `skip`. */
export function hashTree(dir: string, skip: ReadonlySet<string> = new Set()): string {
  const parts: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = join(d, entry.name);
      const rel = relative(dir, full);
      if (skip.has(rel)) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const exec = (statSync(full).mode & 0o111) !== 0 ? "x" : "-";
        parts.push(rel, exec, createHash("sha256").update(readFileSync(full)).digest("hex"));
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return hashParts(parts);
}
