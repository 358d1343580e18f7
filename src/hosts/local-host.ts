/**
 * LocalHost: the machine handover runs on, through child_process (an argv, never a shell) and fs. Same contract
 * and same errors as SshHost, so code that works on one works on the other.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open, rename, rm, stat as fsStat, readFile as fsReadFile, unlink } from "node:fs/promises";
import { createConnection } from "node:net";
import { basename, dirname, join } from "node:path";
import type { Duplex } from "node:stream";
import { UserError, errorMessage } from "../lib/errors.js";
import { redact } from "../lib/redact.js";
import {
  HostErrorCode,
  commandFailedError,
  commandTimeoutError,
  displayCommand,
  fileNotFoundError,
} from "./errors.js";
import type { ExecOptions, ExecResult, ExecStream, FileStat, Host, WriteFileOptions } from "./host.js";

export interface LocalHostOptions {
  readonly name?: string;
  /** Base environment for commands (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class LocalHost implements Host {
  readonly name: string;
  readonly address = "localhost";
  private readonly baseEnv: Readonly<Record<string, string | undefined>>;

  constructor(options: LocalHostOptions = {}) {
    this.name = options.name ?? "local";
    this.baseEnv = options.env ?? process.env;
  }

  private start(argv: readonly string[], options: ExecOptions): ChildProcess {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new UserError(HostErrorCode.commandFailed, `on ${this.name}: empty command`);
    // detached: the command leads its own process group, so a timeout kills it and all its children.
    return spawn(cmd, args, {
      cwd: options.cwd,
      env: { ...this.baseEnv, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
  }

  private spawnError(argv: readonly string[], e: unknown, secrets?: readonly string[]): UserError {
    return new UserError(
      HostErrorCode.commandFailed,
      redact(`on ${this.name}: cannot start \`${displayCommand(argv)}\`: ${errorMessage(e)}`, secrets),
      { nextSteps: ["Check that the program is installed and on PATH."], cause: e },
    );
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const child = this.start(argv, options);
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      child.stdout?.on("data", (c: Buffer) => out.push(c));
      child.stderr?.on("data", (c: Buffer) => err.push(c));
      // A command that exits without reading stdin makes our write fail with EPIPE: that is not an error.
      child.stdin?.on("error", () => undefined);
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              killGroup(child);
            }, options.timeoutMs);
      child.once("error", (e) => {
        if (timer) clearTimeout(timer);
        reject(this.spawnError(argv, e, options.secretsToRedact));
      });
      child.once("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        if (timedOut) {
          return reject(
            commandTimeoutError(this.name, argv, options.timeoutMs ?? 0, options.secretsToRedact),
          );
        }
        resolve({
          exitCode: code ?? -1,
          ...(signal ? { signal } : {}),
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        });
      });
      child.stdin?.end(options.stdin);
    });
  }

  async run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.exec(argv, options);
    if (r.exitCode !== 0 || r.signal) throw commandFailedError(this.name, argv, r, options.secretsToRedact);
    return r;
  }

  async execStream(argv: readonly string[], options: Omit<ExecOptions, "stdin"> = {}): Promise<ExecStream> {
    const child = this.start(argv, options);
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (e) => reject(this.spawnError(argv, e, options.secretsToRedact)));
    });
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => killGroup(child), options.timeoutMs);
    const done = new Promise<{ exitCode: number; signal?: string }>((resolve) => {
      child.once("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve(signal ? { exitCode: -1, signal } : { exitCode: code ?? -1 });
      });
    });
    const { stdin, stdout, stderr } = child;
    if (!stdin || !stdout || !stderr) throw this.spawnError(argv, "no stdio pipes", options.secretsToRedact);
    return { stdin, stdout, stderr, done, kill: () => killGroup(child) };
  }

  /** A TCP stream to host:port from here (for MysqlClient, same shape as SshHost.openTunnel). */
  async openTunnel(host: string, port: number): Promise<Duplex> {
    const sock = createConnection({ host, port });
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", (e) =>
        reject(
          new UserError(HostErrorCode.unreachable, `cannot connect to ${host}:${port}: ${errorMessage(e)}`, {
            cause: e,
          }),
        ),
      );
    });
    return sock;
  }

  async readFile(path: string): Promise<Buffer> {
    try {
      return await fsReadFile(path);
    } catch (e) {
      throw this.fsError("read", path, e);
    }
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await fsStat(path);
      return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, isDirectory: s.isDirectory() };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.fsError("stat", path, e);
    }
  }

  async writeFileAtomic(path: string, data: string | Buffer, options: WriteFileOptions = {}): Promise<void> {
    const existing = await this.stat(path);
    const tmp = join(dirname(path), `.${basename(path)}.handover-${randomBytes(6).toString("hex")}`);
    try {
      // 0600 while we write: new content (maybe a secret) is never readable by others, even briefly.
      const fh = await open(tmp, "wx", 0o600);
      try {
        await fh.writeFile(data);
        const uid = options.uid ?? existing?.uid;
        const gid = options.gid ?? existing?.gid;
        if (uid !== undefined || gid !== undefined) await fh.chown(uid ?? -1, gid ?? -1);
        await fh.chmod(options.mode ?? existing?.mode ?? 0o644);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw this.fsError("write", path, e);
    }
  }

  async removeFile(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw this.fsError("remove", path, e);
    }
  }

  isReachable(): Promise<boolean> {
    return Promise.resolve(true);
  }

  async close(): Promise<void> {
    // Nothing held open.
  }

  private fsError(op: string, path: string, e: unknown): UserError {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && op === "read")
      return fileNotFoundError(this.name, path);
    return new UserError(
      HostErrorCode.fileError,
      `on ${this.name}: cannot ${op} ${path}: ${errorMessage(e)}`,
      {
        nextSteps: [`Check the path and permissions on ${this.name}.`],
        cause: e,
      },
    );
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}
