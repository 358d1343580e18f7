/**
 * The templates/ folder shipped with handover (the release catalog and other data), found relative to this
 * module: src/lib (tsx) and dist/src/lib (built) sit at different depths, so the nearest ancestor holding
 * templates/releases.yaml is used. In lib because both the commands (the full catalog) and the answers layer
 * (the release names an answer file accepts) read it, and the answers layer must not import the commands.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BugError } from "./errors.js";

export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "templates", "releases.yaml"))) return join(dir, "templates");
    const up = dirname(dir);
    if (up === dir) throw new BugError("templates/releases.yaml not found above the handover installation");
    dir = up;
  }
}
