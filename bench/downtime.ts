/**
 * `npm run bench:downtime` (issue 6): control-plane downtime (freeze -> verified on new after the switch) of
 * handover's full lab migration against a literal sequential script of seed 002's commands
 * (bench/seed-002/migrate.sh), on the same lab in the same run. Goal: handover <= 0.5x the script.
 *
 *  1. handover: lab reset to the seeded snapshot; `handover run --yes --plain` with switch: auto on a copy of the
 *     lab's answers (own state dir). Downtime = the journal's step-start of the freeze phase's first step ->
 *     step-done of switch.verify (the computes report to new; without it in the plan, the switch phase's last
 *     step). Also: the canary's blackout, and `handover rollback --yes` (wall time, and from the journal when the
 *     addresses and old's APIs were back).
 *  2. seed 002: lab reset; handover's provisioning (new installed, services stopped, databases and users made:
 *     before the freeze for both, so not downtime) by `handover run` paused at the freeze's first step with the
 *     engine's test hook (HANDOVER_TEST_PAUSE=<step>:before-run) and SIGKILLed there (the journal is watched
 *     too, as crash-resume.test.ts does); then migrate.sh, whose `T freeze` -> `T verified` is its downtime.
 *  3. A table and the ratio. Nothing is written into docs (the lead does).
 *
 * Needs root and the lab up (`npm run lab -- up`). Leaves the lab as the seed script left it (migrated, addresses
 * on new): `npm run lab -- reset` afterwards. Logs of both runs: /run/handover-lab/e2e/bench-downtime-*.
 * Options: --only handover|seed; --concurrency N (handover's run and rollback; default: the lab answers'); --stop-old (the script also stops the old services handover's switch.old.stop
 * stops, right before its switch: "the old controller is turned off").
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadAnswers } from "../src/answers/index.js";
import type { SecretRef } from "../src/answers/schema.js";
import type { JournalRecord } from "../src/engine/journal.js";
// The engine's test hook: pause at a step, write a marker, wait to be killed.
import { TEST_PAUSE_FILE_VAR, TEST_PAUSE_VAR } from "../src/engine/test-pause.js";
import { NEW_MYSQL_PASS_FILE, OLD_MYSQL_PASS_FILE } from "../lab/paths.js";
import {
  E2E_DIR,
  REPO,
  handover,
  journalPath,
  migrationAnswers,
  readJournal,
  resetLab,
  type HandoverResult,
} from "../test/lab/e2e/e2e-helpers.js";
import {
  handoverDowntime,
  lastPlan,
  markSpan,
  parseScriptOutput,
  rollbackFigures,
  secs,
  table,
  type HandoverDowntime,
  type RollbackFigures,
  type ScriptFigures,
} from "./downtime-figures.js";

const SCRIPT = join(REPO, "bench/seed-002/migrate.sh");
/** handover's freeze step in the lab's plan (src/plan/build.ts): where the provisioning-only run is paused. */
const FREEZE_STEP = "freeze.apis";

function log(text: string): void {
  console.log(`[bench] ${text}`);
}

