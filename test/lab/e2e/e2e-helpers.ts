/**
 * Shared by the end-to-end lab tests: bring the lab back to its seeded snapshot, write an answer file for one
 * migration (switch: never, its own state dir), run `handover` as a real child process (one node process, so
 * SIGKILL by its PID hits handover itself), watch its journal, and read both controllers' databases.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { ANSWERS_FILE } from "../../../lab/paths.js";
import { readState } from "../../../lab/state.js";
import { up } from "../../../lab/up.js";
import { loadAnswers } from "../../../src/answers/index.js";
import type { CliIo } from "../../../src/cli/io.js";
import {
  openControllers,
  resolveSecretsOrFail,
  type Controllers,
} from "../../../src/cli/open-controllers.js";
import { isPlainIdentifier, type SqlReader } from "../../../src/discovery/sql.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import type { JournalRecord } from "../../../src/engine/journal.js";
import { TEST_PAUSE_FILE_VAR, TEST_PAUSE_VAR, type PausePoint } from "../../../src/engine/test-pause.js";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const SCENARIOS = join(REPO, "test/lab/scenarios");
/** Everything these tests write on the jump (answer files, state dirs), removed with the lab's /run tree. */
export const E2E_DIR = "/run/handover-lab/e2e";

/** The seven OpenStack databases the lab's Victoria controller holds (placement has its own). */
export const DATABASES = [
  "keystone",
  "glance",
  "placement",
  "nova_api",
  "nova",
  "nova_cell0",
  "neutron",
  "cinder",
] as const;

/** Back to the freshly seeded lab (same computes), with `scenario` (default: basic). Returns seconds taken. */
export async function resetLab(scenario?: string): Promise<number> {
  const t0 = Date.now();
  const state = readState();
  await up({ computes: state?.computes ?? 1, scenario: scenario ?? join(SCENARIOS, "basic"), force: true });
  return (Date.now() - t0) / 1000;
}

/**
 * A copy of the lab's answer file for one migration: its own state dir, and the address switch left out
 * (switch: never; issue 4 ends before the switch). Mode 0600 like the original. Returns its path.
 */
export function migrationAnswers(
  name: string,
  o: { switch?: "auto" | "confirm" | "never" } = {},
): { answers: string; stateDir: string } {
  // Everything as the lab wrote it, with its own state dir; switch: never unless asked.
  const doc = YAML.parse(readFileSync(ANSWERS_FILE, "utf8")) as Record<string, unknown>;
  const stateDir = join(E2E_DIR, name, "state");
  rmSync(join(E2E_DIR, name), { recursive: true, force: true });
  mkdirSync(join(E2E_DIR, name), { recursive: true, mode: 0o700 });
  doc.state_dir = stateDir;
  doc.options = { ...(doc.options as Record<string, unknown>), switch: o.switch ?? "never" };
  const answers = join(E2E_DIR, name, "answers.yaml");
  writeFileSync(answers, YAML.stringify(doc), { mode: 0o600 });
  return { answers, stateDir };
}

export function journalPath(stateDir: string): string {
  return join(stateDir, "journal.jsonl");
}

/** Every complete record of a journal (a torn last line, as SIGKILL can leave, is ignored). */
export function readJournal(stateDir: string): JournalRecord[] {
  const p = journalPath(stateDir);
  if (!existsSync(p)) return [];
  const out: JournalRecord[] = [];
  for (const line of readFileSync(p, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      // torn tail
    }
  }
  return out;
}

export interface HandoverResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly seconds: number;
  /** Set when killWhen fired: the record that triggered the kill. */
  readonly killedAfter?: JournalRecord;
}

export interface RunOptions {
  /** Journal of the migration, watched when killWhen is given. */
  readonly stateDir?: string;
  /**
   * Called with each NEW journal record (appended after this child started); returns true to SIGKILL the
   * child, after `killDelayMs`.
   */
  readonly killWhen?: (rec: JournalRecord) => boolean;
  readonly killDelayMs?: number;
}

/**
 * `handover ARGS` as a child: `node --import tsx src/cli/main.ts` is ONE process (npx would put npm and tsx's
 * launcher in between, and SIGKILL of those would leave handover running), killed by its own PID.
 */
