/**
 * Invariants of buildPlan over many inputs (fast-check): whatever services, options, distro and iSCSI layout,
 * the plan has unique ids, dependencies point backwards within the phase order, the old controller is written
 * only by reversible freeze/switch steps, and points of no return appear only in finalize.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PHASES } from "../../../src/engine/step.js";
import { buildPlan } from "../../../src/plan/build.js";
import { SERVICE_NAMES, type ServiceName } from "../../../src/plan/catalog.js";
import type { Facts } from "../../../src/plan/facts.js";
import type { PlanInput } from "../../../src/plan/input.js";
import { undoKindOf } from "../../../src/plan/kinds.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { shippedCatalog } from "./helpers.js";

const catalog = shippedCatalog();

const arbInput = fc.record({
  services: fc.subarray([...SERVICE_NAMES] as ServiceName[], { minLength: 1 }),
  freeze: fc.constantFrom("stop-apis" as const, "haproxy-503" as const),
  switchMode: fc.constantFrom("auto" as const, "confirm" as const, "never" as const),
  credentials: fc.constantFrom("keep" as const, "new" as const),
  portalMoves: fc.boolean(),
  distro: fc.constantFrom("debian", "ubuntu", "centos"),
  networks: fc.integer({ min: 0, max: 2 }),
  target: fc.constantFrom("wallaby", "xena", "yoga", "zed", "2023.1"),
});

describe("buildPlan invariants", () => {
  it("hold for any mix of services, options, distro and layout", () => {
    fc.assert(
      fc.property(arbInput, (a) => {
        const input: PlanInput = {
          ...labInput,
          targetRelease: a.target,
          services: a.services,
          networks: labInput.networks.slice(0, a.networks),
          iscsi: a.portalMoves ? { oldPortal: "198.18.0.4", newPortal: "198.18.0.5" } : labInput.iscsi,
          options: {
            ...labInput.options,
            freeze: a.freeze,
            switch: a.switchMode,
            credentials: a.credentials,
          },
        };
        const facts: Facts = {
          ...labFacts,
          controllers: {
            ...labFacts.controllers,
            new: { ...labFacts.controllers.new, os: { id: a.distro, versionId: "x", codename: "" } },
          },
        };
        // victoria -> any of these targets is allowed by the catalog, so no input here may be refused.
        const plan = buildPlan(input, facts, catalog);
        const seen = new Map<string, number>();
        for (const s of plan.steps) {
          expect(seen.has(s.id)).toBe(false);
          const p = PHASES.indexOf(s.phase);
          for (const d of s.after) {
            expect(seen.has(d)).toBe(true);
            expect(seen.get(d)!).toBeLessThanOrEqual(p);
          }
          seen.set(s.id, p);
          expect(undoKindOf(s.kind)).toBeDefined();
          if (s.writes.some((w) => w.startsWith("old:"))) {
            expect(["freeze", "switch"]).toContain(s.phase);
            expect(undoKindOf(s.kind)).toBe("reversible");
          }
          if (s.irreversible !== undefined) expect(s.phase).toBe("finalize");
          for (const c of s.commands)
            for (const m of c.matchAll(/:\/\/[^/\s:@]+:([^@\s]+)@/g)) expect(m[1]).toBe("***");
        }
        expect(plan.steps.some((s) => s.phase === "switch")).toBe(a.switchMode !== "never" && a.networks > 0);
        // Every chosen service with databases gets at least one schema step.
        for (const s of a.services) {
          if (catalog.services[s].databases.length > 0) {
            expect(plan.steps.some((x) => x.id.startsWith(`up.${s}.`))).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
