/** Loads the shipped catalog from templates/ for the planner's unit tests. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCatalog, type Catalog, type CatalogFile } from "../../../src/plan/catalog.js";

export const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "../../../templates");

export function readTemplate(name: CatalogFile): string {
  return readFileSync(join(TEMPLATES, name), "utf8");
}

export function shippedCatalog(): Catalog {
  return loadCatalog(readTemplate);
}
