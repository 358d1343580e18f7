/**
 * Before and after, side by side: the inventory counts (inventory.capture on old, inventory.compare on new; both
 * journal `counts` with their step-done, and say them in their verify text, which is read when a recovered step
 * journaled no counts) and the API checks (api.check: `pre.<service>.api` asks old before the freeze,
 * `verify.<service>.api` asks new, as `params.target` says; each journals a detail line).
 */
import type { JournalState, StepState } from "../engine/journal.js";
import type { ApiCheckRow, ApiCheckSide, Inventory, InventoryRow, InventorySide } from "./model.js";
import type { DoneRecord } from "./records.js";
import { obj, str } from "./records.js";

/** `projects 3, users 5, block device mappings 2` after the verify text's `...: ` prefix. */
export function parseCounts(verify: string): Record<string, number> | undefined {
  const m = /^inventory (?:on \S+|equal to .*?): (.*)$/s.exec(verify.trim());
  if (!m?.[1]) return undefined;
  const out: Record<string, number> = {};
  for (const part of m[1].split(", ")) {
    const kv = /^(.+) (\d+)$/.exec(part.trim());
    if (!kv?.[1] || kv[2] === undefined) return undefined;
    out[kv[1]] = Number(kv[2]);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function countsOf(rec: DoneRecord | undefined): Record<string, number> | undefined {
  const c = obj(rec?.undoData["counts"]);
  if (c) {
    const entries = Object.entries(c).filter((e): e is [string, number] => typeof e[1] === "number");
    if (entries.length > 0) return Object.fromEntries(entries);
  }
  return rec ? parseCounts(rec.verify) : undefined;
}

function side(s: StepState | undefined, done: ReadonlyMap<string, DoneRecord>): InventorySide | undefined {
  if (!s) return undefined;
  const rec = done.get(s.id);
  const counts = countsOf(rec);
  const note = counts ? undefined : (s.lastError ?? rec?.verify ?? s.verifyDetail);
  return {
    stepId: s.id,
    host: str(s.step.params, "host") ?? s.step.hosts[0] ?? "?",
    status: s.status,
    ...(counts ? { counts } : {}),
    ...(note ? { note } : {}),
  };
}

export function inventory(state: JournalState, done: ReadonlyMap<string, DoneRecord>): Inventory {
  const before = side(
    state.steps.find((s) => s.step.kind === "inventory.capture"),
    done,
  );
  const after = side(
    state.steps.find((s) => s.step.kind === "inventory.compare"),
    done,
  );
  const names = [...new Set([...Object.keys(before?.counts ?? {}), ...Object.keys(after?.counts ?? {})])];
  const rows = names.map((name): InventoryRow => ({
    name,
    ...(before?.counts?.[name] === undefined ? {} : { before: before.counts[name] }),
    ...(after?.counts?.[name] === undefined ? {} : { after: after.counts[name] }),
  }));
  return { ...(before ? { before } : {}), ...(after ? { after } : {}), rows };
}

function apiSide(s: StepState, done: ReadonlyMap<string, DoneRecord>): ApiCheckSide {
  const rec = done.get(s.id);
  const detail = s.lastError ?? str(rec?.undoData, "detail") ?? rec?.verify ?? s.verifyDetail;
  return { stepId: s.id, status: s.status, ...(detail ? { detail } : {}) };
}

export function apiChecks(state: JournalState, done: ReadonlyMap<string, DoneRecord>): ApiCheckRow[] {
  const rows = new Map<string, { old?: ApiCheckSide; new?: ApiCheckSide }>();
  for (const s of state.steps) {
    if (s.step.kind !== "api.check") continue;
    const service = str(s.step.params, "service") ?? s.id;
    const row = rows.get(service) ?? {};
    // `target` names the controller asked; plans without it: pre.* asked old before the freeze, verify.* new.
    const target = str(s.step.params, "target") ?? (s.id.startsWith("pre.") ? "old" : "new");
    if (target === "old") row.old = apiSide(s, done);
    else row.new = apiSide(s, done);
    rows.set(service, row);
  }
  return [...rows].map(([service, r]) => ({ service, ...r }));
}
