/**
 * The switch section's measuring steps: the canary on a compute around the moves, the snapshot on new between the
 * old services' stop and the first move.
 */
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../../src/plan/build.js";
import type { Facts } from "../../../src/plan/facts.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { ancestors, shippedCatalog, stepOf } from "./helpers.js";

const catalog = shippedCatalog();

describe("switch: canary and snapshot", () => {
  const plan = buildPlan(labInput, labFacts, catalog);
  const get = (id: string) => stepOf(plan, id);
  const moves = plan.steps.filter((s) => s.kind === "net.move-address").map((s) => s.id);
  const firstCompute = labFacts.nova!.computes.find((c) => !c.disabled)!.host;

  it("the canary starts on the first compute after the gate and before the old services stop", () => {
    const start = get("switch.canary.start");
    expect(start.kind).toBe("net.canary-start");
    expect(start.hosts).toEqual([firstCompute]);
    expect(start.params).toEqual({
      compute: firstCompute,
      addresses: labInput.networks.map((n) => n.address),
    });
    expect(ancestors(plan, "switch.canary.start").has("switch.confirm")).toBe(true);
    expect(ancestors(plan, "switch.old.stop").has("switch.canary.start")).toBe(true);
  });

  it("the snapshot is taken after the old services stop and before every move", () => {
    const snap = get("switch.db.snapshot");
    expect(snap.hosts).toEqual(["new"]);
    expect(snap.params["databases"]).toEqual(expect.arrayContaining(["nova", "keystone"]));
    expect(ancestors(plan, snap.id).has("switch.old.stop")).toBe(true);
    for (const m of moves) expect(ancestors(plan, m).has(snap.id), m).toBe(true);
  });

  it("the canary stops after every move and before the switch is verified", () => {
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) expect(ancestors(plan, "switch.canary.stop").has(m), m).toBe(true);
    expect(ancestors(plan, "switch.verify").has("switch.canary.stop")).toBe(true);
    // Same resource: a done stop supersedes the start, so a resume never restarts a finished canary.
    expect(get("switch.canary.stop").writes).toEqual(get("switch.canary.start").writes);
  });

  it("no canary without a compute; no switch steps at all with switch: never", () => {
    const noComputes: Facts = { ...labFacts, nova: { ...labFacts.nova!, computes: [] } };
    const p = buildPlan(labInput, noComputes, catalog);
    expect(p.steps.some((s) => s.kind.startsWith("net.canary"))).toBe(false);
    expect(p.steps.some((s) => s.id === "switch.db.snapshot")).toBe(true);
    const never = buildPlan(
      { ...labInput, options: { ...labInput.options, switch: "never" } },
      labFacts,
      catalog,
    );
    expect(never.steps.some((s) => s.kind.startsWith("net.canary") || s.kind === "db.snapshot")).toBe(false);
  });
});
