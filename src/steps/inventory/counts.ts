/**
 * The inventory handover compares before and after (seed 004: save inventories and compare): counts of the
 * objects operators care about, by read-only SQL against each service's own tables. A table or column the
 * release does not have is skipped (recorded as absent), so the same code counts a Victoria and a Zed database.
 */
import type { SqlSession } from "../../db/sql-session.js";
import { qualified, scalarNumber } from "../../db/sql-session.js";

export interface CountSpec {
  readonly name: string;
  readonly database: string;
  readonly table: string;
  /** Soft-delete column: rows with `<column> = 0` (or NULL for deleted_at style) are counted. */
  readonly notDeleted?: "deleted" | "is_domain";
}

/** What is counted, by database (only databases the plan names are counted). */
export const INVENTORY: readonly CountSpec[] = [
  { name: "projects", database: "keystone", table: "project", notDeleted: "is_domain" },
  { name: "users", database: "keystone", table: "user" },
  { name: "endpoints", database: "keystone", table: "endpoint" },
  { name: "images", database: "glance", table: "images", notDeleted: "deleted" },
  { name: "volumes", database: "cinder", table: "volumes", notDeleted: "deleted" },
  { name: "attachments", database: "cinder", table: "volume_attachment", notDeleted: "deleted" },
  { name: "instances", database: "nova", table: "instances", notDeleted: "deleted" },
  { name: "instances (cell0)", database: "nova_cell0", table: "instances", notDeleted: "deleted" },
  { name: "block device mappings", database: "nova", table: "block_device_mapping", notDeleted: "deleted" },
  { name: "networks", database: "neutron", table: "networks" },
  { name: "subnets", database: "neutron", table: "subnets" },
  { name: "ports", database: "neutron", table: "ports" },
  { name: "routers", database: "neutron", table: "routers" },
];

async function columns(s: SqlSession, database: string, table: string): Promise<Set<string>> {
  const rows = await s.query(
    "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    [database, table],
  );
  return new Set(rows.map((r) => String(r.c)));
}

/** name -> count; absent tables are left out. */
export async function countInventory(
  s: SqlSession,
  databases: readonly string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of INVENTORY) {
    if (!databases.includes(c.database)) continue;
    const cols = await columns(s, c.database, c.table);
    if (cols.size === 0) continue;
    const where = c.notDeleted && cols.has(c.notDeleted) ? ` WHERE ${c.notDeleted} = 0` : "";
    out[c.name] = scalarNumber(
      await s.query(`SELECT COUNT(*) AS n FROM ${qualified(c.database, c.table)}${where}`),
    );
  }
  return out;
}

/** Lines naming each difference ([] when equal). A count missing on one side is a difference too. */
export function inventoryDifferences(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[name];
    const b = after[name];
    if (a === b) continue;
    out.push(`${name}: before ${a ?? "not counted"}, after ${b ?? "not counted"}`);
  }
  return out;
}
