/**
 * The SQL side of discovery: a small interface (so tests can use a fake), a guard that lets only reading
 * statements through, and the real implementation over MysqlClient (SSH-tunnelled, parameterised).
 *
 * Read-only in three layers: the guard refuses anything but SELECT / SHOW / CHECKSUM TABLE (and the locking or
 * file-writing forms of SELECT), each real connection is put in READ ONLY transaction mode so the server itself
 * refuses writes, and discovery code only ever sees `SqlReader`, which has no "execute".
 */
import { BugError } from "../lib/errors.js";
import type { MysqlClient, SqlParam } from "../db/mysql-client.js";

export type Row = Readonly<Record<string, unknown>>;

/** Read-only queries against one MySQL server; `database` selects the default schema (undefined: none). */
export interface SqlReader {
  query(database: string | undefined, sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** Opens the server of one controller; rejects (UserError MYSQL_*) when it cannot. */
export type SqlOpener = () => Promise<SqlReader>;

const READING = /^\s*(SELECT|SHOW|CHECKSUM\s+TABLE)\b/i;
const WRITING_FORMS =
  /\b(INTO\s+(OUTFILE|DUMPFILE|@)|FOR\s+UPDATE|LOCK\s+IN\s+SHARE\s+MODE|FOR\s+SHARE)\b|;/i;

/** True for a single statement that only reads. */
export function isReadOnlySql(sql: string): boolean {
  return READING.test(sql) && !WRITING_FORMS.test(sql.replace(/;\s*$/, ""));
}

const IDENTIFIER = /^[A-Za-z0-9_]{1,64}$/;

/** Database names come from the server or from nova's cell mappings: only plain identifiers are used. */
export function isPlainIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** Wraps a reader so a writing statement is a bug, caught before it reaches any server. */
export function readOnlySql(reader: SqlReader): SqlReader {
  return {
    query: (database, sql, params = []) => {
      if (!isReadOnlySql(sql)) {
        return Promise.reject(new BugError(`discovery tried a statement that does not only read: ${sql}`));
      }
      if (database !== undefined && !isPlainIdentifier(database)) {
        return Promise.reject(new BugError(`discovery asked for an odd database name: ${database}`));
      }
      return reader.query(database, sql, params);
    },
    close: () => reader.close(),
  };
}

/**
 * SqlReader over MysqlClient: one connection for queries without a database, opened eagerly (so an unreachable
 * server is found at open time), and one per database on first use (queries from the catalog name tables
 * without their schema).
 */
export class MysqlReader implements SqlReader {
  private readonly byDatabase = new Map<string, Promise<MysqlClient>>();

  private constructor(
    private readonly connect: (database?: string) => Promise<MysqlClient>,
    private readonly main: MysqlClient,
  ) {}

  static async open(connect: (database?: string) => Promise<MysqlClient>): Promise<MysqlReader> {
    const main = await MysqlReader.readOnlyConnection(connect);
    return new MysqlReader(connect, main);
  }

  private static async readOnlyConnection(
    connect: (database?: string) => Promise<MysqlClient>,
    database?: string,
  ): Promise<MysqlClient> {
    const client = await connect(database);
    try {
      // The server refuses any write in this session from here on (MariaDB >= 10.0, MySQL >= 5.6.5).
      await client.execute("SET SESSION TRANSACTION READ ONLY");
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  async query(database: string | undefined, sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    const client = database === undefined ? this.main : await this.forDatabase(database);
    return client.query(sql, params);
  }

  private forDatabase(database: string): Promise<MysqlClient> {
    let p = this.byDatabase.get(database);
    if (!p) {
      p = MysqlReader.readOnlyConnection(this.connect, database);
      // A failed open is not cached: the next query tries again and reports its own error.
      p.catch(() => this.byDatabase.delete(database));
      this.byDatabase.set(database, p);
    }
    return p;
  }

  async close(): Promise<void> {
    const clients = await Promise.allSettled([...this.byDatabase.values()]);
    this.byDatabase.clear();
    await Promise.allSettled([
      this.main.close(),
      ...clients.map((c) => (c.status === "fulfilled" ? c.value.close() : Promise.resolve())),
    ]);
  }
}
