/**
 * The state directory as the commands use it: one call to become its writer (lock, then journal) and one to read
 * it for `status`. Keeps the order right (never open the journal for writing without the lock) and makes sure
 * the lock is released when opening fails.
 */
import * as os from "node:os";
import { Journal, readJournal, type OpenJournalOptions } from "./journal.js";
import { acquireLock, pidIsAlive, readLockInfo, type AcquireLockOptions, type Lock } from "./lock.js";
import { summarizeJournal, type StatusSummary } from "./status.js";

export interface OpenStateOptions extends OpenJournalOptions {
  /** The command taking the lock ("run", "rollback", "finalize"), shown to anyone who finds it locked. */
  readonly command: string;
  /** Lock details for tests (pid, hostname, liveness check, exit hook). */
  readonly lock?: Omit<AcquireLockOptions, "stateDir" | "command">;
}

export interface OpenState {
  readonly journal: Journal;
  readonly lock: Lock;
  /** Close the journal and release the lock. Idempotent. */
  close(): void;
}

export function openStateForWrite(o: OpenStateOptions): OpenState {
  const lock = acquireLock({ stateDir: o.stateDir, command: o.command, ...o.lock });
  try {
    const journal = Journal.open(o);
    const stale = lock.tookOverFrom;
    if (stale) {
      journal.append({
        type: "note",
        level: "warn",
        message:
          `took over the lock of handover ${stale.command ?? ""} pid ${stale.pid} on ${stale.hostname} (since ${stale.startedAt}), which is no longer running`.replace(
            "handover  pid",
            "handover pid",
          ),
      });
    }
    return {
      journal,
      lock,
      close() {
        journal.close();
        lock.release();
      },
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

export interface ReadStatusOptions {
  /** @default signal 0 via process.kill */
  readonly isAlive?: (pid: number) => boolean;
  /** @default os.hostname() */
  readonly hostname?: string;
  /** @default 10 */
  readonly lastEvents?: number;
}

/** The status summary of a state directory, or undefined when nothing has been journaled there. Read-only. */
export function readStatus(stateDir: string, o: ReadStatusOptions = {}): StatusSummary | undefined {
  const read = readJournal(stateDir);
  if (!read) return undefined;
  const lock = readLockInfo(stateDir);
  const hostname = o.hostname ?? os.hostname();
  // A lock from another machine cannot be checked: show it as held, the safer reading.
  const live = lock && (lock.hostname !== hostname || (o.isAlive ?? pidIsAlive)(lock.pid)) ? lock : undefined;
  return summarizeJournal(read.records, {
    ...(live ? { lockedBy: live } : {}),
    ...(read.torn ? { torn: read.torn } : {}),
    ...(o.lastEvents === undefined ? {} : { lastEvents: o.lastEvents }),
  });
}
