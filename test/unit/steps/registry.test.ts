import { describe, expect, it } from "vitest";
import { STEP_KINDS } from "../../../src/plan/kinds.js";
import { buildRegistry } from "../../../src/steps/registry.js";
import { FakeSql, makeDeps } from "./support/harness.js";

/**
 * Kinds the registry does not implement yet. Keep this list honest: the test fails both when a kind is missing
 * without being listed here, and when a listed kind has been implemented (remove it from the list then).
 */
const NOT_YET: readonly string[] = [];

describe("step registry", () => {
  const registry = buildRegistry(makeDeps(new FakeSql()));

  it("implements every kind the planner emits, except the ones listed as not done yet", () => {
    const missing = Object.keys(STEP_KINDS).filter((k) => !registry.has(k));
    expect(missing.sort()).toEqual([...NOT_YET].sort());
  });

  it("implements nothing the planner does not know", () => {
    expect([...registry.keys()].filter((k) => !(k in STEP_KINDS))).toEqual([]);
  });

  it("every reversible or covered kind has an undo", () => {
    for (const [kind, impl] of registry) {
      const undoKind = STEP_KINDS[kind as keyof typeof STEP_KINDS];
      if (undoKind !== "irreversible") expect(typeof impl.undo, kind).toBe("function");
    }
  });
});
