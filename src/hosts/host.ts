/**
 * The only way handover touches a machine. Engine and services code receives Hosts and never imports ssh2,
 * child_process or fs for remote effects. Implementations: SshHost (ssh2), LocalHost (child_process), and
 * FakeHost for unit tests (behaviour written down in test/fakes/FAKE-HOST.md).
 */
import type { Readable, Writable } from "node:stream";

export interface ExecOptions {
  /** Bytes or text written to the command's stdin, then stdin is closed. */
  readonly stdin?: string | Buffer;
  /** Kill the command after this many milliseconds (default: no limit). */
  readonly timeoutMs?: number;
  /** Strings removed from every message, log line and error produced for this call. */
  readonly secretsToRedact?: readonly string[];
  /** Extra environment for the command (values are passed via the shell, never visible in ps of our side). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory on the host. */
  readonly cwd?: string;
}

export interface ExecResult {
  readonly exitCode: number;
  /** Set when the command was killed by a signal (exitCode is then -1). */
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running command whose streams the caller wires up (for dump | import pipes, rsync progress, etc.). */
export interface ExecStream {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the command exits; never rejects for a non-zero exit. */
  readonly done: Promise<{ exitCode: number; signal?: string }>;
  /** Ask the command to stop (signal where supported, then channel close). */
  kill(): void;
}

export interface FileStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly isDirectory: boolean;
}

export interface WriteFileOptions {
  /** Mode for a new file; an existing file keeps its mode unless this is given. */
  readonly mode?: number;
  /** Owner for a new file; an existing file keeps its owner unless this is given. */
  readonly uid?: number;
  readonly gid?: number;
}

export interface Host {
  /** Short name used in messages and the journal: "old", "new", "compute1". */
  readonly name: string;
  /** Address we reach it on (for messages). */
  readonly address: string;

  /** Run an argv (never a shell string). Non-zero exit is a result, not an exception. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but throws a UserError naming host, command and stderr tail on non-zero exit. */
  run(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Start a command and hand back its streams. */
  execStream(argv: readonly string[], options?: Omit<ExecOptions, "stdin">): Promise<ExecStream>;

  readFile(path: string): Promise<Buffer>;
  /** undefined when the path does not exist. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Temp file in the same directory, fsync, rename; keeps owner and mode of an existing file. */
  writeFileAtomic(path: string, data: string | Buffer, options?: WriteFileOptions): Promise<void>;
  /** Remove a file; missing is fine. */
  removeFile(path: string): Promise<void>;

  /** True when a trivial command runs there. Never throws. */
  isReachable(): Promise<boolean>;
  close(): Promise<void>;
}
