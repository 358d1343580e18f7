/**
 * OpenStack release names accepted in an answer file, oldest first. The release catalog
 * (templates/releases.yaml, owned by the plan layer) carries the per-hop detail; the answer file only needs the
 * names and their order, so it keeps this small list and stays free of file I/O at validation time.
 *
 * From 2023.1 on, OpenStack names releases by year; the code names (antelope, bobcat, ...) are accepted as
 * aliases in `normaliseRelease` because operators use both.
 */
export const RELEASES = [
  "queens",
  "rocky",
  "stein",
  "train",
  "ussuri",
  "victoria",
  "wallaby",
  "xena",
  "yoga",
  "zed",
  "2023.1",
  "2023.2",
  "2024.1",
  "2024.2",
  "2025.1",
] as const;

export type ReleaseName = (typeof RELEASES)[number];

/** Code names of the year-numbered releases. */
export const RELEASE_ALIASES: Readonly<Record<string, ReleaseName>> = {
  antelope: "2023.1",
  bobcat: "2023.2",
  caracal: "2024.1",
  dalmatian: "2024.2",
  epoxy: "2025.1",
};

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
