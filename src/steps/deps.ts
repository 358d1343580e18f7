/**
 * What step implementations need besides the hosts in their StepContext: the controllers' MySQL admin
 * credentials, a way to open SQL sessions through a host's SSH connection, a clock to wait with, and a source of
 * generated passwords. The CLI builds the real one from the answer file (src/steps/real-deps.ts); unit tests pass
 * fakes. Other step groups may add fields here.
 */
import type { Host } from "../hosts/host.js";
import type { SqlSession } from "../db/sql-session.js";
import { UserError } from "../lib/errors.js";

export interface MysqlAdmin {
  readonly user: string;
  readonly password: string;
  /** Address MySQL listens on, as seen from the controller itself. */
  readonly host: string;
  readonly port: number;
}

export interface OpenSqlOptions {
  readonly database?: string;
  /** Log in as this user instead of the admin (db.create's verify logs in with the service's credentials). */
  readonly as?: { readonly user: string; readonly password: string };
}

export interface StepDeps {
  /** MySQL admin credentials of a controller by host name ("old", "new"). */
  mysqlAdmin(hostName: string): MysqlAdmin;
  /**
   * Opens a SQL session on the host's own MySQL (through its SSH connection). Sessions on "old" are returned
   * read-only by `sqlFor` (src/steps/sql.ts), which every step uses instead of calling this directly.
   */
  openSql(host: Host, options?: OpenSqlOptions): Promise<SqlSession>;
  /** Waits (polling loops); resolves early with a rejection when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A new random password (credentials: new). */
  generatePassword(): string;
  /** Upper bound for waiting on a unit to become active (default 120 s). */
  readonly unitWaitMs?: number;
  /**
   * gate.confirm (added by the config/files/net helper): asks the operator `question` (TTY prompt), or answers from
   * the answer file's `options.<answerKey>` / `--yes`. Resolves true to go on. Absent: every gate refuses.
   */
  confirm?(question: string, answerKey: string): Promise<boolean>;
  /** Upper bound for check.computes to wait for every compute's heartbeat (default 180 s). */
  readonly computeWaitMs?: number;
}

/** setTimeout-based sleep honouring an AbortSignal. */
export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(aborted(signal));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(aborted(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new UserError("ABORTED", "interrupted");
}
