/**
 * Writes a rollback would lose (issue 6): after the switch the cloud's clients write to the new controller's
 * databases; rollback returns them to the old controller's untouched ones. The `db.snapshot` step recorded, on
 * new, every table's row count and checksum right before the first address moved; this recomputes them (through
 * the step implementation's own `measure`, so the engine stays free of SQL) and lists what changed since.
 *
 * Only asked when the snapshot step is done and at least one net.move-address step has started (done, running,
 * failed or mid-undo): before that, nobody but handover wrote to new.
 */
import type { Host } from "../hosts/host.js";
import { BugError } from "../lib/errors.js";
import type { JournalState } from "./journal.js";
import type { JsonObject, JsonValue, StepContext, StepImpl, StepRegistry } from "./step.js";

export const SNAPSHOT_KIND = "db.snapshot";
const MOVE_KIND = "net.move-address";
const STARTED = new Set(["done", "running", "failed", "undoing", "undo-failed"]);

export interface TableSumLike {
  readonly rows: number;
  readonly checksum: string | null;
}

export interface TableChange {
  /** `db.table` */
  readonly table: string;
  readonly rowsBefore: number;
  readonly rowsNow: number;
  /** rowsNow - rowsBefore (0 for updates in place). */
  readonly rowDelta: number;
  /** The table did not exist at the snapshot, or is gone now. */
  readonly note?: "new table" | "table gone";
}

export interface LostWritesReport {
  /** When the snapshot was taken (from the journal). */
  readonly since?: string;
  readonly changes: TableChange[];
}

/** A step implementation that can measure again what it recorded (db.snapshot does). */
interface Measuring extends StepImpl {
  measure(ctx: StepContext, params: JsonObject): Promise<Record<string, TableSumLike>>;
}

function isMeasuring(impl: StepImpl | undefined): impl is Measuring {
  return typeof (impl as Partial<Measuring> | undefined)?.measure === "function";
}

/** The snapshot step to compare against, or undefined when no report is due (see the header). */
export function lostWritesDue(state: JournalState): { stepId: string } | undefined {
  const snap = state.steps.find((s) => s.step.kind === SNAPSHOT_KIND && s.status === "done");
  if (!snap) return undefined;
  const moved = state.steps.some((s) => s.step.kind === MOVE_KIND && STARTED.has(s.status));
  return moved ? { stepId: snap.id } : undefined;
}

function sums(v: JsonValue | undefined): Map<string, TableSumLike> {
  const out = new Map<string, TableSumLike>();
  if (v === null || typeof v !== "object" || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    if (x === null || typeof x !== "object" || Array.isArray(x)) continue;
    const rows = typeof x["rows"] === "number" ? x["rows"] : 0;
    const checksum = typeof x["checksum"] === "string" ? x["checksum"] : null;
    out.set(k, { rows, checksum });
  }
  return out;
}

/** Tables whose checksum (or count) differs between the snapshot and now; sorted by name. Pure. */
export function compareSnapshots(
  before: ReadonlyMap<string, TableSumLike>,
  now: ReadonlyMap<string, TableSumLike>,
): TableChange[] {
  const out: TableChange[] = [];
  for (const table of [...new Set([...before.keys(), ...now.keys()])].sort()) {
    const b = before.get(table);
    const n = now.get(table);
    if (b && n && b.checksum === n.checksum && b.rows === n.rows) continue;
    const rowsBefore = b?.rows ?? 0;
    const rowsNow = n?.rows ?? 0;
    out.push({
      table,
      rowsBefore,
      rowsNow,
      rowDelta: rowsNow - rowsBefore,
      ...(b ? (n ? {} : { note: "table gone" as const }) : { note: "new table" as const }),
    });
  }
  return out;
}

/** Measures now and compares with the journaled snapshot; undefined when no report is due. */
export async function lostWrites(o: {
  readonly state: JournalState;
  readonly registry: StepRegistry;
  readonly hosts: ReadonlyMap<string, Host>;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
}): Promise<LostWritesReport | undefined> {
  const due = lostWritesDue(o.state);
  if (!due) return undefined;
  const st = o.state.byId.get(due.stepId)!;
  const impl = o.registry.get(st.step.kind);
  if (!isMeasuring(impl)) throw new BugError(`${SNAPSHOT_KIND} has no measure() in this registry`);
  const ctx: StepContext = {
    host(name) {
      if (!st.step.hosts.includes(name)) throw new BugError(`${st.id} does not declare host ${name}`);
      const h = o.hosts.get(name);
      if (!h) throw new BugError(`host ${name} is not open`);
      return h;
    },
    emit: () => undefined,
    signal: o.signal ?? new AbortController().signal,
    now: o.now ?? (() => new Date()),
  };
  const now = await impl.measure(ctx, st.step.params);
  const taken = st.undoData?.["takenAt"];
  return {
    ...(typeof taken === "string" ? { since: taken } : {}),
    changes: compareSnapshots(sums(st.undoData?.["tables"]), new Map(Object.entries(now))),
  };
}

/** The operator's line(s): what a rollback now would lose. */
export function formatLostWrites(r: LostWritesReport): string {
  if (r.changes.length === 0) {
    return `No writes on the new controller since the switch${r.since ? ` (snapshot ${r.since})` : ""}: rollback loses nothing.`;
  }
  const parts = r.changes.map((c) => {
    const delta =
      c.rowDelta === 0 ? "rows changed in place" : `${c.rowDelta > 0 ? "+" : ""}${c.rowDelta} rows`;
    return `${c.table} ${delta}${c.note ? ` (${c.note})` : ""}`;
  });
  return `Writes made on the new controller after the switch will be lost by a rollback${r.since ? ` (snapshot ${r.since})` : ""}: ${parts.join(", ")}.`;
}
