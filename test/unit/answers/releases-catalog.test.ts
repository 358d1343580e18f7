/**
 * The answer file's release names and aliases come from the release catalog (templates/releases.yaml): its
 * target releases in order, and the code names that differ from the names.
 */
import { describe, expect, it } from "vitest";
import {
  RELEASES,
  RELEASE_ALIASES,
  normaliseRelease,
  targetReleasesOf,
} from "../../../src/answers/releases.js";
import { BugError } from "../../../src/lib/errors.js";
import { shippedCatalog } from "../plan/helpers.js";

describe("release names from the catalog", () => {
  it("are the shipped catalog's target releases, in its order, with its code names as aliases", () => {
    const targets = shippedCatalog().releases.filter((r) => r.target);
    expect([...RELEASES]).toEqual(targets.map((r) => r.name));
    expect(RELEASE_ALIASES).toEqual(
      Object.fromEntries(targets.filter((r) => r.codename !== r.name).map((r) => [r.codename, r.name])),
    );
    expect(normaliseRelease("Antelope")).toBe("2023.1");
    expect(normaliseRelease(2024.1)).toBe("2024.1");
  });

  it("follow a catalog text: source-only releases left out, order kept", () => {
    const yaml = [
      "releases:",
      "  - { name: pike, codename: pike, target: false }",
      "  - { name: zed, codename: zed, target: true }",
      '  - { name: "2023.1", codename: antelope, target: true }',
    ].join("\n");
    expect(targetReleasesOf(yaml)).toEqual([
      { name: "zed", codename: "zed" },
      { name: "2023.1", codename: "antelope" },
    ]);
  });

  it("refuse a catalog without target releases or without the fields", () => {
    expect(() => targetReleasesOf("releases:\n  - { name: pike, codename: pike, target: false }\n")).toThrow(
      BugError,
    );
    expect(() => targetReleasesOf("releases: []\n")).toThrow(BugError);
    expect(() => targetReleasesOf("releases:\n  - { name: zed }\n")).toThrow(BugError);
  });
});
