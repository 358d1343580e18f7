/**
 * The release catalog shipped in templates/, found relative to this module: src/cli (tsx) and dist/src/cli
 * (built) sit at different depths, so the nearest ancestor holding templates/releases.yaml is used.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BugError } from "../lib/errors.js";
import { loadCatalog, type Catalog } from "../plan/catalog.js";

export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "templates", "releases.yaml"))) return join(dir, "templates");
    const up = dirname(dir);
    if (up === dir) throw new BugError("templates/releases.yaml not found above the handover installation");
    dir = up;
  }
}

export function shippedCatalog(): Catalog {
  const dir = templatesDir();
  return loadCatalog((name) => readFileSync(join(dir, name), "utf8"));
}
