/**
 * Journal fixtures for the report, written with the real Journal writer (src/engine/journal.ts) into a temp state
 * directory, with a scripted clock so every record's time is known. The plan is a small but realistic one: the
 * step kinds, ids and undo data shapes are the ones the planner and step implementations produce (inventory counts,
 * api.check details, config.rewrite diffs, files.sync/db.copy bytes and seconds, net.move-address moveMs, and
 * optionally the canary pair as src/steps/net/canary.ts journals it: net.canary-start before the move, and
 * net.canary-stop after it with per-address replies/sent/blackoutMs and when the gap was).
 *
 * Scenarios:
 * - completed: every step ran once; one warning note; a plan warning with markup in it.
 * - failed: the first run stopped at svc.nova.upgrade-check with a message full of markup; an irreversible step
 *   (up.keystone.contract) was done before it.
 * - rolledBack: `failed`, then a rollback undoing every reversible step newest first (the irreversible one blocks
 *   nothing here because the fixture plan's rollback stops there: only steps newer than it are undone).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal, type JournalEntry, type JournalRecord } from "../../../src/engine/journal.js";
import type { JsonObject, Phase, Plan, PlannedStep } from "../../../src/engine/step.js";

export const T0 = Date.parse("2026-11-22T01:00:00.000Z");
export const NASTY = `<script>alert("x")</script> & 'quoted' | piped`;

function s(
  id: string,
  kind: string,
  phase: Phase,
  hosts: string[],
  params: JsonObject,
  extra: Partial<PlannedStep> = {},
): PlannedStep {
  return {
    id,
    kind,
    title: `step ${id}`,
    phase,
    hosts,
    reads: [],
    writes: [],
    commands: [],
    after: [],
    params,
    ...extra,
  };
}

export function reportPlan(o: { canary?: boolean; contract?: boolean } = {}): Plan {
  const steps: PlannedStep[] = [
    s("pre.health.old", "check.health", "preflight", ["old"], { host: "old", units: [] }),
    s("pre.upgrade-check.nova", "svc.upgrade-check", "preflight", ["old"], {
      service: "nova",
      argv: ["nova-status", "upgrade", "check"],
      user: "nova",
      failOn: "none",
    }),
    s("pre.inventory.old", "inventory.capture", "preflight", ["old"], { host: "old", databases: ["nova"] }),
    s("pre.keystone.api", "api.check", "preflight", ["old"], {
      service: "keystone",
      address: "198.51.100.4",
    }),
    s("prov.packages", "pkg.install", "provision", ["new"], { host: "new", packages: ["nova-api"] }),
    s("warm.glance.images", "files.sync", "warm", ["old", "new"], {
      from: "old",
      to: "new",
      path: "/var/lib/glance/images",
      pass: "bulk",
    }),
    s("freeze.apis", "freeze.stop-apis", "freeze", ["old"], {
      host: "old",
      units: ["nova-api", "glance-api"],
    }),
    s("db.nova.import", "db.copy", "databases", ["old", "new"], { database: "nova", from: "old", to: "new" }),
    s("cfg.nova.rewrite", "config.rewrite", "configs", ["new"], { service: "nova", edits: [] }),
    ...(o.contract === false
      ? []
      : [
          s(
            "up.keystone.contract",
            "svc.manage",
            "upgrade",
            ["new"],
            { service: "keystone", argv: ["keystone-manage", "db_sync", "--contract"] },
            { irreversible: "the keystone schema no longer serves the source release" },
          ),
        ]),
    s("up.nova.db-sync", "svc.manage", "upgrade", ["new"], { service: "nova", coveredBy: "db.nova.import" }),
    s("data.glance.images", "files.sync", "data", ["old", "new"], {
      from: "old",
      to: "new",
      path: "/var/lib/glance/images",
      pass: "delta",
    }),
    s("data.cinder.volumes", "volumes.copy", "data", ["old", "new"], {
      backend: "lvm",
      location: "cinder-volumes",
      volumes: [
        { id: "v1", sizeGb: 1 },
        { id: "v2", sizeGb: 2 },
      ],
      pass: "bulk",
    }),
    s("svc.nova.upgrade-check", "svc.upgrade-check", "services", ["new"], {
      service: "nova",
      argv: ["nova-status", "upgrade", "check"],
      user: "nova",
      failOn: "failure",
    }),
    s("verify.keystone.api", "api.check", "verify", ["new"], {
      service: "keystone",
      address: "198.51.100.40",
    }),
    s("verify.inventory", "inventory.compare", "verify", ["old", "new"], {
      host: "new",
      against: "pre.inventory.old",
      databases: ["nova"],
    }),
    s("switch.old.stop", "svc.stop", "switch", ["old"], { host: "old", units: ["nova-conductor"] }),
    ...(o.canary
      ? [
          s("switch.canary.start", "net.canary-start", "switch", ["compute1"], {
            compute: "compute1",
            addresses: ["198.51.100.4"],
          }),
        ]
      : []),
    s("net.switch.mgmt", "net.move-address", "switch", ["old", "new"], {
      network: "mgmt",
      address: "198.51.100.4",
      prefix: 24,
      oldInterface: "eth0",
      newInterface: "eth1",
    }),
    ...(o.canary
      ? [s("switch.canary.stop", "net.canary-stop", "switch", ["compute1"], { compute: "compute1" })]
      : []),
  ];
  return {
    version: 1,
    sourceRelease: "victoria",
    targetRelease: "zed",
    steps,
    warnings: [`compute1 runs victoria: instance operations may fail until it is upgraded ${NASTY}`],
  };
}

const DIFF = [
  "--- a/etc/nova/nova.conf",
  "+++ b/etc/nova/nova.conf",
  "@@ -1,3 +1,3 @@",
  " [database]",
  "-connection = mysql+pymysql://nova:****@198.51.100.4/nova",
  "+connection = mysql+pymysql://nova:****@127.0.0.1/nova",
  " [api]",
  "",
].join("\n");

/** What each step journals when it is done (the shapes the real implementations return). */
export function undoDataFor(id: string): { undoData: JsonObject; verify: string } {
  switch (id) {
    case "pre.upgrade-check.nova":
      return {
        undoData: { exitCode: 1 },
        verify:
          "nova: `nova-status upgrade check` on old passed with warnings:\nCheck: Policy File JSON to YAML Migration\nResult: Warning",
      };
    case "pre.inventory.old":
      return {
        undoData: { counts: { projects: 3, instances: 4, "block device mappings": 2 } },
        verify: "inventory on old: projects 3, instances 4, block device mappings 2",
      };
    case "pre.keystone.api":
      return {
        undoData: { detail: "keystone on old: token issue ok, endpoint list 9 lines", tempDir: "" },
        verify: "keystone ok",
      };
    case "warm.glance.images":
      return {
        undoData: {
          path: "/var/lib/glance/images",
          preexisting: [],
          tempKeys: [],
          bytes: 3 * 1024 ** 3,
          seconds: 12,
        },
        verify: "/var/lib/glance/images: 2 files, sizes equal on old and new",
      };
    case "freeze.apis":
      return {
        undoData: { host: "old", wereActive: ["nova-api", "glance-api"] },
        verify: "on old: none of nova-api, glance-api is active",
      };
    case "db.nova.import":
      return {
        undoData: { database: "nova", bytes: 50 * 1024 ** 2, seconds: 4, tempDirs: [] },
        verify: "nova: row counts equal",
      };
    case "cfg.nova.rewrite":
      return {
        undoData: {
          service: "nova",
          files: [],
          diffs: [{ path: "/etc/nova/nova.conf", unified: DIFF, added: 1, removed: 1 }],
        },
        verify: "nova: 2 option(s) in place on new",
      };
    case "data.glance.images":
      return {
        undoData: {
          path: "/var/lib/glance/images",
          preexisting: [],
          tempKeys: [],
          bytes: 10 * 1024 ** 2,
          seconds: 2,
        },
        verify: "/var/lib/glance/images: 2 files",
      };
    case "data.cinder.volumes":
      return {
        undoData: {
          backend: "lvm",
          location: "cinder-volumes",
          created: ["v1", "v2"],
          tempKeys: [],
          bytes: 1024 ** 3,
          seconds: 8,
          verified: 2,
        },
        verify: "2 volume(s) on new, sizes equal",
      };
    case "svc.nova.upgrade-check":
      return { undoData: { exitCode: 0 }, verify: "nova: `nova-status upgrade check` on new passed" };
    case "verify.keystone.api":
      return {
        undoData: { detail: "keystone on new: token issue ok, endpoint list 9 lines", tempDir: "" },
        verify: "keystone ok",
      };
    case "verify.inventory":
      return {
        undoData: { counts: { projects: 3, instances: 4, "block device mappings": 2 } },
        verify:
          "inventory equal to the counts pre.inventory.old recorded: projects 3, instances 4, block device mappings 2",
      };
    case "switch.old.stop":
      return { undoData: { host: "old", wereActive: ["nova-conductor"] }, verify: "on old: none active" };
    case "net.switch.mgmt":
      return {
        undoData: { address: "198.51.100.4", prefix: 24, removedFromOld: true, moveMs: 412 },
        verify: "198.51.100.4/24 is on new's eth1 and not on old",
      };
    case "switch.canary.start":
      return {
        undoData: { compute: "compute1", dir: "/tmp/handover-canary.abc", pids: [] },
        verify: "pinging",
      };
    default:
      return { undoData: {}, verify: `${id} ok` };
  }
}

