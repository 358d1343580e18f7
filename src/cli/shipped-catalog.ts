/** The release catalog shipped in templates/ (found by templatesDir, src/lib/templates-dir.ts). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { templatesDir } from "../lib/templates-dir.js";
import { loadCatalog, type Catalog } from "../plan/catalog.js";

export { templatesDir };

export function shippedCatalog(): Catalog {
  const dir = templatesDir();
  return loadCatalog((name) => readFileSync(join(dir, name), "utf8"));
}
