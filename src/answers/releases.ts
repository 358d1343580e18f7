/**
 * OpenStack release names accepted in an answer file, oldest first, and their code-name aliases. Both come from
 * the release catalog (templates/releases.yaml, owned by the plan layer): its `target: true` releases in catalog
 * order, and their `codename` where it differs from the name (from 2023.1 on OpenStack names releases by year;
 * the code names antelope, bobcat, ... are accepted because operators use both). One list, so a release added
 * to the catalog is accepted by the answer file without a second edit.
 *
 * Only the names are read, once, when this module loads (the zod schema is built from them then): validating an
 * answer file does no file I/O, and the answers layer does not depend on the full catalog's validation.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { templatesDir } from "../lib/templates-dir.js";
import { BugError } from "../lib/errors.js";

/** The part of a catalog release this module needs; the full schema is in src/plan/catalog.ts. */
const catalogNames = z.object({
  releases: z
    .array(z.object({ name: z.string().min(1), codename: z.string().min(1), target: z.boolean() }))
    .min(1),
});

interface CatalogRelease {
  name: string;
  codename: string;
}

/** The catalog's target releases in order, with their code names (exported for tests: a catalog as text). */
export function targetReleasesOf(releasesYaml: string): readonly [CatalogRelease, ...CatalogRelease[]] {
  const parsed = catalogNames.safeParse(parseYaml(releasesYaml));
  if (!parsed.success)
    throw new BugError("templates/releases.yaml: no list of releases with name, codename and target");
  const [first, ...rest] = parsed.data.releases
    .filter((r) => r.target)
    .map(({ name, codename }) => ({ name, codename }));
  if (!first) throw new BugError("templates/releases.yaml: no target release");
  return [first, ...rest];
}

const TARGETS = targetReleasesOf(readFileSync(join(templatesDir(), "releases.yaml"), "utf8"));

/** Never empty, as z.enum needs. */
export const RELEASES: readonly [string, ...string[]] = [
  TARGETS[0].name,
  ...TARGETS.slice(1).map((r) => r.name),
];

export type ReleaseName = (typeof RELEASES)[number];

/** Code names of the year-numbered releases. */
export const RELEASE_ALIASES: Readonly<Record<string, ReleaseName>> = Object.fromEntries(
  TARGETS.filter((r) => r.codename !== r.name).map((r) => [r.codename, r.name]),
);

/**
 * Maps what an operator may write to a catalog name: `2023.1` unquoted is a YAML float, and code names are
 * aliases. Anything else is returned unchanged for the schema to reject.
 */
export function normaliseRelease(value: unknown): unknown {
  // 2023.1 as a YAML float prints back as "2023.1"; 2024.10 does not exist, so no trailing-zero ambiguity.
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    return RELEASE_ALIASES[lower] ?? lower;
  }
  return value;
}

/** Position of a release in `order` (defaults to RELEASES), or -1 when unknown. */
export function releaseIndex(name: string, order: readonly string[] = RELEASES): number {
  return order.indexOf(name);
}