/** What net.canary-stop returns: one address, 1.8 s without replies starting 200 ms after `moveStartMs`. */
export function canaryStop(moveStartMs: number): JsonObject {
  const from = moveStartMs + 200;
  return {
    compute: "compute1",
    canary: [
      {
        address: "198.51.100.4",
        replies: 4038,
        sent: 4220,
        blackoutMs: 1800,
        blackoutFrom: new Date(from).toISOString(),
        blackoutTo: new Date(from + 1800).toISOString(),
        firstReply: new Date(from - 30_000).toISOString(),
        lastReply: new Date(from + 12_000).toISOString(),
        answeringAtStop: true,
      },
    ],
    blackoutMs: 1800,
  };
}

/** Writes records with a scripted clock; `tick(ms)` advances it. */
export class JournalScript {
  readonly stateDir: string;
  private clock = T0;
  private journal: Journal;

  constructor(plan: Plan, stateDir?: string) {
    this.stateDir = stateDir ?? mkdtempSync(join(tmpdir(), "handover-report-"));
    this.journal = Journal.open({ stateDir: this.stateDir, plan, now: () => new Date(this.clock) });
  }

  /** Reopens the journal with another plan, as `handover run --accept-plan-change` does (notes it, appends it). */
  replacePlan(plan: Plan): void {
    this.journal.close();
    this.journal = Journal.open({
      stateDir: this.stateDir,
      plan,
      acceptPlanChange: true,
      now: () => new Date(this.clock),
    });
  }

