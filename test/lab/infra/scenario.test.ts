/**
 * The scenario the lab was brought up with: every expectation in its expectations.yaml holds (answer overlay
 * merged, extra files in place, extra seed SQL applied on old).
 */
import { expect, it } from "vitest";
import { checkExpectations } from "../../../lab/expectations.js";
import { readState } from "../../../lab/state.js";
import { labDescribe } from "../setup/lab-context.js";

labDescribe("lab scenario", () => {
  it("meets its expectations.yaml", () => {
    const scenario = readState()!.scenario!;
    expect(checkExpectations(scenario)).toEqual([]);
  });
});
