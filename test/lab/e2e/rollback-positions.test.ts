/**
 * Issue 6: rollback works from any point before finalize, including after a crash mid-switch, and leaves the old
 * controller exactly as it was; and a migration can be run again after a rollback.
 *
 * One migration (switch: auto) on the lab, SIGKILLed at three positions that leave different things to undo, each
 * followed by `handover rollback --yes`:
 *   1. the freeze started (nothing of it done): new provisioned, the warm copies made, the run's key on old;
 *   2. nova's API started on new and the compute pinned (old frozen, databases imported and upgraded);
 *   3. mid-switch: the management address moved to new on the hosts, its step not yet journaled done.
 * After each rollback: old's tables checksum-identical to the start (heartbeat columns aside), old's configs,
 * root's authorized_keys and the compute's nova.conf byte-identical, both addresses on old and none on new, and
 * old's APIs answer through the moved address with its own openrc. Then `handover run` again, uninterrupted, to a
 * completed switch; old's tables are still as they were at the start.
 *
 * The kills use the engine's test pause (as crash-resume.test.ts): deterministic, the step started and not done.
 * Every position between these is covered by the engine's unit tests (test/unit/engine/faults.test.ts: rollback
 * from a crash at every journal write, and after a failure at every mutation, with fake hosts); on the lab each
 * position costs a provisioning (rollback purges what it installed), so three are chosen for what they leave.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { execIn, findHost } from "../../../lab/enter.js";
import type { Controllers } from "../../../src/cli/open-controllers.js";
import type { SqlReader } from "../../../src/discovery/sql.js";
import type { PausePoint } from "../../../src/engine/test-pause.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { labDescribe } from "../setup/lab-context.js";
import {
  controllers,
  doneSteps,
  E2E_DIR,
  handover,
  migrationAnswers,
  MOVED_ADDRESSES,
  movedAddressesHeld,
  oldApiImages,
  runningUnits,
  oldBaseline,
  oldChanges,
  readJournal,
  resetLab,
  runPausedAt,
  startedNotDone,
  type HandoverResult,
  type PausedRun,
} from "./e2e-helpers.js";

interface Position {
  readonly name: string;
  readonly stepId: string;
  readonly point: PausePoint;
  /** Steps the journal must show done at the kill: what this position leaves for rollback to undo. */
  readonly doneAtKill: readonly string[];
}

const POSITIONS: readonly Position[] = [
  {
    // The freeze's step started, nothing of it done: everything before it (provisioning, the warm copies, the
    // run's key on old) is. Not a warm pass's after-run: with the fast warm copy, that kill landed while
    // `service rabbitmq-server start` still ran on new, a different case (see the issue notes).
    name: "everything before the freeze done, the freeze started",
    stepId: "freeze.apis",
    point: "before-run",
    doneAtKill: [
      "prov.packages",
      "prov.rabbitmq.start",
      "warm.temp-key",
      "warm.glance.images",
      "warm.cinder.volumes",
    ],
  },
  {
    // The compute pin needs only nova's rewritten config, so it is done well before the freeze.
    name: "nova's API started on new, the compute pinned, old frozen",
    stepId: "svc.nova.start.nova-api",
    point: "after-run",
    doneAtKill: [
      "freeze.apis",
      "db.nova.import",
      "up.nova.db-sync",
      "svc.nova.start.nova-conductor",
      "svc.nova.pin-computes",
    ],
  },
  {
    // The move is made and not journaled done: rollback must undo it from what it checkpointed. The storage
    // move may run beside it (no shared resource), so at the kill it is done, running or not started.
    name: "mid-switch: management address moved on the hosts, not yet journaled",
    stepId: "net.switch.mgmt",
    point: "after-run",
    doneAtKill: ["switch.old.stop", "switch.cinder.volumes", "switch.db.snapshot"],
  },
];

/** Config trees of old that handover reads (and must never change), with root's authorized_keys. */
const OLD_FILES =
  "find /etc/keystone /etc/glance /etc/placement /etc/nova /etc/neutron /etc/cinder /etc/openstack-dashboard " +
  "/root/.ssh/authorized_keys -type f -print0 | sort -z | xargs -0 sha256sum";

async function oldFiles(old: SshHost): Promise<string> {
  const r = await old.exec(["sh", "-c", OLD_FILES]);
  if (r.exitCode !== 0) throw new Error(`old's file checksums failed: ${r.stderr}`);
  return r.stdout;
}

function computeNovaConf(): string {
  return execIn(findHost("compute1"), ["sha256sum", "/etc/nova/nova.conf"]).stdout;
}

interface Outcome {
  readonly position: Position;
  readonly paused: PausedRun;
  readonly rollback: HandoverResult;
  readonly oldChanged: string[];
  readonly filesSame: boolean;
  readonly computeSame: boolean;
  readonly oldHolds: string[];
  readonly newHolds: string[];
  readonly api: { code: number; lines: number; err: string };
  readonly units: string[];
}

