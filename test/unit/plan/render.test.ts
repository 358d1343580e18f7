import { describe, expect, it } from "vitest";
import type { Plan } from "../../../src/engine/step.js";
import { PHASES } from "../../../src/engine/step.js";
import { buildPlan } from "../../../src/plan/build.js";
import { renderPlanJson, renderPlanText } from "../../../src/plan/render.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { shippedCatalog } from "./helpers.js";

const plan = buildPlan(labInput, labFacts, shippedCatalog());

describe("renderPlanText", () => {
  const text = renderPlanText(plan);

  it("shows every step id once, grouped under phase headers in phase order", () => {
    for (const s of plan.steps) expect(text.split(`. ${s.id}  `).length - 1, s.id).toBe(1);
    const headers = [...text.matchAll(/^== (\w+):/gm)].map((m) => m[1]);
    expect(headers).toEqual(PHASES.filter((p) => plan.steps.some((s) => s.phase === p)));
    const contract = text.indexOf(". fin.keystone.contract  ");
    expect(contract).toBeGreaterThan(text.indexOf("== finalize:"));
  });

  it("marks points of no return and lists them up front", () => {
    expect(text).toMatch(/^Points of no return: fin\.keystone\.contract, fin\.nova\.stale-services$/m);
    expect(text).toMatch(/fin\.keystone\.contract .*\[IRREVERSIBLE\]/);
    expect(text).toMatch(/IRREVERSIBLE: contract drops/);
    expect(text).not.toMatch(/db\.nova\.import .*\[IRREVERSIBLE\]/);
  });

  it("shows hosts, reads, writes, dependencies and commands", () => {
    expect(text).toMatch(
      /db\.nova\.import[^\n]*\n\s+kind db\.copy; hosts old, new\n\s+after [^\n]*freeze\.apis[^\n]*\n\s+reads old:db:nova\n\s+writes new:db:nova\n\s+\$ \[old\] mysqldump/,
    );
    expect(text).toContain("Warnings:");
  });

  it("redacts secrets the caller knows about, in text and JSON", () => {
    const leaky: Plan = {
      ...plan,
      steps: [{ ...plan.steps[0]!, commands: ["mysql -u root --password=hunter2-secret"] }],
    };
    expect(renderPlanText(leaky, { secrets: ["hunter2-secret"] })).not.toContain("hunter2-secret");
    expect(renderPlanJson(leaky, { secrets: ["hunter2-secret"] })).not.toContain("hunter2-secret");
  });
});

describe("renderPlanJson", () => {
  it("round-trips to the same plan", () => {
    expect(JSON.parse(renderPlanJson(plan))).toEqual(plan);
  });
});
