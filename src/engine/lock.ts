/**
 * One writer per state directory. `handover.lock` is created with O_EXCL and holds the owner's pid, hostname and
 * start time. A lock whose pid is alive on this host refuses the second writer, saying who holds it; a lock whose
 * pid is dead (a crashed or killed handover) is taken over, and the caller is told so it can journal a note. A lock
 * from another hostname (state dir on shared storage) cannot be checked from here, so it refuses too.
 *
 * Known limit: two processes that find the same stale lock at the same instant could both take it over; we
 * re-read the file just before removing it to make the window tiny. Operators run one handover at a time; this
 * guards against the mistakes (a second terminal, a forgotten tmux pane), not against a race by design.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UserError } from "../lib/errors.js";

export const LOCK_FILE = "handover.lock";

export interface LockInfo {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  /** The command holding it ("run", "rollback"), for the message the next operator sees. */
  readonly command?: string;
}

export interface AcquireLockOptions {
  readonly stateDir: string;
  readonly command?: string;
  /** @default process.pid */
  readonly pid?: number;
  /** @default os.hostname() */
  readonly hostname?: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Whether a pid is alive on this host. @default signal 0 via process.kill */
  readonly isAlive?: (pid: number) => boolean;
  /**
   * Remove the lock when the process exits, even without release() (normal exit, or an uncaught error).
   * A SIGKILL leaves it behind; the next run then finds it stale and takes over.
   * @default true
   */
  readonly releaseOnExit?: boolean;
}

export interface Lock {
  readonly file: string;
  readonly info: LockInfo;
  /** The stale lock this one replaced; journal a note about it. */
  readonly tookOverFrom?: LockInfo;
  /** Remove the lock file if it is still ours. Idempotent. */
  release(): void;
}

export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else; that is alive.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseLockInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === "number" && typeof v.hostname === "string" && typeof v.startedAt === "string") {
      return { pid: v.pid, hostname: v.hostname, startedAt: v.startedAt, command: v.command };
    }
  } catch {
    // fall through: unreadable
  }
  return undefined;
}

function readRaw(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Who holds the lock in a state dir, if anyone (for `handover status`). Does not check liveness. */
export function readLockInfo(stateDir: string): LockInfo | undefined {
  const raw = readRaw(path.join(stateDir, LOCK_FILE));
  return raw === undefined ? undefined : parseLockInfo(raw);
}

function describe(info: LockInfo): string {
  return `${info.command ? `handover ${info.command}` : "handover"} (pid ${info.pid} on ${info.hostname}, since ${info.startedAt})`;
}

function tryCreate(file: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(info)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

export function acquireLock(o: AcquireLockOptions): Lock {
  const file = path.join(o.stateDir, LOCK_FILE);
  fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const info: LockInfo = {
    pid: o.pid ?? process.pid,
    hostname: o.hostname ?? os.hostname(),
    startedAt: (o.now ?? (() => new Date()))().toISOString(),
    ...(o.command === undefined ? {} : { command: o.command }),
  };
  const isAlive = o.isAlive ?? pidIsAlive;
  let tookOverFrom: LockInfo | undefined;

  if (!tryCreate(file, info)) {
    const raw = readRaw(file);
    if (raw === undefined) {
      // Released between our attempt and the read: try once more.
      if (!tryCreate(file, info)) throw heldError(file, undefined);
    } else {
      const held = parseLockInfo(raw);
      if (!held) throw heldError(file, undefined);
      if (held.hostname !== info.hostname) {
        throw new UserError(
          "STATE_LOCKED",
          `The state directory is locked by ${describe(held)}, another machine; handover cannot check from here whether it still runs.`,
          {
            nextSteps: [
              `Check on ${held.hostname} whether handover is still running (ps -p ${held.pid}).`,
              `If it is not, remove ${file} and retry.`,
            ],
          },
        );
      }
      if (isAlive(held.pid)) throw heldError(file, held);
      // Stale: the holder died without releasing. Re-read right before removing, to avoid removing a lock
      // that another process has just taken over.
      if (readRaw(file) !== raw) throw heldError(file, parseLockInfo(readRaw(file) ?? ""));
      fs.rmSync(file, { force: true });
      if (!tryCreate(file, info)) throw heldError(file, parseLockInfo(readRaw(file) ?? ""));
      tookOverFrom = held;
    }
  }

  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener("exit", release);
    // Only remove it if it is still ours (an operator may have removed it and another run taken it).
    const now = readRaw(file);
    const current = now === undefined ? undefined : parseLockInfo(now);
    if (current && current.pid === info.pid && current.startedAt === info.startedAt)
      fs.rmSync(file, { force: true });
  };
  if (o.releaseOnExit ?? true) process.on("exit", release);
  return { file, info, ...(tookOverFrom ? { tookOverFrom } : {}), release };
}

function heldError(file: string, held: LockInfo | undefined): UserError {
  if (!held) {
    return new UserError("STATE_LOCKED", `The lock file ${file} exists but cannot be read.`, {
      nextSteps: [
        "Make sure no handover is running against this state directory, then remove the lock file and retry.",
      ],
    });
  }
  return new UserError(
    "STATE_LOCKED",
    `Another handover is working on this state directory: ${describe(held)}.`,
    {
      nextSteps: [
        "Wait for it to finish, or stop it with Ctrl-C (it stops safely and can be resumed).",
        `If pid ${held.pid} is not handover (a reused pid), remove ${file} and retry.`,
      ],
    },
  );
}
