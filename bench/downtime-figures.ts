/**
 * The figures of the downtime benchmark (bench/downtime.ts), computed from what the two sides leave behind:
 * handover's journal, and the `T`/`S`/`B`/`F` lines bench/seed-002/migrate.sh prints. Pure functions, so the
 * arithmetic is unit-tested without a lab (test/unit/bench/downtime-figures.test.ts).
 */
import type { JournalRecord } from "../src/engine/journal.js";
import type { PlannedStep } from "../src/engine/step.js";

/** The step whose completion ends the downtime: the computes report to new (issue 6's "verified on new"). */
export const SWITCH_VERIFY_STEP = "switch.verify";

export interface HandoverDowntime {
  /** step-start of the freeze phase's first step (epoch ms). */
  readonly freezeAt: number;
  readonly freezeStep: string;
  /** step-done of the switch verification (epoch ms); without switch.verify in the plan, the switch phase's last. */
  readonly endAt: number;
  readonly endStep: string;
  /** Why endStep is not switch.verify, when it is not. */
  readonly endNote?: string;
  /** step-done of the last address move (the report's freeze window end), epoch ms. */
  readonly movedAt?: number;
  /** The canary's blackout (net.canary-stop's result). */
  readonly blackoutMs?: number;
  /** Seconds per phase: first step-start to last step-done of the phase's steps. */
  readonly phases: Readonly<Record<string, number>>;
}

/** The last plan a journal holds (a resumed run with a changed plan journals it again). */
export function lastPlan(records: readonly JournalRecord[]): readonly PlannedStep[] {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.type === "plan") return r.plan.steps;
  }
  return [];
}

function times(records: readonly JournalRecord[], type: "step-start" | "step-done", id: string): number[] {
  return records
    .filter((r) => r.type === type && r.stepId === id)
    .map((r) => Date.parse(r.at))
    .filter((t) => Number.isFinite(t));
}

/** Downtime of one completed `handover run` with the switch, or why it cannot be measured from this journal. */
export function handoverDowntime(records: readonly JournalRecord[]): HandoverDowntime | string {
  const steps = lastPlan(records);
  if (steps.length === 0) return "the journal holds no plan";
  const freezeSteps = steps.filter((s) => s.phase === "freeze");
  const starts = freezeSteps.flatMap((s) => times(records, "step-start", s.id).map((t) => ({ t, id: s.id })));
  const first = starts.sort((a, b) => a.t - b.t)[0];
  if (!first) return "no step of the freeze phase started";
  const switchSteps = steps.filter((s) => s.phase === "switch");
  if (switchSteps.length === 0) return "the plan has no switch steps (switch: never?)";
  let end: { t: number; id: string } | undefined;
  let endNote: string | undefined;
  if (steps.some((s) => s.id === SWITCH_VERIFY_STEP)) {
    const done = times(records, "step-done", SWITCH_VERIFY_STEP).at(-1);
    if (done === undefined) return `${SWITCH_VERIFY_STEP} never completed`;
    end = { t: done, id: SWITCH_VERIFY_STEP };
  } else {
    const dones = switchSteps.flatMap((s) => times(records, "step-done", s.id).map((t) => ({ t, id: s.id })));
    const notDone = switchSteps
      .filter((s) => times(records, "step-done", s.id).length === 0)
      .map((s) => s.id);
    if (notDone.length > 0) return `switch steps never completed: ${notDone.join(", ")}`;
    end = dones.sort((a, b) => b.t - a.t)[0];
    endNote = `the plan has no ${SWITCH_VERIFY_STEP} (no compute was reporting), so the switch phase's last step`;
  }
  if (!end) return "no switch step completed";
  const moves = steps.filter((s) => s.kind === "net.move-address");
  const movedTimes = moves.map((s) => times(records, "step-done", s.id).at(-1));
  const movedAt = movedTimes.every((t): t is number => t !== undefined) ? Math.max(...movedTimes) : undefined;
  const canary = steps.find((s) => s.kind === "net.canary-stop");
  let blackoutMs: number | undefined;
  if (canary) {
    const rec = records.filter((r) => r.type === "step-done" && r.stepId === canary.id).at(-1);
    const v = rec?.type === "step-done" ? rec.undoData.blackoutMs : undefined;
    if (typeof v === "number") blackoutMs = v;
  }
  return {
    freezeAt: first.t,
    freezeStep: first.id,
    endAt: end.t,
    endStep: end.id,
    ...(endNote ? { endNote } : {}),
    ...(movedAt !== undefined && moves.length > 0 ? { movedAt } : {}),
    ...(blackoutMs !== undefined ? { blackoutMs } : {}),
    phases: phaseSeconds(records, steps),
  };
}

