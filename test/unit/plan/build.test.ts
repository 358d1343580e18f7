import { describe, expect, it } from "vitest";
import type { PlannedStep } from "../../../src/engine/step.js";
import { PHASES } from "../../../src/engine/step.js";
import { supersedes } from "../../../src/engine/resources.js";
import { buildPlan } from "../../../src/plan/build.js";
import type { Facts } from "../../../src/plan/facts.js";
import type { PlanInput } from "../../../src/plan/input.js";
import { STEP_KINDS, undoKindOf } from "../../../src/plan/kinds.js";
import { labFacts, labInput } from "./fixtures/lab-facts.js";
import { ancestors, shippedCatalog, stepOf } from "./helpers.js";
import { thrownUserError } from "../user-error.js";

const catalog = shippedCatalog();
const plan = buildPlan(labInput, labFacts, catalog);
const byId = new Map(plan.steps.map((s) => [s.id, s]));
const step = (id: string): PlannedStep => stepOf(plan, id);

describe("the lab plan (victoria on bullseye -> zed on bookworm)", () => {
  it("has unique ids and is the same value when built twice", () => {
    const ids = plan.steps.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(buildPlan(labInput, labFacts, catalog)).toEqual(plan);
  });

  it("keeps step ids stable when options that do not change the work change", () => {
    const other = buildPlan(
      { ...labInput, options: { ...labInput.options, concurrency: 16, credentials: "new" } },
      labFacts,
      catalog,
    );
    expect(other.steps.map((s) => s.id)).toEqual(plan.steps.map((s) => s.id));
  });

  it("lists steps in phase order with every dependency earlier and in the same or an earlier phase", () => {
    const seen = new Map<string, number>();
    let phase = 0;
    for (const s of plan.steps) {
      const p = PHASES.indexOf(s.phase);
      expect(p).toBeGreaterThanOrEqual(phase);
      phase = p;
      for (const a of s.after) {
        expect(seen.has(a), `${s.id} after ${a}`).toBe(true);
        expect(seen.get(a)!).toBeLessThanOrEqual(p);
      }
      seen.set(s.id, p);
    }
  });

  it("uses only known kinds, and steps of irreversible kinds say why", () => {
    for (const s of plan.steps) {
      expect(Object.keys(STEP_KINDS), s.id).toContain(s.kind);
      if (undoKindOf(s.kind) === "irreversible") expect(s.irreversible, s.id).toBeTruthy();
    }
  });

  it("names an existing reversible covering step for every 'covered' step", () => {
    for (const s of plan.steps.filter(
      (x) => undoKindOf(x.kind) === "covered" && x.irreversible === undefined,
    )) {
      const cover = s.params.coveredBy;
      const ids = typeof cover === "string" ? [cover] : Array.isArray(cover) ? cover : [];
      expect(ids.length, s.id).toBeGreaterThan(0);
      for (const id of ids) {
        if (typeof id !== "string") throw new Error(`${s.id}: coveredBy holds a non-string`);
        expect(undoKindOf(step(id).kind), `${s.id} covered by ${id}`).toBe("reversible");
      }
    }
  });

  it("covers nova's syncs by the import of every database they write (a redo starts all of them over)", () => {
    const cover = step("up.nova.db-sync").params.coveredBy;
    expect(Array.isArray(cover) ? [...cover].sort() : cover).toEqual(
      ["db.nova.import", "db.nova_api.import", "db.nova_cell0.import"].sort(),
    );
  });

  it("lets a resume skip the preflight health checks once the freeze and provisioning changed what they read", () => {
    // The engine does not redo a done step that a later done step superseded (wrote what it read): without
    // these reads a resume after the freeze re-ran "old is healthy" against stopped APIs and failed.
    expect(supersedes(step("freeze.apis"), step("pre.health.old"))).toBe(true);
    expect(supersedes(step("prov.db.keystone"), step("pre.health.new"))).toBe(true);
  });

  it("names old among the hosts of every step that reads old's files (the engine refuses other hosts)", () => {
    for (const id of ["prov.db.keystone", "prov.amqp", "verify.keystone.api"])
      expect(step(id).hosts, id).toContain("old");
  });

  it("runs nova's update_cell for cell0 and cell1 before api_db sync and db sync", () => {
    const api = ancestors(plan, "up.nova.api-db-sync");
    const db = ancestors(plan, "up.nova.db-sync");
    for (const cell of ["up.nova.update-cell.cell0", "up.nova.update-cell.cell1"]) {
      expect(api.has(cell)).toBe(true);
      expect(db.has(cell)).toBe(true);
    }
    expect(db.has("up.nova.api-db-sync")).toBe(true);
    expect(step("up.nova.update-cell.cell0").params.configOverride).toEqual({
      "database.connection": "{db:nova_cell0}",
    });
    // cell0's "none:///" transport on the argv (nova-manage cannot load a "none" driver from its config).
    expect((step("up.nova.update-cell.cell0").params.argv as string[]).slice(-2)).toEqual([
      "--transport-url",
      "none:///",
    ]);
    expect(step("up.nova.update-cell.cell1").params.argv).not.toContain("--transport-url");
    // cell1 takes its URLs from the rewritten nova.conf, which must be in place first.
    expect(ancestors(plan, "up.nova.update-cell.cell1").has("cfg.nova.rewrite")).toBe(true);
  });

  it("puts keystone contract in finalize, irreversible, after the switch; nothing else before finalize is irreversible", () => {
    const contract = step("fin.keystone.contract");
    expect(contract.phase).toBe("finalize");
    expect(contract.irreversible).toMatch(/no longer serve the source release/);
    expect(ancestors(plan, "fin.keystone.contract").has("switch.verify")).toBe(true);
    expect(plan.steps.filter((s) => s.irreversible !== undefined && s.phase !== "finalize")).toEqual([]);
    expect(
      plan.steps.some((s) => s.phase !== "finalize" && s.commands.some((c) => c.includes("--contract"))),
    ).toBe(false);
  });

  it("lets all database imports run concurrently: no dependencies and no resource conflicts among them", () => {
    const imports = plan.steps.filter((s) => s.kind === "db.copy");
    expect(imports.map((s) => s.id).sort()).toEqual(
      ["cinder", "glance", "keystone", "neutron", "nova", "nova_api", "nova_cell0", "placement"]
        .map((d) => `db.${d}.import`)
        .sort(),
    );
    for (const a of imports) {
      const anc = ancestors(plan, a.id);
      for (const b of imports) {
        if (a === b) continue;
        expect(anc.has(b.id), `${a.id} waits for ${b.id}`).toBe(false);
        expect(
          a.writes.filter((w) => b.writes.includes(w) || b.reads.includes(w)),
          `${a.id} vs ${b.id}`,
        ).toEqual([]);
      }
    }
  });

  it("writes the old controller only in freeze and switch steps, and those all have an undo", () => {
    const oldWriters = plan.steps.filter((s) => s.writes.some((w) => w.startsWith("old:")));
    expect(oldWriters.length).toBeGreaterThan(0);
    for (const s of oldWriters) {
      expect(["freeze", "switch"], s.id).toContain(s.phase);
      expect(undoKindOf(s.kind), s.id).toBe("reversible");
      expect(s.irreversible).toBeUndefined();
    }
    expect(step("freeze.apis").params.units).toEqual(
      expect.arrayContaining(["nova-api", "keystone", "glance-api", "cinder-api"]),
    );
    expect(step("freeze.apis").params.units).not.toContain("nova-conductor");
  });

  it("reads the old databases only, and only before or during the dumps", () => {
    for (const s of plan.steps.filter((x) => x.reads.some((r) => r.startsWith("old:db:")))) {
      expect(["preflight", "databases"], s.id).toContain(s.phase);
    }
  });

  it("dumps only after the freeze and starts conductor before scheduler before API", () => {
    for (const s of plan.steps.filter((x) => x.kind === "db.copy"))
      expect(ancestors(plan, s.id).has("freeze.apis")).toBe(true);
    const api = ancestors(plan, "svc.nova.start.nova-api");
    expect(api.has("svc.nova.start.nova-conductor")).toBe(true);
    expect(api.has("svc.nova.start.nova-scheduler")).toBe(true);
    // The upgrade check runs beside the starts, the online migrations beside the API check; the switch (and the
    // inventory comparison) waits for both.
    expect(ancestors(plan, "svc.nova.start.nova-conductor").has("svc.nova.upgrade-check")).toBe(false);
    expect(ancestors(plan, "verify.nova.api").has("svc.nova.online-data-migrations")).toBe(false);
    for (const id of ["svc.nova.upgrade-check", "svc.nova.online-data-migrations"]) {
      expect(ancestors(plan, "net.switch.mgmt").has(id), id).toBe(true);
      expect(ancestors(plan, "verify.inventory").has(id) || id.endsWith("upgrade-check"), id).toBe(true);
    }
    // nova-status needs a running placement.
    expect(ancestors(plan, "svc.nova.upgrade-check").has("svc.placement.start.placement-api")).toBe(true);
    expect(ancestors(plan, "svc.nova.online-data-migrations").has("svc.nova.start.nova-api")).toBe(true);
  });

  it("runs cinder's online migrations before cinder-status, which fails on what they fix", () => {
    expect(ancestors(plan, "svc.cinder.upgrade-check").has("up.cinder.online-data-migrations")).toBe(true);
    expect(step("up.cinder.online-data-migrations").params.repeatOnExit).toEqual([1]);
  });

  it("runs every manage command as the service user and never shows a password", () => {
    for (const s of plan.steps.filter((x) => x.kind === "svc.manage")) {
      const user = s.params.user as string;
      for (const c of s.commands)
        expect(c, s.id).toMatch(new RegExp(`^\\[new\\] su -s /bin/sh -c '.+' ${user}`));
    }
    for (const c of plan.steps.flatMap((s) => s.commands)) {
      for (const m of c.matchAll(/:\/\/[^/\s:@]+:([^@\s]+)@/g)) expect(m[1], c).toBe("***");
      expect(c).not.toMatch(/--password|\s-p\S|IDENTIFIED BY '?[^*' ]/);
    }
  });

  it("pins compute RPC and enables the FFU workaround loudly for victoria computes under zed, and undoes it in finalize", () => {
    const edits = step("cfg.nova.rewrite").params.edits as { section: string; key: string; value?: string }[];
    expect(edits).toContainEqual(
      expect.objectContaining({ section: "upgrade_levels", key: "compute", value: "auto" }),
    );
    expect(edits).toContainEqual(
      expect.objectContaining({
        section: "workarounds",
        key: "disable_compute_service_check_for_ffu",
        value: "True",
      }),
    );
    expect(plan.warnings.join("\n")).toMatch(/compute1 \(victoria\), compute2 \(victoria\)/);
    expect(step("fin.nova.unpin").params.requireComputesAtLeast).toBe("zed");
  });

  it("does not set the FFU workaround when the computes already run a supported release", () => {
    const facts: Facts = {
      ...labFacts,
      nova: { ...labFacts.nova!, computes: labFacts.nova!.computes.map((c) => ({ ...c, release: "yoga" })) },
    };
    const p = buildPlan(labInput, facts, catalog);
    const edits = p.steps.find((s) => s.id === "cfg.nova.rewrite")!.params.edits as { key: string }[];
    expect(edits.map((e) => e.key)).toContain("compute");
    expect(edits.map((e) => e.key)).not.toContain("disable_compute_service_check_for_ffu");
    expect(p.warnings.join("\n")).not.toMatch(/older than zed supports/);
  });

  it("copies volumes in bulk before the freeze and once more after the old target stops, before addresses move", () => {
    const bulk = step("warm.cinder.volumes");
    expect(bulk.params.pass).toBe("bulk");
    expect(bulk.phase).toBe("warm");
    // Before the freeze (outside the downtime), and nothing in the freeze window waits for a volume copy.
    expect(ancestors(plan, "freeze.apis").has(bulk.id)).toBe(true);
    expect(plan.steps.filter((s) => s.kind === "volumes.copy").map((s) => s.id)).toEqual([
      "warm.cinder.volumes",
      "switch.cinder.volumes",
    ]);
    const final = step("switch.cinder.volumes");
    expect(ancestors(plan, final.id).has("switch.old.stop")).toBe(true);
    expect(step("switch.old.stop").params.units).toContain("tgt");
    for (const n of ["net.switch.mgmt", "net.switch.storage"])
      expect(ancestors(plan, n).has(final.id)).toBe(true);
  });

  it("stops old's other daemons with the freeze, beside the dumps; only the iSCSI target waits for the switch", () => {
    const daemons = step("freeze.old.daemons");
    expect(daemons.phase).toBe("freeze");
    expect(daemons.after).toEqual(["freeze.apis"]);
    expect(daemons.params.units).toEqual(
      expect.arrayContaining(["nova-conductor", "nova-scheduler", "cinder-scheduler", "cinder-volume"]),
    );
    expect(daemons.params.units).not.toContain("tgt");
    // Nothing in the window waits for it: the imports start right after the APIs stop.
    expect(ancestors(plan, "db.nova.import").has(daemons.id)).toBe(false);
    expect(step("switch.old.stop").params.units).toEqual(["tgt"]);
  });

  it("asks before switching in confirm mode, and does not when auto", () => {
    expect(ancestors(plan, "net.switch.mgmt").has("switch.confirm")).toBe(true);
    const auto = buildPlan(
      { ...labInput, options: { ...labInput.options, switch: "auto" } },
      labFacts,
      catalog,
    );
    expect(auto.steps.some((s) => s.kind === "gate.confirm")).toBe(false);
    expect(auto.steps.some((s) => s.id === "net.switch.mgmt")).toBe(true);
  });

  it("omits the switch with switch: never, and says so", () => {
    const never = buildPlan(
      { ...labInput, options: { ...labInput.options, switch: "never" } },
      labFacts,
      catalog,
    );
    expect(never.steps.filter((s) => s.phase === "switch")).toEqual([]);
    expect(never.warnings.join("\n")).toMatch(/switch: never/);
    expect(never.steps.find((s) => s.id === "fin.keystone.contract")?.after).toEqual(
      expect.arrayContaining(["verify.inventory"]),
    );
  });

  it("has no iSCSI rewrite when the portal moves with the address, and one after both syncs when it changes", () => {
    expect(byId.has("data.iscsi.connection-info")).toBe(false);
    const moved = buildPlan(
      { ...labInput, iscsi: { oldPortal: "198.18.0.4:3260", newPortal: "198.18.0.5:3260" } },
      labFacts,
      catalog,
    );
    const rw = moved.steps.find((s) => s.id === "data.iscsi.connection-info")!;
    const anc = ancestors(moved, rw.id);
    expect(anc.has("up.nova.db-sync")).toBe(true);
    expect(anc.has("up.cinder.online-data-migrations")).toBe(true);
    const cinderEdits = moved.steps.find((s) => s.id === "cfg.cinder.rewrite")!.params.edits as {
      key: string;
      value?: string;
    }[];
    expect(cinderEdits).toContainEqual(
      expect.objectContaining({ key: "target_ip_address", value: "198.18.0.5" }),
    );
  });

  it("edits horizon's new local_settings instead of copying the old release's file", () => {
    expect(byId.has("cfg.horizon.copy")).toBe(false);
    const h = step("cfg.horizon.rewrite");
    expect(h.kind).toBe("config.horizon");
    expect(h.params.carryOver).toContain("OPENSTACK_HOST");
    expect(h.params.set).toEqual({ OPENSTACK_KEYSTONE_DEFAULT_ROLE: "member" });
    const noMember = buildPlan(labInput, { ...labFacts, keystoneRoles: ["admin", "_member_"] }, catalog);
    expect(noMember.steps.find((s) => s.id === "cfg.horizon.rewrite")!.params.set).toEqual({
      OPENSTACK_KEYSTONE_DEFAULT_ROLE: "_member_",
    });
  });

  it("copies keystone's whole config dir (fernet and credential keys included) before rewriting it", () => {
    expect(step("cfg.keystone.copy").reads).toEqual(["old:file:/etc/keystone"]);
    expect(step("cfg.keystone.rewrite").after).toContain("cfg.keystone.copy");
    expect(ancestors(plan, "up.keystone.expand").has("cfg.keystone.rewrite")).toBe(true);
  });

  it("shows irreversible steps only in finalize, including the stale service clean-up", () => {
    expect(step("fin.nova.stale-services").irreversible).toBeTruthy();
    expect(step("fin.nova.stale-services").params.binaries).toEqual(["nova-conductor", "nova-scheduler"]);
  });
});

