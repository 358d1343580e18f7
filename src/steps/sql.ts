/**
 * The one way steps open SQL sessions. The old controller's are read-only by construction (server-side session
 * mode and a wrapper that refuses to send writes). On the new controller, whose MariaDB handover installed, the
 * answer file's admin login is set up through root's unix socket the first time the server refuses it.
 */
import { MysqlErrorCode } from "../db/mysql-client.js";
import { bootstrapAdmin } from "../db/mysql-cli.js";
import type { SqlSession } from "../db/sql-session.js";
import { readOnlySession, withSession } from "../db/sql-session.js";
import type { StepContext } from "../engine/step.js";
import { isUserError } from "../lib/errors.js";
import type { OpenSqlOptions, StepDeps } from "./deps.js";

/** Host names whose databases steps may only read. */
export const READ_ONLY_HOSTS: ReadonlySet<string> = new Set(["old"]);

export interface SqlForOptions {
  /** Set up the admin login on a refusing new server (default true; read-only checks pass false). */
  readonly bootstrapAdmin?: boolean;
}

/**
 * The server refused the login. A fresh MariaDB's root@localhost authenticates by unix_socket only and answers
 * "Access denied for user 'root'@'localhost'" (ER_ACCESS_DENIED_NO_PASSWORD_ERROR, 1698), which MysqlClient
 * currently reports as unreachable; the message tells them apart.
 */
export function isLoginRefused(e: unknown): boolean {
  if (!isUserError(e)) return false;
  if (e.code === MysqlErrorCode.authFailed) return true;
  return e.code === MysqlErrorCode.unreachable && /Access denied for user/i.test(e.message);
}

export async function sqlFor(
  deps: StepDeps,
  ctx: StepContext,
  hostName: string,
  options: OpenSqlOptions = {},
  how: SqlForOptions = {},
): Promise<SqlSession> {
  const host = ctx.host(hostName);
  const readOnly = READ_ONLY_HOSTS.has(hostName);
  let s: SqlSession;
  try {
    s = await deps.openSql(host, options);
  } catch (e) {
    if (readOnly || options.as || how.bootstrapAdmin === false || !isLoginRefused(e)) throw e;
    await bootstrapAdmin(host, deps.mysqlAdmin(hostName));
    s = await deps.openSql(host, options);
  }
  if (!readOnly) return s;
  try {
    // Twice read-only: the server itself refuses writes in this session, and the wrapper refuses to send them.
    await s.execute("SET SESSION TRANSACTION READ ONLY");
  } catch (e) {
    await s.close();
    throw e;
  }
  return readOnlySession(s, `the ${hostName} controller's MySQL`);
}

export function withSql<T>(
  deps: StepDeps,
  ctx: StepContext,
  hostName: string,
  fn: (s: SqlSession) => Promise<T>,
  options: OpenSqlOptions = {},
  how: SqlForOptions = {},
): Promise<T> {
  return withSession(sqlFor(deps, ctx, hostName, options, how), fn);
}
