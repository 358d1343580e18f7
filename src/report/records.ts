/**
 * Small typed readers over journal records and the loosely typed undo data steps journal (plain JSON whose shape
 * each step kind decides). A missing or oddly typed field reads as undefined: the report shows what is there and
 * never fails on a journal written by an older or newer step implementation.
 */
import type { JournalRecord } from "../engine/journal.js";
import type { JsonObject, JsonValue } from "../engine/step.js";

export type DoneRecord = Extract<JournalRecord, { type: "step-done" }>;

export function num(o: JsonObject | undefined, key: string): number | undefined {
  const v = o?.[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function str(o: JsonObject | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === "string" ? v : undefined;
}

export function obj(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

export function arr(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}

/** The last step-done record of each step (its undo data survives an undo in the records, unlike in the state). */
export function lastDoneByStep(records: readonly JournalRecord[]): Map<string, DoneRecord> {
  const m = new Map<string, DoneRecord>();
  for (const r of records) if (r.type === "step-done") m.set(r.stepId, r);
  return m;
}

export function ms(iso: string): number {
  return Date.parse(iso);
}