export function handover(args: readonly string[], o: RunOptions = {}): Promise<HandoverResult> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (output += d.toString("utf8")));
  let killedAfter: JournalRecord | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (o.killWhen && o.stateDir) {
    const seen = readJournal(o.stateDir).length;
    const watch = o.killWhen;
    const stateDir = o.stateDir;
    timer = setInterval(() => {
      if (killedAfter) return;
      const recs = readJournal(stateDir).slice(seen);
      const hit = recs.find(watch);
      if (!hit) return;
      killedAfter = hit;
      setTimeout(() => {
        if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGKILL");
      }, o.killDelayMs ?? 0);
    }, 50);
  }
  return new Promise((res, rej) => {
    child.on("error", rej);
    child.on("close", (code, signal) => {
      if (timer) clearInterval(timer);
      res({
        code,
        signal,
        output,
        seconds: (Date.now() - t0) / 1000,
        ...(killedAfter ? { killedAfter } : {}),
      });
    });
  });
}

export interface PausedRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly seconds: number;
  /** The hook's marker, when the pause was reached. */
  readonly marker?: { stepId: string; point: string; pid: number; journalSeq: number };
  /** The journal as it was when the kill was sent. */
  readonly journalAtKill: JournalRecord[];
}

/**
 * `handover ARGS` with the engine's test pause (src/engine/test-pause.ts) at `k`: SIGKILLed by its own PID once the marker file appears. Ends by
 * itself only when the pause is never reached (the caller fails on that). One node process, as handover() in
 * e2e-helpers starts it, so the kill hits handover itself.
 */
export function runPausedAt(
  args: readonly string[],
  stateDir: string,
  k: { readonly stepId: string; readonly point: PausePoint },
  marker: string,
): Promise<PausedRun> {
  rmSync(marker, { force: true });
  const t0 = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), ...args], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NO_COLOR: "1",
      [TEST_PAUSE_VAR]: `${k.stepId}:${k.point}`,
      [TEST_PAUSE_FILE_VAR]: marker,
    },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (output += d.toString("utf8")));
  let found: PausedRun["marker"];
  let journalAtKill: JournalRecord[] = [];
  const timer = setInterval(() => {
    if (found || !existsSync(marker)) return;
    // Written atomically by the hook (rename), so it is complete once it exists.
    found = JSON.parse(readFileSync(marker, "utf8")) as NonNullable<PausedRun["marker"]>;
    journalAtKill = readJournal(stateDir);
    if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGKILL");
  }, 100);
  return new Promise((res, rej) => {
    child.on("error", rej);
    child.on("close", (code, signal) => {
      clearInterval(timer);
      res({
        code,
        signal,
        output,
        seconds: (Date.now() - t0) / 1000,
        journalAtKill,
        ...(found ? { marker: found } : {}),
      });
    });
  });
}

/** The step's last start, and whether a step-done followed it. */
export function startedNotDone(
  records: readonly JournalRecord[],
  stepId: string,
): { started: boolean; done: boolean } {
  let lastStart = -1;
  records.forEach((r, i) => {
    if (r.type === "step-start" && r.stepId === stepId) lastStart = i;
  });
  const done = records.slice(lastStart + 1).some((r) => r.type === "step-done" && r.stepId === stepId);
  return { started: lastStart >= 0, done };
}

/** The lab's addresses a switch moves (management, storage), as the lab's answer file lists them. */
export const MOVED_ADDRESSES = ["198.51.100.4", "198.18.0.4"] as const;

/**
 * Which of the moved addresses a controller holds, sorted; on interfaces other than lo unless `loopback` (new
 * holds them on lo as /32 aliases, net.local-alias, between its services phase and the switch).
 */
export async function movedAddressesHeld(host: SshHost, o: { loopback?: boolean } = {}): Promise<string[]> {
  const r = await host.run(["ip", "-j", "addr", "show"]);
  const links = JSON.parse(r.stdout) as { ifname: string; addr_info: { local: string }[] }[];
  const moved: readonly string[] = MOVED_ADDRESSES;
  return links
    .filter((l) => o.loopback === true || l.ifname !== "lo")
    .flatMap((l) => l.addr_info.map((a) => a.local))
    .filter((a) => moved.includes(a))
    .sort();
}