function saveLog(name: string, text: string, file = "output.log"): string {
  const p = join(E2E_DIR, name, file);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

/**
 * A copy of the measured run's journal outside the lab's run dir (the seed side's lab reset wipes that), for
 * `npx tsx bench/critical-path.ts FILE`: where the window and the rollback spent their time.
 */
function keepJournal(stateDir: string): void {
  const dir = "/var/tmp/handover-bench";
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const to = join(dir, `downtime-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
  copyFileSync(journalPath(stateDir), to);
  log(`journal kept: ${to} (npx tsx bench/critical-path.ts ${to})`);
}

function tail(text: string, n = 40): string {
  return text.split("\n").slice(-n).join("\n");
}

function secretFile(ref: SecretRef, answersPath: string, fallback: string): string {
  if (typeof ref === "object" && "file" in ref)
    return isAbsolute(ref.file) ? ref.file : resolve(dirname(answersPath), ref.file);
  return fallback;
}

interface HandoverSide {
  readonly run: HandoverResult;
  readonly downtime: HandoverDowntime | string;
  readonly rollback?: { readonly result: HandoverResult; readonly figures: RollbackFigures | string };
}

async function handoverSide(extra: readonly string[]): Promise<HandoverSide> {
  log(`lab reset: ${(await resetLab()).toFixed(1)} s`);
  const name = "bench-downtime-handover";
  const m = migrationAnswers(name, { switch: "auto" });
  log(`handover run (switch: auto), answers ${m.answers}`);
  const run = await handover(["run", "-f", m.answers, "--yes", "--plain", ...extra]);
  log(
    `handover run exited ${run.code ?? run.signal} after ${run.seconds.toFixed(1)} s; output: ${saveLog(name, run.output)}`,
  );
  const downtime = handoverDowntime(readJournal(m.stateDir));
  if (run.code !== 0) {
    console.log(tail(run.output));
    return { run, downtime: `handover run failed (exit ${run.code ?? run.signal})` };
  }
  log("handover rollback --yes");
  const rb = await handover(["rollback", "-f", m.answers, "--yes", "--plain", ...extra]);
  saveLog(name, rb.output, "rollback.log");
  log(`handover rollback exited ${rb.code ?? rb.signal} after ${rb.seconds.toFixed(1)} s`);
  if (rb.code !== 0) console.log(tail(rb.output));
  keepJournal(m.stateDir);
  return { run, downtime, rollback: { result: rb, figures: rollbackFigures(readJournal(m.stateDir)) } };
}

interface SeedSide {
  readonly provision?: HandoverResult;
  readonly figures?: ScriptFigures;
  readonly code?: number | null;
  readonly error?: string;
}

/** handover up to (not including) its freeze: provisioning, warm copies, the API checks on old. */
async function provisionOnly(
  name: string,
): Promise<{ result: HandoverResult; answers: string; records: JournalRecord[] } | string> {
  const m = migrationAnswers(name, { switch: "auto" });
  const marker = join(E2E_DIR, name, "paused");
  let freezeIds = new Set<string>([FREEZE_STEP]);
  // The hook pauses the engine right after it journals the freeze step's start; the journal watcher kills it
  // there. Without the hook (or with another freeze step id) the watcher alone kills at the step-start: racy,
  // which the checkpoint check below catches.
  process.env[TEST_PAUSE_VAR] = `${FREEZE_STEP}:before-run`;
  process.env[TEST_PAUSE_FILE_VAR] = marker;
  let pending: Promise<HandoverResult>;
  try {
    pending = handover(["run", "-f", m.answers, "--yes", "--plain"], {
      stateDir: m.stateDir,
      killWhen: (r) => {
        if (r.type === "plan")
          freezeIds = new Set(r.plan.steps.filter((s) => s.phase === "freeze").map((s) => s.id));
        return r.type === "step-start" && freezeIds.has(r.stepId);
      },
      killDelayMs: 0,
    });
  } finally {
    // spawn() copied the environment synchronously; nothing else in this process may see the hook.
    delete process.env[TEST_PAUSE_VAR];
    delete process.env[TEST_PAUSE_FILE_VAR];
  }
  const result = await pending;
  saveLog(name, result.output);
  const records = readJournal(m.stateDir);
  if (result.signal !== "SIGKILL" || result.killedAfter?.type !== "step-start") {
    console.log(tail(result.output));
    return `handover's provisioning run ended (exit ${result.code ?? result.signal}) before its freeze`;
  }
  const frozen = records.filter(
    (r) => (r.type === "step-checkpoint" || r.type === "step-done") && freezeIds.has(r.stepId),
  );
  if (frozen.length > 0) {
    return `handover's ${[...freezeIds].join(", ")} began before the kill (old's APIs may be stopped): run again`;
  }
  return { result, answers: m.answers, records };
}

async function seedSide(stopOld: boolean): Promise<SeedSide> {
  log(`lab reset: ${(await resetLab()).toFixed(1)} s`);
  const name = "bench-downtime-seed";
  log("handover run up to its freeze (provisioning new; not downtime for either side)");
  const p = await provisionOnly(name);
  if (typeof p === "string") return { error: p };
  log(`provisioned in ${p.result.seconds.toFixed(1)} s (killed at ${FREEZE_STEP})`);
  const a = (await loadAnswers(p.answers)).answers;
  const steps = lastPlan(p.records);
  const freezeUnits = steps.find((s) => s.kind === "freeze.stop-apis")?.params.units;
  const oldUnits = steps.find((s) => s.id === "switch.old.stop")?.params.units;
  const words = (v: unknown): string | undefined =>
    Array.isArray(v) && v.every((x) => typeof x === "string") ? v.join(" ") : undefined;
  const compute = a.computes.hosts[0]?.ssh.address;
  const env: Record<string, string> = {
    SEED_OLD: a.controllers.old.ssh.address,
    SEED_NEW: a.controllers.new.ssh.address,
    SEED_COMPUTE: compute ?? "",
    SEED_SSH_KEY: a.controllers.old.ssh.key_file ?? "",
    SEED_KNOWN_HOSTS: a.controllers.old.ssh.known_hosts ?? "",
    SEED_OLD_MYSQL_PASS_FILE: secretFile(a.controllers.old.mysql.password, p.answers, OLD_MYSQL_PASS_FILE),
    SEED_NEW_MYSQL_PASS_FILE: secretFile(a.controllers.new.mysql.password, p.answers, NEW_MYSQL_PASS_FILE),
    SEED_SERVICES: a.services.join(" "),
    SEED_OLD_SERVICE_ADDRESS: a.networks[0]!.address,
    SEED_MOVES: a.networks
      .map((n) => `${n.address}/${n.cidr.split("/")[1]}:${n.old_interface}:${n.new_interface}`)
      .join(" "),
    ...(words(freezeUnits) ? { SEED_FREEZE_UNITS: words(freezeUnits)! } : {}),
    ...(stopOld && words(oldUnits) ? { SEED_STOP_OLD_AT_SWITCH: words(oldUnits)! } : {}),
  };
  // Empty means "not known": the script's default applies (SEED_COMPUTE empty is kept: no canary, no MAC check).
  for (const [k, v] of Object.entries(env)) if (v === "" && k !== "SEED_COMPUTE") delete env[k];
  log(
    `bash ${SCRIPT} (${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")})`,
  );
  const t0 = Date.now();
  const { code, output } = await runScript(env);
  log(
    `migrate.sh exited ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s; output: ${saveLog(name, output, "migrate.log")}`,
  );
  const figures = parseScriptOutput(output);
  return {
    provision: p.result,
    figures,
    code,
    ...(code !== 0 ? { error: `migrate.sh failed at: ${figures.failedAt ?? "?"}` } : {}),
  };
}

/** migrate.sh as a child; its lines are shown live (prefixed) and kept. */
function runScript(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn("bash", [SCRIPT], {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  let partial = "";
  const take = (d: Buffer): void => {
    const text = d.toString("utf8");
    output += text;
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) console.log(`[seed] ${l}`);
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  return new Promise((res, rej) => {
    child.on("error", rej);
    child.on("close", (code) => {
      if (partial) console.log(`[seed] ${partial}`);
      res({ code, output });
    });
  });
}

function report(h: HandoverSide | undefined, s: SeedSide | undefined): void {
  const hd = h && typeof h.downtime !== "string" ? h.downtime : undefined;
  const sf = s?.figures;
  const hDown = hd ? (hd.endAt - hd.freezeAt) / 1000 : undefined;
  const sDown = sf && s?.code === 0 ? markSpan(sf, "freeze", "verified") : undefined;
  const hMoved = hd?.movedAt !== undefined ? (hd.movedAt - hd.freezeAt) / 1000 : undefined;
  const sMoved = sf ? markSpan(sf, "freeze", "moved") : undefined;
  const sBlackout = sf && sf.blackouts.length > 0 ? Math.max(...sf.blackouts.map((b) => b.ms)) : undefined;
  const rb = h?.rollback && typeof h.rollback.figures !== "string" ? h.rollback.figures : undefined;
  const ms = (v: number | undefined): string => (v === undefined ? "n/a" : `${v.toFixed(1)} ms`);
  const rows: string[][] = [
    ["figure", "handover", "seed 002 script", "goal"],
    [
      "downtime: freeze -> verified on new after the switch",
      secs(hDown),
      secs(sDown),
      "handover <= 0.5x script",
    ],
    ["  of which: freeze -> last address moved", secs(hMoved), secs(sMoved), ""],
    ["switch blackout (compute's 10 ms canary)", ms(hd?.blackoutMs), ms(sBlackout), "<= 100 ms"],
    ["rollback (journal: start -> end)", secs(rb?.seconds), "(none)", "<= 30 s"],
    ["  rollback: addresses back on old after", secs(rb?.addressesBackAfter), "", ""],
    ["  rollback: old's APIs started again after", secs(rb?.oldApisBackAfter), "", ""],
    ["  rollback: wall time of the command", secs(h?.rollback?.result.seconds), "", ""],
  ];
  console.log(`\n${table(rows)}`);
  if (hDown !== undefined && sDown !== undefined && sDown > 0) {
    const ratio = hDown / sDown;
    console.log(
      `\nratio handover / seed script: ${ratio.toFixed(2)}x (goal <= 0.5x: ${ratio <= 0.5 ? "met" : "NOT met"})`,
    );
  }
  if (hd) {
    console.log(
      `handover: ${hd.freezeStep} start -> ${hd.endStep} done${hd.endNote ? ` (${hd.endNote})` : ""}`,
    );
    console.log(
      `handover phases (s): ${Object.entries(hd.phases)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", ")}`,
    );
  } else if (h && typeof h.downtime === "string") console.log(`handover: not measured: ${h.downtime}`);
  if (h?.rollback && typeof h.rollback.figures === "string")
    console.log(`rollback: not measured: ${h.rollback.figures}`);
  if (sf && sf.steps.length > 0) {
    // Setup and the precondition check run before the freeze: not downtime.
    const inWindow = sf.steps.filter((x) => !/^(setup|precondition)\b/.test(x.name));
    const slowest = [...inWindow].sort((a, b) => b.seconds - a.seconds).slice(0, 8);
    console.log(
      `seed script, slowest steps (s): ${slowest.map((x) => `${x.name} ${x.seconds.toFixed(1)}`).join("; ")}`,
    );
  }
  if (s?.error) console.log(`seed script: ${s.error}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      "stop-old": { type: "boolean", default: false },
      concurrency: { type: "string" },
    },
  });
  const extra = values.concurrency === undefined ? [] : ["--concurrency", values.concurrency];
  const only = values.only;
  if (only !== undefined && only !== "handover" && only !== "seed") {
    throw new TypeError(`--only takes handover or seed, not ${only}`);
  }
  const h = only === "seed" ? undefined : await handoverSide(extra);
  const s = only === "handover" ? undefined : await seedSide(values["stop-old"]);
  report(h, s);
  const failed =
    (h !== undefined && (typeof h.downtime === "string" || h.rollback?.result.code !== 0)) ||
    (s !== undefined && s.error !== undefined);
  log("the lab is left as the last run left it: `npm run lab -- reset` brings back the seeded state");
  if (failed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
