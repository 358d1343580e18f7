/**
 * The compute RPC pin on the computes: planned in the services phase before any address moves, only for computes
 * the answers let handover reach and nova knows, and removed again in finalize after fin.nova.unpin.
 */
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../../src/plan/build.js";
import type { Facts } from "../../../src/plan/facts.js";
import { renderPlanText } from "../../../src/plan/render.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { ancestors, shippedCatalog, stepOf } from "./helpers.js";

const catalog = shippedCatalog();

const get = stepOf;

describe("plan: the compute RPC pin on the computes", () => {
  const plan = buildPlan(labInput, labFacts, catalog);

  it("pins the reachable computes in the services phase, after new's nova.conf has its pin", () => {
    const s = get(plan, "svc.nova.pin-computes");
    expect(s.kind).toBe("nova.pin-computes");
    expect(s.phase).toBe("services");
    expect(s.hosts).toEqual(["new", "compute1"]);
    expect(s.params).toEqual({
      controller: "new",
      file: "/etc/nova/nova.conf",
      value: "auto",
      computes: ["compute1"],
      units: ["nova-compute", "openstack-nova-compute"],
      concurrency: labInput.options.concurrency,
    });
    expect(s.writes).toEqual(["compute1:file:/etc/nova", "compute1:service:nova-compute"]);
    expect(ancestors(plan, s.id).has("cfg.nova.rewrite")).toBe(true);
  });

  it("every address move, the canary and the switch gate wait for it", () => {
    const moves = plan.steps.filter((s) => s.kind === "net.move-address");
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) expect(ancestors(plan, m.id).has("svc.nova.pin-computes"), m.id).toBe(true);
    expect(ancestors(plan, "switch.canary.start").has("svc.nova.pin-computes")).toBe(true);
    expect(ancestors(plan, "verify.nova.api").has("svc.nova.pin-computes")).toBe(true);
  });

  it("warns about the computes it cannot reach, naming what to do", () => {
    // compute2 is a nova compute of the lab facts without SSH settings in the answers.
    expect(plan.warnings).toContainEqual(
      expect.stringMatching(/^nova: compute\(s\) compute2 are not in computes\.hosts.*compute = auto/),
    );
  });

  it("removes the pin in finalize after fin.nova.unpin, on the same computes and resources", () => {
    const u = get(plan, "fin.nova.unpin-computes");
    expect(u.kind).toBe("nova.unpin-computes");
    expect(u.phase).toBe("finalize");
    expect(u.hosts).toEqual(["compute1"]);
    expect(u.after).toEqual(["fin.nova.unpin"]);
    expect(u.irreversible).toBeUndefined();
    // Same resources: once the unpin is done, a resume does not pin again.
    expect(u.writes).toEqual(get(plan, "svc.nova.pin-computes").writes);
    expect(u.params).toMatchObject({ file: "/etc/nova/nova.conf", computes: ["compute1"] });
  });

  it("shows its commands in `handover plan`", () => {
    const text = renderPlanText(plan);
    expect(text).toContain(
      "[compute1] /etc/nova/nova.conf [upgrade_levels] compute = auto (owner and mode kept)",
    );
    expect(text).toMatch(
      /\[compute1\] restart nova-compute or openstack-nova-compute if it exists and is running/,
    );
    expect(text).toContain("[compute1] /etc/nova/nova.conf: remove [upgrade_levels] compute");
  });

  it("only when computes exist: none in the facts, none reachable, or no nova", () => {
    const noComputes: Facts = { ...labFacts, nova: { ...labFacts.nova!, computes: [] } };
    for (const p of [
      buildPlan(labInput, noComputes, catalog),
      buildPlan({ ...labInput, computeHosts: [] }, labFacts, catalog),
      buildPlan(
        { ...labInput, computeHosts: ["compute9"] }, // not a nova compute
        labFacts,
        catalog,
      ),
      buildPlan({ ...labInput, services: ["keystone", "glance"] }, labFacts, catalog),
    ]) {
      expect(p.steps.some((s) => s.kind === "nova.pin-computes" || s.kind === "nova.unpin-computes")).toBe(
        false,
      );
    }
    const none = buildPlan({ ...labInput, computeHosts: [] }, labFacts, catalog);
    expect(none.warnings).toContainEqual(
      expect.stringMatching(/compute1, compute2 are not in computes\.hosts/),
    );
  });

  it("pins every reachable compute in the answers' order", () => {
    const p = buildPlan({ ...labInput, computeHosts: ["compute2", "compute1"] }, labFacts, catalog);
    expect(get(p, "svc.nova.pin-computes").params.computes).toEqual(["compute2", "compute1"]);
    expect(p.warnings.some((w) => w.includes("not in computes.hosts"))).toBe(false);
  });
});
