/**
 * Which starts the planner marks `openstackDaemon` (svc.start's undoOrderFree), and what that does to rollback's
 * order on the lab plan with the real step registry: new's OpenStack daemons stop side by side, and every other
 * constraint of the strict order stays (database drops, infrastructure stops, the iSCSI target, the package purge).
 */
import { describe, expect, it } from "vitest";
import type { JournalState, StepState } from "../../../src/engine/journal.js";
import { undoPredecessors } from "../../../src/engine/rollback.js";
import type { Plan } from "../../../src/engine/step.js";
import { buildPlan } from "../../../src/plan/build.js";
import type { Facts } from "../../../src/plan/facts.js";
import { buildRegistry } from "../../../src/steps/registry.js";
import { FakeSql, makeDeps } from "../steps/support/harness.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { ancestors, shippedCatalog } from "./helpers.js";
import { doneInOrder } from "../engine/journal-states.js";

const catalog = shippedCatalog();
const plan = buildPlan(labInput, labFacts, catalog);
const registry = buildRegistry(makeDeps(new FakeSql()));

const allDone = (p: Plan): JournalState => doneInOrder(p);

/** Rollback's predecessors for everything before finalize (its points of no return), strict and with the marker. */
function predecessors(p: Plan): { strict: Map<string, string[]>; free: Map<string, string[]> } {
  const state = allDone(p);
  const work = [...state.steps].filter((s) => s.step.phase !== "finalize").reverse();
  const orderFree = (s: StepState): boolean =>
    registry.get(s.step.kind)?.undoOrderFree?.(s.step.params) ?? false;
  return { strict: undoPredecessors(state, work), free: undoPredecessors(state, work, orderFree) };
}

const marked = (p: Plan): string[] =>
  p.steps.filter((s) => s.kind === "svc.start" && s.params["openstackDaemon"] === true).map((s) => s.id);

describe("order-free undo of new's OpenStack daemon starts", () => {
  it("marks the services phase's daemon starts, not provisioning's infrastructure nor the iSCSI target", () => {
    expect(marked(plan).sort()).toEqual(
      [
        "svc.keystone.start.keystone",
        "svc.glance.start.glance-api",
        "svc.placement.start.placement-api",
        "svc.neutron.start.neutron-api",
        "svc.neutron.start.neutron-rpc-server",
        "svc.neutron.start.neutron-dhcp-agent",
        "svc.cinder.start.cinder-scheduler",
        "svc.cinder.start.cinder-volume",
        "svc.cinder.start.cinder-api",
        "svc.nova.start.nova-conductor",
        "svc.nova.start.nova-scheduler",
        "svc.nova.start.nova-api",
        "svc.horizon.start.apache2",
      ].sort(),
    );
    const unmarked = plan.steps.filter((s) => s.kind === "svc.start" && !marked(plan).includes(s.id));
    expect(unmarked.map((s) => s.id).sort()).toEqual(
      ["prov.mariadb.start", "prov.memcached.start", "prov.rabbitmq.start", "svc.cinder.start.tgt"].sort(),
    );
    // The same on a RHEL-family controller (other unit names, httpd shared by keystone and horizon).
    const centos: Facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        new: { ...labFacts.controllers.new, os: { id: "centos", versionId: "x", codename: "" } },
      },
    };
    const rhel = buildPlan(labInput, centos, catalog);
    const rhelMarked = marked(rhel);
    expect(rhelMarked).toContain("svc.keystone.start.httpd");
    expect(rhel.steps.map((s) => s.id)).toContain("svc.cinder.start.target");
    for (const s of rhel.steps.filter((x) => x.kind === "svc.start")) {
      expect(rhelMarked.includes(s.id), s.id).toBe(s.phase === "services" && !s.id.endsWith(".start.target"));
    }
  });

  it("svc.start's declaration reads the marker (absent: strict order; malformed: our bug)", () => {
    const start = registry.get("svc.start")!;
    expect(start.undoOrderFree?.({ host: "new", units: ["nova-api"], openstackDaemon: true })).toBe(true);
    expect(start.undoOrderFree?.({ host: "new", units: ["rabbitmq-server"] })).toBe(false);
    expect(() => start.undoOrderFree?.({ host: "new", units: ["x"], openstackDaemon: "yes" })).toThrow(
      /openstackDaemon must be a boolean/,
    );
    // No other kind declares itself order-free.
    const others = [...registry.values()].filter((i) => i.kind !== "svc.start" && i.undoOrderFree);
    expect(others.map((i) => i.kind)).toEqual([]);
  });

  it("on the lab plan, drops exactly the plan-order constraints between two daemon starts, nothing else", () => {
    const { strict, free } = predecessors(plan);
    const daemons = new Set(marked(plan));
    let dropped = 0;
    for (const [older, was] of strict) {
      const now = free.get(older)!;
      const expected = daemons.has(older) ? was.filter((n) => !daemons.has(n)) : was;
      expect(now, older).toEqual(expected);
      dropped += was.length - now.length;
    }
    // keystone, then every other service after it, each service's units in start order: many related pairs.
    expect(dropped).toBeGreaterThan(20);
    // No daemon stop waits for another daemon stop any more.
    for (const d of daemons)
      expect(
        free.get(d)!.filter((n) => daemons.has(n)),
        d,
      ).toEqual([]);
  });

  it("still stops every daemon before its database is dropped, the infrastructure stops and the packages go", () => {
    const { free } = predecessors(plan);
    const daemons = marked(plan);
    for (const infra of [
      "prov.rabbitmq.start",
      "prov.mariadb.start",
      "prov.memcached.start",
      "prov.packages",
    ]) {
      expect(free.get(infra), infra).toEqual(expect.arrayContaining(daemons));
    }
    for (const d of daemons.filter((x) => x.startsWith("svc.nova."))) {
      expect(free.get("db.nova.import"), d).toContain(d);
    }
    // The iSCSI target (not order-free) still stops before the cinder daemons started ahead of it.
    const tgtAncestors = ancestors(plan, "svc.cinder.start.tgt");
    const cinderBefore = daemons.filter((d) => tgtAncestors.has(d));
    expect(cinderBefore).toEqual(expect.arrayContaining(["svc.cinder.start.cinder-volume"]));
    for (const d of cinderBefore) expect(free.get(d), d).toContain("svc.cinder.start.tgt");
  });
});