describe("refusals happen in plan, not halfway", () => {
  it("refuses an unsafe jump with the catalog's reason", () => {
    const input: PlanInput = {
      ...labInput,
      sourceRelease: "liberty",
      targetRelease: "queens",
      services: ["glance"],
    };
    const facts: Facts = {
      ...labFacts,
      controllers: { ...labFacts.controllers, old: { ...labFacts.controllers.old, release: "liberty" } },
    };
    const e = thrownUserError(() => buildPlan(input, facts, catalog));
    expect(e.code).toBe("UNSAFE_JUMP");
    expect(e.message).toMatch(/glance.*is_public/s);
  });

  it("refuses when discovery already found rows that break a migration", () => {
    const facts: Facts = { ...labFacts, dataChecks: { "cinder-untyped-volumes": 2 } };
    const e = thrownUserError(() => buildPlan(labInput, facts, catalog));
    expect(e.code).toBe("UNSAFE_JUMP");
    expect(e.message).toMatch(/cinder: volumes or snapshots with a NULL volume_type_id.*2 row/);
  });

  it("plans a preflight check instead when discovery did not run a data check", () => {
    const facts: Facts = { ...labFacts, dataChecks: {} };
    const p = buildPlan(labInput, facts, catalog);
    const check = p.steps.find((s) => s.id === "pre.data.cinder-untyped-volumes")!;
    expect(check.kind).toBe("check.data");
    expect(check.reads).toEqual(["old:db:cinder"]);
  });

  it("refuses when the old controller runs another release than the answers say", () => {
    const e = thrownUserError(() => buildPlan({ ...labInput, sourceRelease: "ussuri" }, labFacts, catalog));
    expect(e.code).toBe("PLAN_RELEASE_MISMATCH");
  });

  it("refuses when the new controller lacks disk for the databases", () => {
    const facts: Facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        new: {
          ...labFacts.controllers.new,
          disk: [{ path: "/var/lib/mysql", freeBytes: 1024, totalBytes: 4096 }],
        },
      },
    };
    expect(thrownUserError(() => buildPlan(labInput, facts, catalog)).code).toBe("PLAN_DISK");
  });

  it("refuses a nova without cell mappings instead of planning a half sync", () => {
    const facts: Facts = { ...labFacts, nova: { ...labFacts.nova!, cells: [] } };
    expect(thrownUserError(() => buildPlan(labInput, facts, catalog)).code).toBe("PLAN_NOVA_CELLS");
    expect(plan.warnings.join("\n")).not.toMatch(/cell/);
  });

  it("refuses services the old controller does not run", () => {
    const facts: Facts = {
      ...labFacts,
      controllers: { ...labFacts.controllers, old: { ...labFacts.controllers.old, services: ["keystone"] } },
    };
    expect(thrownUserError(() => buildPlan(labInput, facts, catalog)).message).toMatch(
      /does not run: glance/,
    );
  });
});

