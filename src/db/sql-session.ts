/**
 * What step implementations see of a controller's MySQL: parameterised queries and statements on one connection.
 * The old controller's sessions are wrapped by `readOnlySession`, so a step that tried to write there fails as a
 * bug before anything reaches the server (the old databases are only ever read).
 */
import { BugError } from "../lib/errors.js";
import { isReadOnlySql } from "../discovery/sql.js";
import type { MysqlClient, SqlParam } from "./mysql-client.js";

export type SqlRow = Readonly<Record<string, unknown>>;

export interface SqlSession {
  query(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
  execute(sql: string, params?: readonly SqlParam[]): Promise<{ affectedRows: number }>;
  close(): Promise<void>;
}

/** A session over MysqlClient. */
export function clientSession(client: MysqlClient): SqlSession {
  return {
    query: (sql, params = []) => client.query(sql, params),
    execute: async (sql, params = []) => ({ affectedRows: (await client.execute(sql, params)).affectedRows }),
    close: () => client.close(),
  };
}

/** Only SELECT / SHOW / CHECKSUM TABLE get through; `execute` always refuses. */
export function readOnlySession(inner: SqlSession, where: string): SqlSession {
  return {
    query: (sql, params = []) => {
      if (!isReadOnlySql(sql)) {
        return Promise.reject(
          new BugError(`a step tried a statement that does not only read on ${where}: ${sql}`),
        );
      }
      return inner.query(sql, params);
    },
    execute: (sql) => Promise.reject(new BugError(`a step tried to change ${where}: ${sql}`)),
    close: () => inner.close(),
  };
}

const IDENT = /^[A-Za-z0-9_$]{1,64}$/;

/**
 * A schema or table name for SQL text (names cannot be parameters). Names come from the plan or the server; only
 * plain identifiers are accepted, and they are backquoted anyway.
 */
export function ident(name: string): string {
  if (!IDENT.test(name)) throw new BugError(`refusing an unusual SQL identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/** `db`.`table` */
export function qualified(database: string, table: string): string {
  return `${ident(database)}.${ident(table)}`;
}

/** First column of the first row as a number (COUNT(*) and friends). */
export function scalarNumber(rows: readonly SqlRow[]): number {
  const first = rows[0];
  if (!first) return 0;
  const v = Object.values(first)[0];
  const n = typeof v === "bigint" ? Number(v) : Number(v ?? 0);
  if (!Number.isFinite(n)) throw new BugError(`expected a number from SQL, got ${String(v)}`);
  return n;
}

/** Runs `fn` with a session and always closes it. */
export async function withSession<T>(
  open: Promise<SqlSession>,
  fn: (s: SqlSession) => Promise<T>,
): Promise<T> {
  const s = await open;
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