/** Old's own CLI with its own openrc, through the moved address: token, then the image list. */
export async function oldApiImages(old: SshHost): Promise<{ code: number; lines: number; err: string }> {
  const r = await old.exec([
    "sh",
    "-c",
    ". /root/openrc && openstack token issue -f value -c id >/dev/null && openstack image list -f value -c ID",
  ]);
  return { code: r.exitCode, lines: r.stdout.trim().split("\n").filter(Boolean).length, err: r.stderr };
}

/**
 * The OpenStack units the lab's old controller runs (Debian Victoria: the APIs handover's freeze stops, the
 * daemons freeze.old.daemons stops, the iSCSI target the switch stops). A rollback must leave each one as it
 * found it: a daemon started before the APIs it needs at start-up (nova-conductor asks keystone for placement's
 * endpoint) exits a second later, while its init script reported success.
 */
export const OLD_UNITS = [
  "keystone",
  "glance-api",
  "placement-api",
  "nova-api",
  "nova-conductor",
  "nova-scheduler",
  "neutron-api",
  "neutron-rpc-server",
  "cinder-api",
  "cinder-scheduler",
  "cinder-volume",
  "tgt",
] as const;

/** Which of OLD_UNITS run on `host` now (`service X status` exit 0), sorted. */
export async function runningUnits(host: SshHost): Promise<string[]> {
  const r = await host.exec([
    "sh",
    "-c",
    'for u in "$@"; do service "$u" status >/dev/null 2>&1 && echo "$u"; done; exit 0',
    "sh",
    ...OLD_UNITS,
  ]);
  return r.stdout.split("\n").filter(Boolean).sort();
}

function silentIo(): CliIo {
  return { stdout: () => {}, stderr: () => {}, env: process.env, cwd: process.cwd(), isTTY: false };
}

/** SSH + MySQL to both controllers from an answer file (as `handover` opens them). */
export async function controllers(answersPath: string): Promise<Controllers> {
  const loaded = await loadAnswers(answersPath);
  const secrets = await resolveSecretsOrFail(loaded, silentIo(), dirname(answersPath));
  return openControllers(loaded.answers, secrets, silentIo());
}

/** `db.table` -> CHECKSUM TABLE value, for every base table outside the system schemas (as test/lab/plan). */
export async function checksums(sql: SqlReader): Promise<Map<string, string>> {
  const tables = await sql.query(
    undefined,
    "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' " +
      "AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2",
  );
  const names = tables.map((r) => `${String(r.db)}.${String(r.tbl)}`);
  const out = new Map<string, string>();
  // CHECKSUM TABLE takes identifiers, not parameters: only plain names (all OpenStack tables are) are quoted in.
  for (let i = 0; i < names.length; i += 50) {
    const batch = names.slice(i, i + 50).filter((n) => n.split(".").every(isPlainIdentifier));
    if (batch.length === 0) continue;
    const list = batch
      .map((n) =>
        n
          .split(".")
          .map((p) => `\`${p}\``)
          .join("."),
      )
      .join(", ");
    for (const r of await sql.query(undefined, `CHECKSUM TABLE ${list}`)) {
      out.set(String(r.Table), String(r.Checksum));
    }
  }
  return out;
}

/**
 * Tables the running daemons of old keep writing by themselves (service heartbeats), and those columns. Their
 * CHECKSUM TABLE changes with every report (cinder's report_interval can exceed the 12 s baseline window), so
 * they are compared without these columns: every other column of every row must be unchanged.
 */
export const HEARTBEATS: Readonly<Record<string, readonly string[]>> = {
  "nova.services": ["updated_at", "report_count", "last_seen_up"],
  "nova_cell0.services": ["updated_at", "report_count", "last_seen_up"],
  "cinder.services": ["updated_at", "report_count"],
  "neutron.agents": ["heartbeat_timestamp"],
};