describe("other shapes", () => {
  it("copies placement out of nova_api before nova's api_db sync when the source predates Stein", () => {
    const dbs = labFacts.controllers.old.databases.filter((d) => d.name !== "placement");
    const facts: Facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        old: {
          ...labFacts.controllers.old,
          release: "rocky",
          services: ["keystone", "glance", "nova", "neutron", "cinder", "horizon"],
          databases: dbs,
        },
      },
    };
    const p = buildPlan({ ...labInput, sourceRelease: "rocky", targetRelease: "stein" }, facts, catalog);
    const ids = p.steps.map((s) => s.id);
    expect(ids).not.toContain("db.placement.import");
    expect(ids).toContain("prov.db.placement");
    expect(ancestors(p, "up.nova.api-db-sync").has("up.placement.from-nova-api")).toBe(true);
    expect(ancestors(p, "up.placement.db-sync").has("up.placement.stamp")).toBe(true);
    expect(ancestors(p, "up.placement.from-nova-api").has("db.nova_api.import")).toBe(true);
  });

  it("starts a unit shared by services once, after every sharer is ready (Ubuntu apache2)", () => {
    const facts: Facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        new: { ...labFacts.controllers.new, os: { id: "ubuntu", versionId: "22.04", codename: "jammy" } },
      },
    };
    const p = buildPlan(labInput, facts, catalog);
    const apacheStarts = p.steps.filter(
      (s) => s.kind === "svc.start" && s.params.units && (s.params.units as string[]).includes("apache2"),
    );
    expect(apacheStarts.map((s) => s.id)).toEqual(["svc.keystone.start.apache2"]);
    const anc = ancestors(p, "svc.keystone.start.apache2");
    expect(anc.has("cfg.horizon.rewrite")).toBe(true);
    expect(anc.has("up.placement.db-sync")).toBe(true);
  });

  it("uses RDO names and systemctl on a RHEL-family new controller", () => {
    const facts: Facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        new: { ...labFacts.controllers.new, os: { id: "centos", versionId: "9", codename: "" } },
      },
    };
    const p = buildPlan(labInput, facts, catalog);
    expect(p.steps.find((s) => s.id === "prov.packages")!.commands[0]).toMatch(
      /^\[new\] dnf install -y .*openstack-nova-api/,
    );
    expect(p.steps.some((s) => s.id === "svc.nova.start.openstack-nova-conductor")).toBe(true);
    expect(p.steps.some((s) => s.kind === "pkg.prevent-start")).toBe(false);
  });
});
