/**
 * MySQL/MariaDB on a controller, reached through an SSH channel (direct-tcpip to the controller's own
 * 127.0.0.1:3306), so the database never has to listen on the network and the password never appears in an argv
 * on any host: it travels inside the MySQL protocol over the SSH connection. Queries are parameterised only:
 * values go in `params`, never into the SQL text.
 */
import type { Duplex } from "node:stream";
import mysql from "mysql2/promise";
import type { Connection, FieldPacket, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { UserError, errorMessage } from "../lib/errors.js";
import { redact } from "../lib/redact.js";

/** Something that can open a TCP stream to an address as seen from a host (SshHost.openTunnel). */
export interface TcpTunnel {
  readonly name: string;
  openTunnel(host: string, port: number): Promise<Duplex>;
}

export interface MysqlConnectOptions {
  readonly user: string;
  /** Already resolved from its SecretRef. */
  readonly password: string;
  /** Port as seen from the controller itself (default 3306). */
  readonly port?: number;
  /** Address as seen from the controller itself (default 127.0.0.1). */
  readonly host?: string;
  readonly database?: string;
  /** Handshake + auth must finish within this (default 15 s). */
  readonly connectTimeoutMs?: number;
}

export const MysqlErrorCode = {
  unreachable: "MYSQL_UNREACHABLE",
  authFailed: "MYSQL_AUTH_FAILED",
  queryFailed: "MYSQL_QUERY_FAILED",
} as const;

export type SqlParam = string | number | bigint | boolean | null | Date | Buffer;

export class MysqlClient {
  private constructor(
    private readonly conn: Connection,
    private readonly where: string,
    private readonly secrets: readonly string[],
  ) {}

  static async connect(via: TcpTunnel, options: MysqlConnectOptions): Promise<MysqlClient> {
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 3306;
    const where = `MySQL on ${via.name} (${host}:${port} as seen from ${via.name}, user ${options.user})`;
    const secrets = [options.password];
    let stream: Duplex;
    try {
      stream = await via.openTunnel(host, port);
    } catch (e) {
      throw new UserError(
        MysqlErrorCode.unreachable,
        redact(`cannot reach ${where}: ${errorMessage(e)}`, secrets),
        {
          nextSteps: [`Check that MySQL/MariaDB runs on ${via.name} and listens on ${host}:${port}.`],
          cause: e,
        },
      );
    }
    try {
      const conn = await mysql.createConnection({
        stream,
        user: options.user,
        password: options.password,
        ...(options.database ? { database: options.database } : {}),
        connectTimeout: options.connectTimeoutMs ?? 15_000,
        multipleStatements: false,
        supportBigNumbers: true,
        dateStrings: true,
      });
      // A dropped connection later is reported by the next query; without a listener it would crash the process.
      conn.on("error", () => undefined);
      return new MysqlClient(conn, where, secrets);
    } catch (e) {
      stream.destroy();
      const errno = (e as { errno?: number }).errno;
      const message = redact(errorMessage(e), secrets);
      // 1044/1045: wrong database grant or password; 1698: MariaDB's unix_socket-only root refusing a password
      // login (a fresh Debian install). All three mean "the server answered and said no", not "unreachable".
      if (errno === 1044 || errno === 1045 || errno === 1698) {
        throw new UserError(MysqlErrorCode.authFailed, `${where} refused the login: ${message}`, {
          nextSteps: [`Check the mysql user and password for ${via.name} in the answer file.`],
        });
      }
      throw new UserError(MysqlErrorCode.unreachable, `cannot talk to ${where}: ${message}`, {
        nextSteps: [`Check that MySQL/MariaDB runs on ${via.name} and listens on ${host}:${port}.`],
      });
    }
  }

  /** Run one statement with `?` placeholders; returns rows for SELECT-like statements. */
  async query<T extends RowDataPacket = RowDataPacket>(
    sql: string,
    params: readonly SqlParam[] = [],
  ): Promise<T[]> {
    const [rows] = await this.raw(sql, params);
    return Array.isArray(rows) ? (rows as T[]) : [];
  }

  /** Run one statement that changes data; returns affected rows. */
  async execute(
    sql: string,
    params: readonly SqlParam[] = [],
  ): Promise<{ affectedRows: number; insertId: number }> {
    const [res] = await this.raw(sql, params);
    const h = res as ResultSetHeader;
    return { affectedRows: h.affectedRows ?? 0, insertId: h.insertId ?? 0 };
  }

  private async raw(sql: string, params: readonly SqlParam[]): Promise<[unknown, FieldPacket[]]> {
    try {
      return await this.conn.query(sql, [...params]);
    } catch (e) {
      throw new UserError(
        MysqlErrorCode.queryFailed,
        // Show the SQL text (placeholders, no values) and the server's message, never the parameters.
        // No `cause`: mysql2 errors carry the SQL with the values filled in, which --debug would print.
        redact(`${this.where}: \`${sql}\` failed: ${errorMessage(e)}`, this.secrets),
        { nextSteps: ["Check the database state named in the message."] },
      );
    }
  }

  async close(): Promise<void> {
    try {
      await this.conn.end();
    } catch {
      this.conn.destroy();
    }
  }
}