/** `db.table` -> row count and combined md5 of every row without its heartbeat columns (HEARTBEATS tables). */
export async function heartbeatFreeSums(sql: SqlReader): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, skip] of Object.entries(HEARTBEATS)) {
    const [db, tbl] = name.split(".") as [string, string];
    const cols = await sql.query(
      undefined,
      "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
      [db, tbl],
    );
    const keep = cols.map((r) => String(r.c)).filter((c) => !skip.includes(c) && isPlainIdentifier(c));
    if (keep.length === 0) continue;
    const row = keep.map((c) => `IFNULL(\`${c}\`, '<null>')`).join(", ");
    // Per-row md5, combined order-independently (GROUP_CONCAT would be cut at group_concat_max_len).
    const [r] = await sql.query(
      db,
      `SELECT COUNT(*) AS n, BIT_XOR(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', ${row})), 1, 16), 16, 10) AS UNSIGNED)) AS h FROM \`${tbl}\``,
    );
    out.set(name, `${String(r?.n)}:${String(r?.h)}`);
  }
  return out;
}

export function changedKeys(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

/**
 * Checksums of old with the tables the lab's running daemons write on their own (heartbeats) listed apart:
 * two readings 12 s apart, as test/lab/plan/discovery.test.ts does.
 */
export async function oldBaseline(
  sql: SqlReader,
): Promise<{ sums: Map<string, string>; live: string[]; heartbeats: Map<string, string> }> {
  const first = await checksums(sql);
  await new Promise((r) => setTimeout(r, 12_000));
  const sums = await checksums(sql);
  return { sums, live: changedKeys(first, sums), heartbeats: await heartbeatFreeSums(sql) };
}

/**
 * Old tables whose content changed between `base` and now: CHECKSUM TABLE for every table except the
 * heartbeat tables (and tables seen changing by themselves in the baseline), which are compared without their
 * heartbeat columns instead.
 */
export async function oldChanges(
  sql: SqlReader,
  base: { sums: Map<string, string>; live: string[]; heartbeats: Map<string, string> },
): Promise<string[]> {
  const after = await checksums(sql);
  const hb = await heartbeatFreeSums(sql);
  const whole = changedKeys(base.sums, after).filter((t) => !(t in HEARTBEATS) && !base.live.includes(t));
  return [...whole, ...changedKeys(base.heartbeats, hb).map((t) => `${t} (without heartbeat columns)`)];
}

/**
 * What a migration leaves on new, to compare two runs: each database's schema revision rows (alembic_version,
 * migrate_version) and the row count of every table.
 */
export async function endState(sql: SqlReader): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tables = await sql.query(
    undefined,
    "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' " +
      `AND TABLE_SCHEMA IN (${DATABASES.map(() => "?").join(", ")}) ORDER BY 1, 2`,
    [...DATABASES],
  );
  for (const r of tables) {
    const db = String(r.db);
    const tbl = String(r.tbl);
    if (!isPlainIdentifier(db) || !isPlainIdentifier(tbl)) continue;
    const [c] = await sql.query(db, `SELECT COUNT(*) AS n FROM \`${tbl}\``);
    out[`${db}.${tbl} rows`] = String(c?.n);
    if (tbl === "alembic_version") {
      const v = await sql.query(db, "SELECT version_num AS v FROM alembic_version ORDER BY 1");
      out[`${db} alembic`] = v.map((x) => String(x.v)).join(",");
    }
    if (tbl === "migrate_version") {
      const v = await sql.query(
        db,
        "SELECT repository_id AS r, version AS v FROM migrate_version ORDER BY 1",
      );
      out[`${db} migrate`] = v.map((x) => `${String(x.r)}@${String(x.v)}`).join(",");
    }
  }
  return out;
}

/** Seconds per phase from a journal: first step-start to last step-done of the phase's steps. */
export function phaseTimings(records: readonly JournalRecord[]): Record<string, number> {
  const plan = records.find((r) => r.type === "plan");
  if (!plan || plan.type !== "plan") return {};
  const phaseOf = new Map(plan.plan.steps.map((s) => [s.id, s.phase]));
  const span = new Map<string, [number, number]>();
  for (const r of records) {
    if (r.type !== "step-start" && r.type !== "step-done") continue;
    const ph = phaseOf.get(r.stepId);
    if (!ph) continue;
    const t = Date.parse(r.at);
    const s = span.get(ph) ?? [t, t];
    span.set(ph, [Math.min(s[0], t), Math.max(s[1], t)]);
  }
  return Object.fromEntries([...span].map(([k, [a, b]]) => [k, Math.round((b - a) / 100) / 10]));
}

export function doneSteps(records: readonly JournalRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records) if (r.type === "step-done") out.set(r.stepId, r.verify);
  return out;
}
