/** For the planner's unit tests: the shipped catalog from templates/, and lookups in a built plan. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plan, PlannedStep } from "../../../src/engine/step.js";
import { loadCatalog, type Catalog, type CatalogFile } from "../../../src/plan/catalog.js";

export const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "../../../templates");

export function readTemplate(name: CatalogFile): string {
  return readFileSync(join(TEMPLATES, name), "utf8");
}

export function shippedCatalog(): Catalog {
  return loadCatalog(readTemplate);
}

/** Every step `id` depends on, directly or not. */
export function ancestors(p: Plan, id: string): Set<string> {
  const map = new Map(p.steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...(map.get(id)?.after ?? [])];
  while (stack.length > 0) {
    const a = stack.pop()!;
    if (seen.has(a)) continue;
    seen.add(a);
    stack.push(...(map.get(a)?.after ?? []));
  }
  return seen;
}

/** The step `id` of `p`; a test that names a missing step fails, listing the plan's ids. */
export function stepOf(p: Plan, id: string): PlannedStep {
  const s = p.steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id} in plan: ${p.steps.map((x) => x.id).join(" ")}`);
  return s;
}
