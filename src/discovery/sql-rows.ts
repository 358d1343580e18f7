/**
 * Pure conversions of discovery's SQL rows into facts, and the SQL text itself (constants, so the unit tests
 * and the fake SQL layer can match on them). Every statement is a SELECT with `?` placeholders for values;
 * database names are never interpolated: each query runs in its database (SqlReader's first argument).
 */
import type {
  CellFacts,
  CinderVolumeFacts,
  ComputeServiceFacts,
  DatabaseFacts,
  NovaServiceFacts,
} from "../plan/facts.js";
import type { Row } from "./sql.js";

export const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"] as const;

/** Size and table count of every non-system schema; schemas without tables are listed too (LEFT JOIN). */
export const SQL_DATABASE_SIZES =
  "SELECT s.SCHEMA_NAME AS name, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS bytes, COUNT(t.TABLE_NAME) AS tables " +
  "FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t " +
  "ON t.TABLE_SCHEMA = s.SCHEMA_NAME AND t.TABLE_TYPE = 'BASE TABLE' " +
  "WHERE s.SCHEMA_NAME NOT IN (?, ?, ?, ?) GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME";

/** Tables whose collation belongs to a character set other than utf8/utf8mb3/utf8mb4. */
export const SQL_NON_UTF8_TABLES =
  "SELECT t.TABLE_SCHEMA AS db, t.TABLE_NAME AS tbl, c.CHARACTER_SET_NAME AS charset " +
  "FROM information_schema.TABLES t JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY c " +
  "ON c.COLLATION_NAME = t.TABLE_COLLATION " +
  "WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA NOT IN (?, ?, ?, ?) " +
  "AND c.CHARACTER_SET_NAME NOT IN ('utf8', 'utf8mb3', 'utf8mb4') ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME";

export const SQL_VERSION = "SELECT VERSION() AS version";
export const SQL_CELL_MAPPINGS = "SELECT uuid, name, database_connection FROM cell_mappings ORDER BY id";
export const SQL_NOVA_SERVICES =
  "SELECT host, `binary`, version, disabled, forced_down, updated_at FROM services WHERE deleted = 0 ORDER BY host, `binary`";
export const SQL_INSTANCE_COUNT = "SELECT COUNT(*) AS n FROM instances WHERE deleted = 0";
/** nova stores connection_info as JSON from jsonutils.dumps ("key": "value"); both spacings are matched. */
export const SQL_ISCSI_BDM_COUNT =
  "SELECT COUNT(*) AS n FROM block_device_mapping WHERE deleted = 0 AND (connection_info LIKE ? OR connection_info LIKE ?)";
export const ISCSI_LIKE = ['%"driver_volume_type": "iscsi"%', '%"driver_volume_type":"iscsi"%'] as const;
export const SQL_CINDER_VOLUMES =
  "SELECT id, size, status FROM volumes WHERE deleted = 0 ORDER BY created_at, id";
export const SQL_GLANCE_IMAGES =
  "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM images WHERE deleted = 0";
export const SQL_KEYSTONE_ROLES = "SELECT DISTINCT name FROM role ORDER BY name";

export const CELL0_UUID = "00000000-0000-0000-0000-000000000000";

/** A number from a driver value: mysql2 gives DECIMAL and big SUMs as strings. NaN-safe (0). */
export function num(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : 0;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  if (typeof v === "boolean") return v ? 1 : 0;
  return 0;
}

function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return "";
}

/** "2026-11-22 00:59:50" (nova and cinder store UTC, mysql2 dateStrings) -> "2026-11-22T00:59:50Z". */
export function isoUtc(v: unknown): string | null {
  const s = str(v).trim();
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?Z?$/.exec(s);
  return m ? `${m[1]}T${m[2]}Z` : null;
}

export function databasesFromRows(sizes: readonly Row[], nonUtf8: readonly Row[]): DatabaseFacts[] {
  const bad = new Map<string, string[]>();
  for (const r of nonUtf8) {
    const db = str(r.db);
    bad.set(db, [...(bad.get(db) ?? []), str(r.tbl)]);
  }
  return sizes.map((r) => ({
    name: str(r.name),
    sizeBytes: num(r.bytes),
    tables: num(r.tables),
    nonUtf8Tables: bad.get(str(r.name)) ?? [],
  }));
}

/**
 * The database name in a cell's database_connection (an oslo.db URL, possibly a Train+ template such as
 * "{scheme}://{username}:{password}@{hostname}/nova?{query}"). The URL holds a password: only the path is kept.
 */
export function databaseOfUrl(url: string): string | undefined {
  const m = /^[^:]+:\/\/[^/]*\/([^?#/]+)/.exec(url.trim());
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

export interface CellRow extends CellFacts {
  /** Database name from the mapping (not the URL: that holds credentials). */
  readonly database?: string;
}

export function cellsFromRows(rows: readonly Row[]): CellRow[] {
  return rows.map((r) => {
    const uuid = str(r.uuid);
    const database = databaseOfUrl(str(r.database_connection));
    const name = str(r.name) || (uuid === CELL0_UUID ? "cell0" : uuid);
    return { uuid, name, ...(database !== undefined ? { database } : {}) };
  });
}

/**
 * nova's service version at each release's end (nova/objects/service.py SERVICE_VERSION_ALIASES, which nova
 * keeps from Victoria on). A compute reporting version v runs the newest release whose alias is <= v.
 */
export const NOVA_SERVICE_VERSIONS: readonly (readonly [string, number])[] = [
  ["victoria", 52],
  ["wallaby", 54],
  ["xena", 57],
  ["yoga", 61],
  ["zed", 64],
  ["2023.1", 66],
];

/** The release a nova service version belongs to; undefined before Victoria (nova kept no aliases then). */
export function releaseOfNovaVersion(version: number): string | undefined {
  let found: string | undefined;
  for (const [release, v] of NOVA_SERVICE_VERSIONS) if (version >= v) found = release;
  return found;
}

export interface NovaServicesSplit {
  readonly computes: ComputeServiceFacts[];
  readonly controlServices: NovaServiceFacts[];
}

export function novaServicesFromRows(rows: readonly Row[]): NovaServicesSplit {
  const computes: ComputeServiceFacts[] = [];
  const controlServices: NovaServiceFacts[] = [];
  for (const r of rows) {
    const host = str(r.host);
    const binary = str(r.binary);
    // updated_at is the last heartbeat; a service that never reported has none (null), which is a finding.
    const lastSeen = isoUtc(r.updated_at);
    if (binary === "nova-compute") {
      const version = num(r.version);
      const release = releaseOfNovaVersion(version);
      computes.push({
        host,
        version,
        ...(release !== undefined ? { release } : {}),
        disabled: num(r.disabled) !== 0,
        forcedDown: num(r.forced_down) !== 0,
        lastSeen,
      });
    } else {
      controlServices.push({ host, binary, lastSeen });
    }
  }
  return { computes, controlServices };
}

export function volumesFromRows(rows: readonly Row[]): CinderVolumeFacts[] {
  return rows.map((r) => ({ id: str(r.id), sizeGb: num(r.size), status: str(r.status) }));
}

/** The first column of the first row as a number (COUNT(*) and the catalog's data checks). */
export function firstNumber(rows: readonly Row[]): number {
  const first = rows[0];
  if (!first) return 0;
  return num(Object.values(first)[0]);
}