  tick(ms: number): this {
    this.clock += ms;
    return this;
  }

  get nowMs(): number {
    return this.clock;
  }

  add(entry: JournalEntry): JournalRecord {
    return this.journal.append(entry);
  }

  /** step-start, `ms` later step-done with the step's usual undo data. */
  ran(id: string, ms: number, attempt = 1): void {
    this.add({ type: "step-start", stepId: id, attempt });
    this.tick(ms);
    this.add({ type: "step-done", stepId: id, ...undoDataFor(id) });
    this.tick(100);
  }

  records(): readonly JournalRecord[] {
    return this.journal.all();
  }

  close(): void {
    this.journal.close();
  }

  remove(): void {
    this.close();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

const DURATIONS: Record<string, number> = {
  "warm.glance.images": 12_000,
  "freeze.apis": 3_000,
  "db.nova.import": 4_000,
  "data.glance.images": 2_000,
  "data.cinder.volumes": 30_000,
  "net.switch.mgmt": 1_500,
  "switch.canary.start": 500,
  "switch.canary.stop": 800,
};

export function completedRun(o: { canary?: boolean; stateDir?: string } = {}): JournalScript {
  const plan = reportPlan(o);
  const j = new JournalScript(plan, o.stateDir);
  j.add({ type: "run-start", concurrency: 1, resume: false });
  let moveStart = 0;
  for (const step of plan.steps) {
    if (step.id === "up.keystone.contract") {
      j.add({ type: "note", stepId: step.id, level: "warn", message: `contract ran early ${NASTY}` });
    }
    if (step.id === "net.switch.mgmt") moveStart = j.nowMs;
    if (step.id === "switch.canary.stop") {
      // The compute saw the address go dark 200 ms into the move, for 1.8 s.
      j.add({ type: "step-start", stepId: step.id, attempt: 1 });
      j.tick(DURATIONS[step.id]!);
      j.add({
        type: "step-done",
        stepId: step.id,
        verify: "no canary dir left",
        undoData: canaryStop(moveStart),
      });
      continue;
    }
    j.ran(step.id, DURATIONS[step.id] ?? 1_000);
  }
  j.add({ type: "run-end", outcome: "completed" });
  return j;
}

/** Ran up to svc.nova.upgrade-check, which failed; the steps after it never started. */
export function failedRun(): JournalScript {
  const plan = reportPlan();
  const j = new JournalScript(plan);
  j.add({ type: "run-start", concurrency: 1, resume: false });
  for (const step of plan.steps) {
    if (step.id === "svc.nova.upgrade-check") {
      j.add({ type: "step-start", stepId: step.id, attempt: 1 });
      j.tick(5_000);
      j.add({
        type: "step-failed",
        stepId: step.id,
        message: `nova: upgrade check FAILED (exit 2):\n${NASTY}`,
      });
      break;
    }
    j.ran(step.id, DURATIONS[step.id] ?? 1_000);
  }
  j.tick(50);
  j.add({ type: "run-end", outcome: "failed", message: `Step svc.nova.upgrade-check failed: ${NASTY}` });
  return j;
}

/** `failedRun`, then `handover rollback`: undoes everything newer than the irreversible contract step. */
export function rolledBack(): JournalScript {
  const plan = reportPlan({ contract: false });
  const j = new JournalScript(plan);
  j.add({ type: "run-start", concurrency: 1, resume: false });
  const done: string[] = [];
  for (const step of plan.steps) {
    if (step.id === "data.cinder.volumes") {
      j.add({ type: "step-start", stepId: step.id, attempt: 1 });
      j.tick(4_000);
      j.add({ type: "step-failed", stepId: step.id, message: "volume v2: dd failed" });
      break;
    }
    j.ran(step.id, DURATIONS[step.id] ?? 1_000);
    done.push(step.id);
  }
  j.add({ type: "run-end", outcome: "failed", message: "Step data.cinder.volumes failed" });
  j.tick(60_000);
  j.add({ type: "rollback-start" });
  for (const id of ["data.cinder.volumes", ...done.reverse()]) {
    j.add({ type: "undo-start", stepId: id });
    j.tick(500);
    j.add({ type: "undo-done", stepId: id });
  }
  j.add({ type: "rollback-end", complete: true, message: "Rollback complete: 12 step(s) undone." });
  return j;
}
