/**
 * Where a run's time went: the critical path of a journal, from its last finished step back to the first, each
 * time through the `after` dependency that finished last (the one the step waited for), then its rollback's chain
 * the same way in reverse (the undo each undo waited for last). Offsets are seconds from the freeze step's start
 * (downtime) or the rollback's start.
 *
 *   npx tsx bench/critical-path.ts JOURNAL.jsonl [--end STEP] [--top N]
 *
 * The downtime bench keeps a copy of each journal it measures (see bench/downtime.ts) for this.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { JournalRecord } from "../src/engine/journal.js";
import type { PlannedStep } from "../src/engine/step.js";

const FREEZE_STEP = "freeze.apis";

interface Spans {
  readonly start: Map<string, number>;
  readonly done: Map<string, number>;
}

function spans(records: readonly JournalRecord[], startType: string, doneType: string): Spans {
  const start = new Map<string, number>();
  const done = new Map<string, number>();
  for (const r of records) {
    const id = "stepId" in r ? r.stepId : undefined;
    if (id === undefined) continue;
    // The last attempt counts: a resumed step's earlier start is not what the chain waited for.
    if (r.type === startType) start.set(id, Date.parse(r.at));
    if (r.type === doneType) done.set(id, Date.parse(r.at));
  }
  return { start, done };
}

function fmt(n: number): string {
  return (n / 1000).toFixed(1).padStart(7);
}

/** Walks back from `end` through the predecessor that finished last; `preds` gives a step's candidates. */
function chain(end: string, s: Spans, preds: (id: string) => readonly string[]): string[] {
  const out = [end];
  const seen = new Set(out);
  for (let cur = end; ;) {
    // `seen`: undos that took no time share timestamps and must not send the walk round in a circle.
    const candidates = preds(cur).filter(
      (d) => !seen.has(d) && s.done.has(d) && (s.done.get(d) ?? 0) <= (s.start.get(cur) ?? 0),
    );
    if (candidates.length === 0) return out.reverse();
    cur = candidates.reduce((a, b) => ((s.done.get(a) ?? 0) >= (s.done.get(b) ?? 0) ? a : b));
    seen.add(cur);
    out.push(cur);
  }
}

function printChain(title: string, ids: readonly string[], s: Spans, origin: number): void {
  console.log(`${title}\n  offset(s) took(s)  step`);
  for (const id of ids) {
    const a = s.start.get(id) ?? origin;
    console.log(`  ${fmt(a - origin)} ${fmt((s.done.get(id) ?? a) - a)}  ${id}`);
  }
}

function printTop(title: string, s: Spans, origin: number, top: number): void {
  const rows = [...s.done]
    .filter(([id]) => (s.start.get(id) ?? -Infinity) >= origin)
    .map(([id, d]) => ({ id, a: s.start.get(id) ?? d, d }))
    .sort((x, y) => y.d - y.a - (x.d - x.a))
    .slice(0, top);
  console.log(`${title}\n  offset(s) took(s)  step`);
  for (const r of rows) console.log(`  ${fmt(r.a - origin)} ${fmt(r.d - r.a)}  ${r.id}`);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { end: { type: "string" }, top: { type: "string", default: "20" } },
  });
  const file = positionals[0];
  if (!file) {
    console.error("usage: npx tsx bench/critical-path.ts JOURNAL.jsonl [--end STEP] [--top N]");
    process.exit(2);
  }
  const records: JournalRecord[] = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as JournalRecord);
  const planRec = records.findLast((r) => r.type === "plan");
  if (!planRec || planRec.type !== "plan") throw new TypeError(`${file}: no plan record`);
  const steps = new Map<string, PlannedStep>(planRec.plan.steps.map((p) => [p.id, p]));
  const top = Number(values.top);

  const run = spans(records, "step-start", "step-done");
  const freeze = run.start.get(FREEZE_STEP);
  if (freeze !== undefined && run.done.size > 0) {
    const last = values.end ?? [...run.done].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    const ids = chain(last, run, (id) => steps.get(id)?.after ?? []);
    const end = run.done.get(last) ?? freeze;
    printChain(
      `run: critical path to ${last} (${fmt(end - freeze).trim()} s after the freeze)`,
      ids,
      run,
      freeze,
    );
    printTop(`run: longest steps from the freeze on (top ${top})`, run, freeze, top);
  }

  const rbStart = records.findLast((r) => r.type === "rollback-start");
  const undo = spans(records, "undo-start", "undo-done");
  if (rbStart && undo.done.size > 0) {
    const origin = Date.parse(rbStart.at);
    const last = [...undo.done].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    // Undos wait for plan dependents, resource conflicts, the switch-back priority and the concurrency limit, so
    // the chain takes whichever undo finished last before this one started.
    const ids = chain(last, undo, (id) => [...undo.done.keys()].filter((d) => d !== id));
    printChain(
      `rollback: chain to ${last} (${fmt((undo.done.get(last) ?? origin) - origin).trim()} s)`,
      ids,
      undo,
      origin,
    );
    printTop(`rollback: longest undos (top ${top})`, undo, origin, top);
  }
}

main();
