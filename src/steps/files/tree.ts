/** Listings of regular files below a directory, relative names with sizes (read-only `find`). */
import type { Host } from "../../hosts/host.js";

/** name -> size of every regular file below `dir`; undefined when `dir` does not exist. */
export async function fileSizes(host: Host, dir: string): Promise<Map<string, number> | undefined> {
  if ((await host.stat(dir)) === undefined) return undefined;
  const r = await host.run(["find", dir, "-type", "f", "-printf", "%s %P\\n"]);
  const out = new Map<string, number>();
  for (const line of r.stdout.split("\n")) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (m?.[1] && m[2]) out.set(m[2], Number(m[1]));
  }
  return out;
}

/** Differences that make `dest` not hold `src`'s files (missing or of another size), as lines. */
export function missingOrDifferent(
  src: ReadonlyMap<string, number>,
  dest: ReadonlyMap<string, number>,
): string[] {
  const out: string[] = [];
  for (const [name, size] of src) {
    const d = dest.get(name);
    if (d === undefined) out.push(`${name} missing`);
    else if (d !== size) out.push(`${name}: ${d} bytes, source has ${size}`);
  }
  return out;
}

/** Removes files (relative to `dir`) in batches; missing ones are fine. */
export async function removeFiles(host: Host, dir: string, names: readonly string[]): Promise<void> {
  const safe = names.filter((n) => n !== "" && !n.split("/").includes("..") && !n.startsWith("/"));
  for (let i = 0; i < safe.length; i += 200) {
    await host.run(["rm", "-f", "--", ...safe.slice(i, i + 200).map((n) => `${dir}/${n}`)]);
  }
}
