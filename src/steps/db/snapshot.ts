/**
 * db.snapshot (switch phase, right before the first address moves): per table of each migrated database on the
 * NEW controller, its row count and checksum. Until the switch nothing but handover and new's own services
 * write there; after it, the cloud's clients do. A rollback returns the cloud to the old controller's untouched
 * databases, so whatever was written on new after the switch is lost: `handover rollback` measures again
 * (`measure`, the same code) and reports the tables that changed, with row-count deltas, before it asks.
 *
 * Numbers only (counts and checksums), never row data: the journal may be read by anyone who can read the report.
 * Tables that daemons update on their own (service heartbeats, nova's compute node refreshes) would always look
 * changed with CHECKSUM TABLE; for those an order-independent checksum of every row without the heartbeat columns
 * is taken instead (one query: BIT_XOR of per-row MD5 prefixes).
 *
 * Read-only: nothing to undo.
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import type { SqlSession } from "../../db/sql-session.js";
import { ident, qualified } from "../../db/sql-session.js";
import { isPlainIdentifier } from "../../discovery/sql.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";

/** `db.table` -> columns daemons rewrite by themselves (heartbeats), left out of that table's checksum. */
export const HEARTBEAT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  "nova.services": ["updated_at", "report_count", "last_seen_up"],
  "nova_cell0.services": ["updated_at", "report_count", "last_seen_up"],
  "nova.compute_nodes": ["updated_at"],
  "cinder.services": ["updated_at", "report_count"],
  "neutron.agents": ["heartbeat_timestamp"],
};

export interface TableSum {
  readonly rows: number;
  /** Decimal digits (CHECKSUM TABLE, or the heartbeat-free 64-bit sum); null when the server gave none. */
  readonly checksum: string | null;
}

/** `db.table` -> numbers. */
export type Snapshot = Record<string, TableSum>;

async function baseTables(s: SqlSession, database: string): Promise<string[]> {
  const rows = await s.query(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [database],
  );
  return rows.map((r) => String(r["t"])).filter(isPlainIdentifier);
}

function num(v: unknown): number {
  const n = typeof v === "bigint" ? Number(v) : Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function digits(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === "bigint" || typeof v === "number" || typeof v === "string" ? String(v) : null;
}

async function heartbeatFreeSum(
  s: SqlSession,
  database: string,
  table: string,
  skip: readonly string[],
): Promise<TableSum> {
  const cols = await s.query(
    "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    [database, table],
  );
  const keep = cols.map((r) => String(r["c"])).filter((c) => !skip.includes(c) && isPlainIdentifier(c));
  const row = keep.map((c) => `IFNULL(${ident(c)}, '<null>')`).join(", ");
  const [r] = await s.query(
    `SELECT COUNT(*) AS n, BIT_XOR(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', ${row || "''"})), 1, 16), 16, 10) AS UNSIGNED)) AS h FROM ${qualified(database, table)}`,
  );
  return { rows: num(r?.["n"]), checksum: `hb:${digits(r?.["h"]) ?? "0"}` };
}

/** Row counts and checksums of every base table of `databases`, in as few round trips as the server allows. */
export async function measureTables(s: SqlSession, databases: readonly string[]): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const db of databases) {
    const tables = await baseTables(s, db);
    const plain = tables.filter((t) => !HEARTBEAT_COLUMNS[`${db}.${t}`]);
    if (plain.length > 0) {
      const counts = await s.query(
        plain.map((t) => `SELECT ? AS t, COUNT(*) AS n FROM ${qualified(db, t)}`).join(" UNION ALL "),
        plain,
      );
      const sums = await s.query(`CHECKSUM TABLE ${plain.map((t) => qualified(db, t)).join(", ")}`);
      const sumOf = new Map(sums.map((r) => [String(r["Table"]), digits(r["Checksum"])]));
      const countOf = new Map(counts.map((r) => [String(r["t"]), num(r["n"])]));
      for (const t of plain) {
        out[`${db}.${t}`] = { rows: countOf.get(t) ?? 0, checksum: sumOf.get(`${db}.${t}`) ?? null };
      }
    }
    for (const t of tables.filter((x) => HEARTBEAT_COLUMNS[`${db}.${x}`])) {
      out[`${db}.${t}`] = await heartbeatFreeSum(s, db, t, HEARTBEAT_COLUMNS[`${db}.${t}`]!);
    }
  }
  return out;
}

function read(raw: JsonObject): { databases: string[] } {
  return { databases: new Params("db.snapshot", raw).strs("databases").filter(isPlainIdentifier) };
}

/** db.snapshot's implementation, with `measure` for rollback's lost-writes report (src/engine/lost-writes.ts). */
export interface SnapshotImpl extends StepImpl {
  measure(ctx: StepContext, params: JsonObject): Promise<Snapshot>;
}

export function snapshotStep(deps: StepDeps): SnapshotImpl {
  const measure = (ctx: StepContext, raw: JsonObject): Promise<Snapshot> =>
    withSql(deps, ctx, "new", (s) => measureTables(s, read(raw).databases));
  return {
    kind: "db.snapshot",
    measure,
    async run(ctx, raw) {
      const tables = await measure(ctx, raw);
      const n = Object.keys(tables).length;
      ctx.emit({ type: "log", level: "info", message: `snapshot of ${n} table(s) on new before the switch` });
      return { takenAt: ctx.now().toISOString(), tables: tables as unknown as JsonObject };
    },
    async verify(ctx, raw) {
      const { databases } = read(raw);
      const found = await withSql(deps, ctx, "new", (s) =>
        s.query(
          `SELECT SCHEMA_NAME AS d FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${databases.map(() => "?").join(", ") || "''"})`,
          databases,
        ),
      );
      const have = new Set(found.map((r) => String(r["d"])));
      const missing = databases.filter((d) => !have.has(d));
      return missing.length === 0
        ? { ok: true, detail: `${databases.length} database(s) answer on new` }
        : { ok: false, detail: `missing on new: ${missing.join(", ")}` };
    },
    undo: () => Promise.resolve(),
  };
}
