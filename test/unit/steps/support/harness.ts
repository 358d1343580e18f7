/**
 * Test support for step implementations: a StepContext over FakeHosts that records events and checkpoints, and
 * FakeSql, a scripted SQL server per host name.
 *
 * FakeSql behaviour: `on(pattern, handler, {host?, times?})` — the most recently added rule whose RegExp matches
 * the SQL text (and host, when given) answers; the handler gets the params and returns rows (array) or
 * `{affectedRows}`; a thrown error is the query's error. An unmatched SELECT/SHOW returns no rows, an unmatched
 * other statement affects 0 rows; both are recorded in `statements` like every other call. `failOpen(host, err)`
 * makes opening a session on that host (optionally only as a given user) reject.
 */
import type { JsonObject, StepContext, StepEvent } from "../../../../src/engine/step.js";
import type { Host } from "../../../../src/hosts/host.js";
import type { SqlRow, SqlSession } from "../../../../src/db/sql-session.js";
import type { SqlParam } from "../../../../src/db/mysql-client.js";
import type { MysqlAdmin, OpenSqlOptions, StepDeps } from "../../../../src/steps/deps.js";
import type { FakeHost } from "../../../fakes/fake-host.js";

export interface Harness {
  ctx: StepContext;
  events: StepEvent[];
  checkpoints: JsonObject[];
  abort: AbortController;
}

export function makeCtx(hosts: Record<string, FakeHost>, previousUndoData?: JsonObject): Harness {
  const events: StepEvent[] = [];
  const checkpoints: JsonObject[] = [];
  const abort = new AbortController();
  const ctx: StepContext = {
    host(name: string): Host {
      const h = hosts[name];
      if (!h) throw new Error(`test: no host ${name}`);
      return h;
    },
    emit: (e) => events.push(e),
    signal: abort.signal,
    now: () => new Date("2026-01-01T00:00:00Z"),
    checkpoint: (d) => checkpoints.push(structuredClone(d)),
    ...(previousUndoData ? { previousUndoData } : {}),
  };
  return { ctx, events, checkpoints, abort };
}

export type SqlHandler = (
  params: readonly SqlParam[],
  ctx: { host: string; database?: string; user: string },
) => SqlRow[] | { affectedRows: number };

interface SqlRule {
  re: RegExp;
  handler: SqlHandler;
  host?: string;
  remaining: number;
}

export interface SqlStatement {
  host: string;
  user: string;
  database?: string;
  sql: string;
  params: readonly SqlParam[];
}

export class FakeSql {
  readonly statements: SqlStatement[] = [];
  readonly opens: { host: string; options: OpenSqlOptions }[] = [];
  private readonly rules: SqlRule[] = [];
  private readonly openFailures: { host: string; user?: string; error: Error; remaining: number }[] = [];
  closed = 0;

  on(
    re: RegExp,
    handler: SqlHandler | SqlRow[] | { affectedRows: number },
    opts: { host?: string; times?: number } = {},
  ): this {
    const h: SqlHandler = typeof handler === "function" ? handler : () => handler;
    this.rules.push({
      re,
      handler: h,
      ...(opts.host ? { host: opts.host } : {}),
      remaining: opts.times ?? Infinity,
    });
    return this;
  }

  failOpen(host: string, error: Error, opts: { user?: string; times?: number } = {}): this {
    this.openFailures.push({
      host,
      error,
      remaining: opts.times ?? Infinity,
      ...(opts.user ? { user: opts.user } : {}),
    });
    return this;
  }

  /** SQL texts run on a host, in order. */
  sqlOn(host: string): string[] {
    return this.statements.filter((s) => s.host === host).map((s) => s.sql);
  }

  open(host: Host, options: OpenSqlOptions = {}): Promise<SqlSession> {
    this.opens.push({ host: host.name, options });
    const user = options.as?.user ?? "root";
    for (let i = this.openFailures.length - 1; i >= 0; i--) {
      const f = this.openFailures[i]!;
      if (f.host === host.name && f.remaining > 0 && (f.user === undefined || f.user === user)) {
        f.remaining--;
        return Promise.reject(f.error);
      }
    }
    const run = (sql: string, params: readonly SqlParam[]): SqlRow[] | { affectedRows: number } => {
      this.statements.push({
        host: host.name,
        user,
        ...(options.database ? { database: options.database } : {}),
        sql,
        params,
      });
      for (let i = this.rules.length - 1; i >= 0; i--) {
        const r = this.rules[i]!;
        if (r.remaining > 0 && r.re.test(sql) && (r.host === undefined || r.host === host.name)) {
          r.remaining--;
          return r.handler(params, {
            host: host.name,
            user,
            ...(options.database ? { database: options.database } : {}),
          });
        }
      }
      return /^\s*(SELECT|SHOW)/i.test(sql) ? [] : { affectedRows: 0 };
    };
    return Promise.resolve({
      query: (sql, params = []) => {
        const r = run(sql, params);
        return Promise.resolve(Array.isArray(r) ? r : []);
      },
      execute: (sql, params = []) => {
        const r = run(sql, params);
        return Promise.resolve(Array.isArray(r) ? { affectedRows: 0 } : r);
      },
      close: () => {
        this.closed++;
        return Promise.resolve();
      },
    });
  }
}

export const ADMIN: Record<string, MysqlAdmin> = {
  old: { user: "root", password: "old-admin-pw", host: "127.0.0.1", port: 3306 },
  new: { user: "root", password: "new-admin-pw", host: "127.0.0.1", port: 3306 },
};

export function makeDeps(sql: FakeSql, overrides: Partial<StepDeps> = {}): StepDeps {
  return {
    mysqlAdmin: (n) => {
      const a = ADMIN[n];
      if (!a) throw new Error(`test: no admin for ${n}`);
      return a;
    },
    openSql: (h, o) => sql.open(h, o),
    sleep: () => Promise.resolve(),
    generatePassword: () => "generated-pw-0123456789",
    unitWaitMs: 3000,
    ...overrides,
  };
}

/** Scripts `mktemp -d` (a fresh dir in the fake FS each call) and `rm -rf -- <dir>` (removes its files). */
export function scriptTempDirs(host: FakeHost): { made: string[]; removed: string[] } {
  const made: string[] = [];
  const removed: string[] = [];
  let n = 0;
  host.on(["mktemp", "-d", "/tmp/handover-XXXXXXXXXX"], ({ host: h }) => {
    const dir = `/tmp/handover-${host.name}${String(++n).padStart(8, "0")}`;
    h.addDir(dir);
    made.push(dir);
    return { stdout: `${dir}\n` };
  });
  host.on(
    (argv) => argv[0] === "rm" && argv[1] === "-rf",
    ({ argv, host: h }) => {
      const dir = argv[3] ?? "";
      removed.push(dir);
      for (const f of h.listFiles()) if (f.startsWith(`${dir}/`)) void h.removeFile(f);
      return {};
    },
  );
  return { made, removed };
}

/** Every argv word run on the hosts, for "no secret in any argv" assertions. */
export function allArgv(...hosts: FakeHost[]): string {
  return hosts.flatMap((h) => h.commandLines()).join("\n");
}
