/**
 * Exact per-table row counts of a database (SELECT COUNT(*) per base table; information_schema's TABLE_ROWS is an
 * InnoDB estimate and would hide a half-imported table).
 */
import type { SqlSession } from "./sql-session.js";
import { ident, qualified, scalarNumber } from "./sql-session.js";

export async function baseTables(s: SqlSession, database: string): Promise<string[]> {
  const rows = await s.query(`SHOW FULL TABLES FROM ${ident(database)} WHERE Table_type = 'BASE TABLE'`);
  return rows.map((r) => String(Object.values(r)[0])).sort();
}

export async function databaseExists(s: SqlSession, database: string): Promise<boolean> {
  const rows = await s.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [
    database,
  ]);
  return rows.length > 0;
}

export async function rowCounts(s: SqlSession, database: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of await baseTables(s, database)) {
    out.set(t, scalarNumber(await s.query(`SELECT COUNT(*) AS n FROM ${qualified(database, t)}`)));
  }
  return out;
}

/** Differences between two count maps, as lines for a message ("" list when equal). */
export function countDifferences(
  old: ReadonlyMap<string, number>,
  neu: ReadonlyMap<string, number>,
): string[] {
  const diffs: string[] = [];
  for (const [t, n] of old) {
    const m = neu.get(t);
    if (m === undefined) diffs.push(`${t}: missing on new (old has ${n} rows)`);
    else if (m !== n) diffs.push(`${t}: old ${n} rows, new ${m}`);
  }
  for (const t of neu.keys()) if (!old.has(t)) diffs.push(`${t}: only on new`);
  return diffs;
}
