/**
 * FakeSql: an in-memory SqlReader (src/discovery/sql.ts) for discovery's unit tests. Behaviour, exactly:
 *
 * - `on(database, sqlPattern, rows)`: a rule. `database` is the schema the query runs in (`undefined` for
 *   queries without one, `"*"` for any); `sqlPattern` a string (the exact SQL text) or a RegExp (tested against
 *   the SQL text); `rows` an array of row objects or a function `(params, database) => rows` that may throw to
 *   simulate a server error. The most recently added matching rule wins.
 * - A query with no matching rule throws a plain Error naming the database and SQL (fails the test loudly).
 * - `calls` records every query `{database, sql, params}` in order, including failed ones; `closed` counts
 *   close() calls.
 * - The fake does not check that statements only read: discovery wraps it in `readOnlySql`, as it does the real
 *   one, and the tests assert on `calls` themselves.
 */
import type { SqlParam } from "../../../src/db/mysql-client.js";
import type { Row, SqlReader } from "../../../src/discovery/sql.js";

type Rows = readonly Row[] | ((params: readonly SqlParam[], database: string | undefined) => readonly Row[]);

interface Rule {
  readonly database: string | undefined;
  readonly sql: string | RegExp;
  readonly rows: Rows;
}

export interface SqlCall {
  readonly database: string | undefined;
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

export class FakeSql implements SqlReader {
  readonly calls: SqlCall[] = [];
  closed = 0;
  private readonly rules: Rule[] = [];

  on(database: string | undefined, sql: string | RegExp, rows: Rows): this {
    this.rules.push({ database, sql, rows });
    return this;
  }

  query(database: string | undefined, sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    this.calls.push({ database, sql, params });
    const rule = [...this.rules]
      .reverse()
      .find(
        (r) =>
          (r.database === "*" || r.database === database) &&
          (typeof r.sql === "string" ? r.sql === sql : r.sql.test(sql)),
      );
    if (!rule) return Promise.reject(new Error(`FakeSql: no rows scripted for [${database ?? "-"}] ${sql}`));
    try {
      const rows = typeof rule.rows === "function" ? rule.rows(params, database) : rule.rows;
      return Promise.resolve([...rows]);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }
}
