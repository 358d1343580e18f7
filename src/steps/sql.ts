/**
 * The one way steps open SQL sessions: the old controller's are read-only by construction.
 */
import type { SqlSession } from "../db/sql-session.js";
import { readOnlySession, withSession } from "../db/sql-session.js";
import type { StepContext } from "../engine/step.js";
import type { OpenSqlOptions, StepDeps } from "./deps.js";

/** Host names whose databases steps may only read. */
export const READ_ONLY_HOSTS: ReadonlySet<string> = new Set(["old"]);

export async function sqlFor(
  deps: StepDeps,
  ctx: StepContext,
  hostName: string,
  options: OpenSqlOptions = {},
): Promise<SqlSession> {
  const s = await deps.openSql(ctx.host(hostName), options);
  if (!READ_ONLY_HOSTS.has(hostName)) return s;
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
): Promise<T> {
  return withSession(sqlFor(deps, ctx, hostName, options), fn);
}