/** Seconds per phase: first step-start to last step-done of the phase's steps (as the e2e tests print them). */
export function phaseSeconds(
  records: readonly JournalRecord[],
  steps: readonly PlannedStep[],
): Record<string, number> {
  const phaseOf = new Map(steps.map((s) => [s.id, s.phase]));
  const span = new Map<string, [number, number]>();
  for (const r of records) {
    if (r.type !== "step-start" && r.type !== "step-done") continue;
    const ph = phaseOf.get(r.stepId);
    if (!ph) continue;
    const t = Date.parse(r.at);
    const s = span.get(ph) ?? [t, t];
    span.set(ph, [Math.min(s[0], t), Math.max(s[1], t)]);
  }
  return Object.fromEntries([...span].map(([k, [a, b]]) => [k, (b - a) / 1000]));
}

export interface RollbackFigures {
  /** rollback-start to rollback-end, seconds. */
  readonly seconds: number;
  readonly complete: boolean;
  /** From rollback-start until every moved address was back on old (undo-done of the moves), seconds. */
  readonly addressesBackAfter?: number;
  /** From rollback-start until old's frozen API services were started again (undo-done of the freeze), seconds. */
  readonly oldApisBackAfter?: number;
}

/** The last rollback in a journal, or why there is none to measure. */
export function rollbackFigures(records: readonly JournalRecord[]): RollbackFigures | string {
  let startIdx = -1;
  for (let i = records.length - 1; i >= 0; i--) {
    if (records[i]!.type === "rollback-start") {
      startIdx = i;
      break;
    }
  }
  if (startIdx < 0) return "the journal holds no rollback";
  const rb = records.slice(startIdx);
  const t0 = Date.parse(rb[0]!.at);
  const end = rb.find((r) => r.type === "rollback-end");
  if (!end || end.type !== "rollback-end") return "the rollback did not end (no rollback-end record)";
  const steps = lastPlan(records);
  const undone = (kind: string): number | undefined => {
    const ids = new Set(steps.filter((s) => s.kind === kind).map((s) => s.id));
    if (ids.size === 0) return undefined;
    const done = rb.flatMap((r) => (r.type === "undo-done" && ids.has(r.stepId) ? [r] : []));
    const ts = done.map((r) => Date.parse(r.at));
    // Every step of that kind must have been undone for "back" to hold.
    const seen = new Set(done.map((r) => r.stepId));
    return seen.size === ids.size ? (Math.max(...ts) - t0) / 1000 : undefined;
  };
  const addressesBackAfter = undone("net.move-address");
  const oldApisBackAfter = undone("freeze.stop-apis");
  return {
    seconds: (Date.parse(end.at) - t0) / 1000,
    complete: end.complete,
    ...(addressesBackAfter !== undefined ? { addressesBackAfter } : {}),
    ...(oldApisBackAfter !== undefined ? { oldApisBackAfter } : {}),
  };
}

export interface ScriptFigures {
  /** `T <name> <epoch seconds> <iso>` lines: name -> epoch ms. */
  readonly marks: ReadonlyMap<string, number>;
  /** `S <seconds> <step>` lines, in order. */
  readonly steps: readonly { readonly name: string; readonly seconds: number }[];
  /** `B <address> <ms> <replies>` lines. */
  readonly blackouts: readonly { readonly address: string; readonly ms: number; readonly replies: number }[];
  /** `F <step>`: the step the script failed at. */
  readonly failedAt?: string;
}

/** Reads migrate.sh's machine lines; everything else it prints is ignored. */
export function parseScriptOutput(text: string): ScriptFigures {
  const marks = new Map<string, number>();
  const steps: { name: string; seconds: number }[] = [];
  const blackouts: { address: string; ms: number; replies: number }[] = [];
  let failedAt: string | undefined;
  for (const line of text.split("\n")) {
    let m = /^T (\S+) (\d+(?:\.\d+)?) \S+$/.exec(line);
    if (m) {
      marks.set(m[1]!, Math.round(Number(m[2]) * 1000));
      continue;
    }
    m = /^S (\d+(?:\.\d+)?) (.+)$/.exec(line);
    if (m) {
      steps.push({ name: m[2]!, seconds: Number(m[1]) });
      continue;
    }
    m = /^B (\S+) (\d+(?:\.\d+)?) (\d+)$/.exec(line);
    if (m) {
      blackouts.push({ address: m[1]!, ms: Number(m[2]), replies: Number(m[3]) });
      continue;
    }
    m = /^F (.+)$/.exec(line);
    if (m) failedAt = m[1]!;
  }
  return { marks, steps, blackouts, ...(failedAt !== undefined ? { failedAt } : {}) };
}

/** Seconds between two marks of the script, when both were printed. */
export function markSpan(f: ScriptFigures, from: string, to: string): number | undefined {
  const a = f.marks.get(from);
  const b = f.marks.get(to);
  return a !== undefined && b !== undefined ? (b - a) / 1000 : undefined;
}

/** A plain text table: the first row is the header; columns padded to their widest cell. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const line = (r: readonly string[]): string =>
    `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  const [head, ...body] = rows;
  if (!head) return "";
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

/** "12.3 s" or "n/a". */
export function secs(v: number | undefined): string {
  return v === undefined ? "n/a" : `${v.toFixed(1)} s`;
}