labDescribe("rollback from several positions (killed there), then a full run again", () => {
  let ctl: Controllers;
  let oldSql: SqlReader;
  let base: Awaited<ReturnType<typeof oldBaseline>>;
  let baseFiles: string;
  let baseCompute: string;
  let baseImages: number;
  let baseUnits: string[];
  const outcomes: Outcome[] = [];
  let again: HandoverResult;
  let answers: string;
  let stateDir: string;

  beforeAll(async () => {
    await resetLab();
    const m = migrationAnswers("rollback-positions", { switch: "auto" });
    answers = m.answers;
    stateDir = m.stateDir;
    ctl = await controllers(answers);
    oldSql = await ctl.old.openSql();
    base = await oldBaseline(oldSql);
    baseFiles = await oldFiles(ctl.old.host);
    baseCompute = computeNovaConf();
    baseImages = (await oldApiImages(ctl.old.host)).lines;
    baseUnits = await runningUnits(ctl.old.host);

    const args = ["run", "-f", answers, "--yes", "--plain"];
    for (const [i, position] of POSITIONS.entries()) {
      const paused = await runPausedAt(args, stateDir, position, join(E2E_DIR, `rollback-pause-${i}.json`));
      const rollback = await handover(["rollback", "-f", answers, "--yes", "--plain"]);
      outcomes.push({
        position,
        paused,
        rollback,
        oldChanged: await oldChanges(oldSql, base),
        filesSame: (await oldFiles(ctl.old.host)) === baseFiles,
        computeSame: computeNovaConf() === baseCompute,
        oldHolds: await movedAddressesHeld(ctl.old.host),
        newHolds: await movedAddressesHeld(ctl.new.host, { loopback: true }),
        api: await oldApiImages(ctl.old.host),
        units: await runningUnits(ctl.old.host),
      });
      const serving = /serving again after ([\d.]+) s/.exec(rollback.output)?.[1];
      console.info(
        `${position.stepId}:${position.point}: killed after ${paused.seconds.toFixed(1)} s; rollback ` +
          `${rollback.seconds.toFixed(1)} s (old serving again after ${serving ?? "-"} s)`,
      );
      // A position never reached, or a failed rollback, ends the chain: the rest would test nothing.
      if (!paused.marker || rollback.code !== 0) break;
    }
    again = await handover(args);
    console.info(`run again after the rollbacks: ${again.seconds.toFixed(1)} s, exit ${again.code}`);
  });

  afterAll(async () => {
    await oldSql?.close();
    await ctl?.close();
  });

  it("was killed at every position with what it leaves to undo done", () => {
    expect(outcomes.map((o) => o.position.name)).toEqual(POSITIONS.map((p) => p.name));
    for (const { position, paused } of outcomes) {
      const why = `${position.name}:\n${paused.output.slice(-3000)}`;
      expect(paused.marker, why).toMatchObject({ stepId: position.stepId, point: position.point });
      expect(paused.signal, why).toBe("SIGKILL");
      expect(startedNotDone(paused.journalAtKill, position.stepId), why).toEqual({
        started: true,
        done: false,
      });
      const done = doneSteps(paused.journalAtKill);
      for (const id of position.doneAtKill) expect(done.has(id), `${position.name}: ${id} done`).toBe(true);
    }
  });

  it("each rollback completes and reports every step undone", () => {
    for (const { position, rollback } of outcomes) {
      const why = `${position.name}:\n${rollback.output.slice(-4000)}`;
      expect(rollback.code, why).toBe(0);
      expect(rollback.output, why).toContain("Rollback complete");
    }
  });

  it("the rollback after the kill mid-switch brings old's services and addresses back first", () => {
    const mid = outcomes.find((o) => o.position.stepId === "net.switch.mgmt");
    expect(mid, "the mid-switch position was reached").toBeDefined();
    expect(mid!.rollback.output).toMatch(/serving again after [\d.]+ s/);
  });

  it("after each rollback old's tables, configs and authorized_keys, and the compute's nova.conf are as at the start", () => {
    expect(outcomes).toHaveLength(POSITIONS.length);
    for (const o of outcomes) {
      expect(o.oldChanged, o.position.name).toEqual([]);
      expect(o.filesSame, `${o.position.name}: old's configs and authorized_keys`).toBe(true);
      expect(o.computeSame, `${o.position.name}: compute1's nova.conf`).toBe(true);
    }
  });

  it("after each rollback both addresses are on old, none on new, and old's APIs and daemons run again", () => {
    expect(outcomes).toHaveLength(POSITIONS.length);
    expect(baseUnits.length).toBeGreaterThan(5);
    for (const o of outcomes) {
      expect(o.oldHolds, o.position.name).toEqual([...MOVED_ADDRESSES].sort());
      expect(o.newHolds, o.position.name).toEqual([]);
      expect(o.api.code, `${o.position.name}: ${o.api.err}`).toBe(0);
      expect(o.api.lines, o.position.name).toBe(baseImages);
      // Every unit that ran on old at the start runs again (a daemon started before the APIs it needs exits).
      expect(o.units, `${o.position.name}: units running on old`).toEqual(baseUnits);
    }
  });

  it("a run after the rollbacks completes with the switch, and old's tables are still as at the start", async () => {
    expect(again.code, again.output.slice(-4000)).toBe(0);
    const journal = readJournal(stateDir);
    expect(journal.filter((r) => r.type === "run-end").at(-1)).toMatchObject({ outcome: "completed" });
    expect(doneSteps(journal).has("switch.neighbours")).toBe(true);
    expect(await movedAddressesHeld(ctl.new.host)).toEqual([...MOVED_ADDRESSES].sort());
    expect(await oldChanges(oldSql, base)).toEqual([]);
  });
});
