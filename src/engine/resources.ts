/**
 * Resource conflicts between steps. Resources are `host:kind:name` strings (`old:db:nova`,
 * `new:file:/etc/nova`). Two resources overlap when host and kind match and the names are equal, one is `*`
 * (the whole kind on that host, e.g. `new:service:*`), or, for path-like names, one is a directory prefix of the
 * other (`/etc/nova` overlaps `/etc/nova/nova.conf`), because writing a directory writes what is inside it.
 */
import type { PlannedStep } from "./step.js";

interface ParsedResource {
  readonly host: string;
  readonly kind: string;
  readonly name: string;
}

function parse(resource: string): ParsedResource {
  const first = resource.indexOf(":");
  const second = first < 0 ? -1 : resource.indexOf(":", first + 1);
  // A malformed resource is compared whole: conservative, it still conflicts with an identical string.
  if (first < 0 || second < 0) return { host: resource, kind: "", name: "" };
  return {
    host: resource.slice(0, first),
    kind: resource.slice(first + 1, second),
    name: resource.slice(second + 1),
  };
}

function pathWithin(inner: string, outer: string): boolean {
  if (!outer.startsWith("/")) return false;
  const dir = outer.endsWith("/") ? outer : `${outer}/`;
  return inner.startsWith(dir);
}

export function resourcesOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const ra = parse(a);
  const rb = parse(b);
  if (ra.host !== rb.host && ra.host !== "*" && rb.host !== "*") return false;
  if (ra.kind !== rb.kind) return false;
  if (ra.name === "*" || rb.name === "*" || ra.name === rb.name) return true;
  return pathWithin(ra.name, rb.name) || pathWithin(rb.name, ra.name);
}

function anyOverlap(xs: readonly string[], ys: readonly string[]): boolean {
  return xs.some((x) => ys.some((y) => resourcesOverlap(x, y)));
}

/** True when the two steps must not run at the same time: one writes what the other reads or writes. */
export function stepsConflict(
  a: Pick<PlannedStep, "reads" | "writes">,
  b: Pick<PlannedStep, "reads" | "writes">,
): boolean {
  return anyOverlap(a.writes, b.writes) || anyOverlap(a.writes, b.reads) || anyOverlap(a.reads, b.writes);
}

/**
 * True when `later` overwrites something `earlier` wrote or read. The earlier step's verify then describes a state
 * that no longer exists on purpose (an import verified by row counts, then a schema upgrade; a value read, then
 * rewritten), so it must not be re-verified once the later step is done.
 */
export function supersedes(
  later: Pick<PlannedStep, "writes">,
  earlier: Pick<PlannedStep, "reads" | "writes">,
): boolean {
  return anyOverlap(later.writes, earlier.writes) || anyOverlap(later.writes, earlier.reads);
}
