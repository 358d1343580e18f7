/**
 * Issues 4-6 on the real lab: `handover run --yes --plain` migrates the Victoria controller to Zed on the new one,
 * up to (not including) the address switch (switch: never); then `handover switch` moves the addresses and
 * `handover rollback` brings everything back to old. One uninterrupted run from the seeded snapshot, then
 * several assertions on the state it leaves: every database at its Zed head (each service's own tool says so),
 * the upgrade checks and the inventory comparison journaled as done, the iSCSI rows as they were (the lab's
 * portal does not change), and every old table unchanged (CHECKSUM TABLE before and after).
 *
 * It also saves new's end state (revisions + row counts) for crash-resume.test.ts to compare with, before the
 * switch and the rollback: afterwards old must be checksum-identical to the start, its addresses back, its APIs up.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Controllers } from "../../../src/cli/open-controllers.js";
import type { SqlReader } from "../../../src/discovery/sql.js";
import type { JournalRecord } from "../../../src/engine/journal.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { execIn, findHost } from "../../../lab/enter.js";
import { labDescribe } from "../setup/lab-context.js";
import {
  controllers,
  doneSteps,
  E2E_DIR,
  endState,
  handover,
  migrationAnswers,
  MOVED_ADDRESSES,
  movedAddressesHeld,
  oldApiImages,
  runningUnits,
  oldBaseline,
  oldChanges,
  phaseTimings,
  readJournal,
  resetLab,
  type HandoverResult,
} from "./e2e-helpers.js";

const SERVICES = ["keystone", "glance", "placement", "nova", "neutron", "cinder"];
/** A manage command on new as the service's user; stdout+stderr and the exit code. */
async function manage(host: SshHost, user: string, argv: string[]): Promise<{ code: number; out: string }> {
  const r = await host.exec(["su", "-s", "/bin/sh", "-c", argv.join(" "), user]);
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}` };
}

/** alembic heads of a migrations directory on new, from the installed Zed package itself. */
async function alembicHeads(host: SshHost, dir: string): Promise<string[]> {
  const py =
    "import sys\nfrom alembic.config import Config\nfrom alembic.script import ScriptDirectory\n" +
    "c = Config()\nc.set_main_option('script_location', sys.argv[1])\n" +
    "print(' '.join(sorted(ScriptDirectory.from_config(c).get_heads())))\n";
  const r = await host.run(["python3", "-c", py, dir]);
  return r.stdout.trim().split(/\s+/).filter(Boolean).sort();
}

async function alembicVersion(sql: SqlReader, db: string): Promise<string[]> {
  const rows = await sql.query(db, "SELECT version_num AS v FROM alembic_version");
  return rows.map((r) => String(r.v)).sort();
}

labDescribe("handover run: Victoria -> Zed on the lab, uninterrupted", () => {
  let ctl: Controllers;
  let oldSql: SqlReader;
  let newSql: SqlReader;
  let base: Awaited<ReturnType<typeof oldBaseline>>;
  let baseUnits: string[];
  let result: HandoverResult;
  let journal: JournalRecord[];
  let answers: string;
  let stateDir = "";

  beforeAll(async () => {
    const resetSeconds = await resetLab();
    const m = migrationAnswers("full-run");
    answers = m.answers;
    stateDir = m.stateDir;
    ctl = await controllers(answers);
    oldSql = await ctl.old.openSql();
    base = await oldBaseline(oldSql);
    baseUnits = await runningUnits(ctl.old.host);
    result = await handover(["run", "-f", answers, "--yes", "--plain"]);
    journal = readJournal(m.stateDir);
    newSql = await ctl.new.openSql();
    console.info(
      `lab reset ${resetSeconds.toFixed(1)} s; handover run ${result.seconds.toFixed(1)} s; per phase (s): ` +
        JSON.stringify(phaseTimings(journal)),
    );
  });

  afterAll(async () => {
    await newSql?.close();
    await oldSql?.close();
    await ctl?.close();
  });

  it("completes every step up to the services phase (provision, configs, freeze, databases, upgrade, data)", () => {
    const plan = journal.find((r) => r.type === "plan");
    const done = doneSteps(journal);
    const early = ["preflight", "provision", "warm", "configs", "freeze", "databases", "upgrade", "data"];
    const missing =
      plan?.type === "plan"
        ? plan.plan.steps.filter((s) => early.includes(s.phase) && !done.has(s.id)).map((s) => s.id)
        : ["<no plan record>"];
    expect(missing).toEqual([]);
  });

  it("exits 0 and the journal ends with a completed run", () => {
    expect(result.code, result.output.slice(-4000)).toBe(0);
    const end = journal.filter((r) => r.type === "run-end").at(-1);
    expect(end).toMatchObject({ type: "run-end", outcome: "completed" });
    // switch: never: no address moved.
    expect([...doneSteps(journal).keys()].filter((id) => id.startsWith("net.switch"))).toEqual([]);
  });

  it("pins compute RPC on the compute host too (issue 5): compute1's nova.conf says [upgrade_levels] compute = auto", () => {
    const r = execIn(findHost("compute1"), [
      "crudini",
      "--get",
      "/etc/nova/nova.conf",
      "upgrade_levels",
      "compute",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("auto");
  });

  it("keystone: db_sync --check says up to date (or only the deferred contract is left)", async () => {
    const r = await manage(ctl.new.host, "keystone", ["keystone-manage", "db_sync", "--check"]);
    expect([0, 4], r.out).toContain(r.code);
  });

  it("glance: db check passes and the schema is at the Zed head", async () => {
    const r = await manage(ctl.new.host, "glance", ["glance-manage", "db", "check"]);
    expect(r.code, r.out).toBe(0);
    const heads = await alembicHeads(
      ctl.new.host,
      "/usr/lib/python3/dist-packages/glance/db/sqlalchemy/alembic_migrations",
    );
    // glance's db sync runs expand, migrate and contract and records only the contract branch's head.
    expect(await alembicVersion(newSql, "glance")).toEqual(heads.filter((h) => h.includes("contract")));
  });

  it("neutron: every branch is at its head", async () => {
    const r = await manage(ctl.new.host, "neutron", [
      "neutron-db-manage",
      "--config-file",
      "/etc/neutron/neutron.conf",
      "current",
    ]);
    expect(r.code, r.out).toBe(0);
    const revs = r.out.split("\n").filter((l) => /^[0-9a-f]{6,}/.test(l.trim()));
    expect(revs.length, r.out).toBeGreaterThan(0);
    for (const l of revs) expect(l, r.out).toContain("(head)");
  });

  it("nova (api, main, cell0), cinder, placement: alembic revisions equal the installed Zed heads", async () => {
    const base = "/usr/lib/python3/dist-packages";
    const cases: [string, string][] = [
      ["nova_api", `${base}/nova/db/api/migrations`],
      ["nova", `${base}/nova/db/main/migrations`],
      ["nova_cell0", `${base}/nova/db/main/migrations`],
      ["cinder", `${base}/cinder/db/migrations`],
      ["placement", `${base}/placement/db/sqlalchemy/alembic`],
    ];
    for (const [db, dir] of cases) {
      const heads = await alembicHeads(ctl.new.host, dir);
      expect(heads.length, db).toBeGreaterThan(0);
      expect(await alembicVersion(newSql, db), db).toEqual(heads);
    }
    const v = await manage(ctl.new.host, "cinder", ["cinder-manage", "db", "version"]);
    expect(v.code, v.out).toBe(0);
    const n = await manage(ctl.new.host, "nova", ["nova-manage", "db", "version"]);
    expect(n.code, n.out).toBe(0);
  });

  it("records every service's `*-status upgrade check` on new, the API checks on old and new, and the inventory comparison, as done", () => {
    const done = doneSteps(journal);
    for (const s of SERVICES) {
      expect(done.has(`svc.${s}.upgrade-check`), s).toBe(true);
      expect(done.get(`svc.${s}.upgrade-check`), s).toBeTruthy();
    }
    expect(done.has("verify.inventory")).toBe(true);
    for (const s of [...SERVICES, "horizon"]) expect(done.has(`verify.${s}.api`), s).toBe(true);
    for (const s of SERVICES) expect(done.has(`pre.${s}.api`), s).toBe(true);
    expect(done.get("verify.glance.api")).toMatch(/downloaded, md5 matches/);
    console.info(
      `upgrade checks: ${SERVICES.map((s) => `${s}: ${done.get(`svc.${s}.upgrade-check`)}`).join("; ")}; ` +
        `inventory: ${done.get("verify.inventory")}`,
    );
  });

  it("leaves iSCSI connection_info naming the unchanged portal 198.18.0.4 (no rewrite planned)", async () => {
    const plan = journal.find((r) => r.type === "plan");
    expect(plan?.type === "plan" && plan.plan.steps.some((s) => s.id === "data.iscsi.connection-info")).toBe(
      false,
    );
    const bdm = await newSql.query(
      "nova",
      "SELECT connection_info AS c FROM block_device_mapping WHERE deleted = 0 AND connection_info LIKE ?",
      ["%target_portal%"],
    );
    const att = await newSql.query(
      "cinder",
      "SELECT connection_info AS c FROM volume_attachment WHERE deleted = 0 AND connection_info LIKE ?",
      ["%target_portal%"],
    );
    expect(bdm.length + att.length).toBeGreaterThan(0);
    for (const r of [...bdm, ...att]) {
      const info = JSON.parse(String(r.c)) as { data?: { target_portal?: string } };
      expect(info.data?.target_portal).toMatch(/^198\.18\.0\.4(:\d+)?$/);
    }
  });

  it("leaves every old table as it was (CHECKSUM TABLE before and after; heartbeat columns left out)", async () => {
    expect(await oldChanges(oldSql, base)).toEqual([]);
    expect(base.sums.size).toBeGreaterThan(50);
    expect(base.heartbeats.size).toBeGreaterThan(0);
    console.info(
      `old: ${base.sums.size} tables checksummed; changing by themselves in the baseline: ${base.live.join(", ")}`,
    );
    expect(base.live.length).toBeLessThan(base.sums.size / 10);
  });

  it("saves new's end state for the crash-resume test", async () => {
    const state = await endState(newSql);
    expect(Object.keys(state).length).toBeGreaterThan(100);
    mkdirSync(E2E_DIR, { recursive: true });
    writeFileSync(
      join(E2E_DIR, "uninterrupted-end-state.json"),
      JSON.stringify({ code: result.code, state }, null, 1),
    );
  });

  // Issue 6: the switch a `switch: never` run left for later, then rollback to the old controller as it was.
  it("`handover switch --yes` moves both addresses to new, measures the canary, and computes see new's MAC", async () => {
    expect(await movedAddressesHeld(ctl.old.host)).toEqual([...MOVED_ADDRESSES].sort());
    const sw = await handover(["switch", "-f", answers, "--yes", "--plain"]);
    expect(sw.code, sw.output.slice(-4000)).toBe(0);
    journal = readJournal(stateDir);
    const done = doneSteps(journal);
    for (const id of ["switch.old.stop", "net.switch.mgmt", "net.switch.storage", "switch.neighbours"])
      expect(done.has(id), id).toBe(true);
    expect(await movedAddressesHeld(ctl.new.host)).toEqual([...MOVED_ADDRESSES].sort());
    expect(await movedAddressesHeld(ctl.old.host)).toEqual([]);
    const canary = journal.find((r) => r.type === "step-done" && r.stepId === "switch.canary.stop");
    const blackout = canary?.type === "step-done" ? canary.undoData.blackoutMs : undefined;
    expect(typeof blackout).toBe("number");
    console.info(`switch ${sw.seconds.toFixed(1)} s; canary blackout ${Number(blackout)} ms`);
  });

  it("`handover rollback --yes` puts the addresses back, restarts old's services, and old answers as before", async () => {
    const rb = await handover(["rollback", "-f", answers, "--yes", "--plain"]);
    expect(rb.code, rb.output.slice(-4000)).toBe(0);
    // The lost-writes report comes before anything is undone (the switch above moved the addresses).
    expect(rb.output).toMatch(/No writes on the new controller since the switch|will be lost/);
    expect(rb.output.search(/No writes on the new controller|will be lost/)).toBeLessThan(
      rb.output.search(/undoing/),
    );
    expect(await movedAddressesHeld(ctl.old.host)).toEqual([...MOVED_ADDRESSES].sort());
    expect(await movedAddressesHeld(ctl.new.host)).toEqual([]);
    // Old's APIs answer through the moved address again (its own CLI, its own openrc).
    const api = await oldApiImages(ctl.old.host);
    expect(api.code, api.err).toBe(0);
    expect(api.lines).toBe(4);
    // Every unit that ran on old at the start runs again (a daemon started before the APIs it needs exits).
    expect(baseUnits.length).toBeGreaterThan(5);
    expect(await runningUnits(ctl.old.host)).toEqual(baseUnits);
    // The compute's pin is undone with the rest (the lab's nova.conf had none).
    const pin = execIn(findHost("compute1"), [
      "crudini",
      "--get",
      "/etc/nova/nova.conf",
      "upgrade_levels",
      "compute",
    ]);
    expect(pin.stdout.trim()).not.toBe("auto");
    const serving = /serving again after ([\d.]+) s/.exec(rb.output)?.[1];
    console.info(`rollback ${rb.seconds.toFixed(1)} s; old serving again after ${serving ?? "?"} s`);
  });

  it("after the rollback every old table is still as it was at the start", async () => {
    expect(await oldChanges(oldSql, base)).toEqual([]);
  });
});
