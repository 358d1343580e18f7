/**
 * FakeHost: an in-memory Host for unit tests. Its behaviour is written down in FAKE-HOST.md beside this file;
 * keep the two in step. It never touches the network or the real filesystem.
 */
/* eslint-disable @typescript-eslint/require-await -- async so that throws become rejections, as with real hosts */
import { PassThrough } from "node:stream";
import { UserError } from "../../src/lib/errors.js";
import {
  HostErrorCode,
  commandFailedError,
  commandTimeoutError,
  fileNotFoundError,
} from "../../src/hosts/errors.js";
import type {
  ExecOptions,
  ExecResult,
  ExecStream,
  FileStat,
  Host,
  WriteFileOptions,
} from "../../src/hosts/host.js";

/** One element of an argv pattern: exact string, a RegExp tested against the whole argument, or ANY_ARG. */
export type ArgPattern = string | RegExp | typeof ANY_ARG;
/** Matches any one argument. */
export const ANY_ARG: unique symbol = Symbol("any argument");
/** As the last element of a pattern: matches zero or more remaining arguments. */
export const REST: unique symbol = Symbol("rest of argv");

export type ArgvPattern = readonly (ArgPattern | typeof REST)[] | ((argv: readonly string[]) => boolean);

export interface FakeResponse {
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly signal?: string;
  /** Behave as if the command never finishes: with timeoutMs the call fails with HOST_COMMAND_TIMEOUT. */
  readonly hang?: boolean;
}

export interface FakeCallContext {
  readonly argv: readonly string[];
  readonly options: ExecOptions;
  /** What was written to stdin (for execStream: only when the rule sets readsStdin). */
  readonly stdin: Buffer;
  readonly host: FakeHost;
}

export type FakeHandler = FakeResponse | ((ctx: FakeCallContext) => FakeResponse | Promise<FakeResponse>);

export interface RuleOptions {
  /** Use this rule for only this many matching calls, then it is spent. */
  readonly times?: number;
  /** For execStream: compute the response only after the caller ends stdin, so the handler sees it. */
  readonly readsStdin?: boolean;
}

export type FakeCall =
  | {
      readonly kind: "exec" | "run" | "execStream";
      readonly argv: readonly string[];
      readonly options: ExecOptions;
      stdin: Buffer;
    }
  | { readonly kind: "readFile" | "stat" | "removeFile"; readonly path: string }
  | {
      readonly kind: "writeFileAtomic";
      readonly path: string;
      readonly data: Buffer;
      readonly options: WriteFileOptions;
    }
  | { readonly kind: "isReachable" | "close" };

export interface FakeFile {
  data: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

type FileOp = "readFile" | "stat" | "writeFileAtomic" | "removeFile";

interface Rule {
  readonly pattern: ArgvPattern;
  readonly handler: FakeHandler;
  remaining: number;
  readonly readsStdin: boolean;
}

export interface FakeHostOptions {
  readonly address?: string;
  /** What an exec with no matching rule does: "127" (default) returns exit 127 with a stderr saying so; "throw" fails the test. */
  readonly unmatched?: "127" | "throw";
}

export class FakeHost implements Host {
  readonly name: string;
  readonly address: string;
  /** Every call in order, including failed ones. */
  readonly calls: FakeCall[] = [];
  private readonly rules: Rule[] = [];
  private readonly files = new Map<string, FakeFile>();
  private readonly dirs = new Set<string>(["/"]);
  private readonly fileFailures: { op: FileOp; path: string | RegExp; error: Error }[] = [];
  private reachable = true;
  private closed = false;
  private readonly unmatched: "127" | "throw";

  constructor(name: string, options: FakeHostOptions = {}) {
    this.name = name;
    this.address = options.address ?? `${name}.fake`;
    this.unmatched = options.unmatched ?? "127";
  }

  // ---- scripting -------------------------------------------------------------------------------------------

  /** Script a command. The most recently added matching rule wins, so tests can override a default. */
  on(pattern: ArgvPattern, handler: FakeHandler, options: RuleOptions = {}): this {
    this.rules.push({
      pattern,
      handler,
      remaining: options.times ?? Number.POSITIVE_INFINITY,
      readsStdin: options.readsStdin ?? false,
    });
    return this;
  }

  /** Unreachable: exec/run/execStream/file calls throw HOST_UNREACHABLE, isReachable() is false. */
  setReachable(reachable: boolean): this {
    this.reachable = reachable;
    return this;
  }

  /** Make a file operation on a path fail with this error (default: a HOST_FILE_ERROR UserError). */
  failFileOp(op: FileOp, path: string | RegExp, error?: Error): this {
    this.fileFailures.push({
      op,
      path,
      error: error ?? new UserError(HostErrorCode.fileError, `on ${this.name}: injected ${op} failure`),
    });
    return this;
  }

  // ---- in-memory filesystem --------------------------------------------------------------------------------

  /** Put a file (parent directories appear implicitly). Defaults: mode 0o644, uid 0, gid 0. */
  setFile(path: string, data: string | Buffer, meta: Partial<Omit<FakeFile, "data">> = {}): this {
    this.files.set(path, {
      data: Buffer.from(data),
      mode: meta.mode ?? 0o644,
      uid: meta.uid ?? 0,
      gid: meta.gid ?? 0,
    });
    this.addParents(path);
    return this;
  }

  addDir(path: string): this {
    this.dirs.add(path);
    this.addParents(path);
    return this;
  }

  getFile(path: string): FakeFile | undefined {
    return this.files.get(path);
  }

  fileText(path: string): string | undefined {
    return this.files.get(path)?.data.toString("utf8");
  }

  listFiles(): string[] {
    return [...this.files.keys()].sort();
  }

  // ---- inspection ------------------------------------------------------------------------------------------

  /** The argv of every exec/run/execStream call, in order. */
  commands(): string[][] {
    return this.calls.flatMap((c) => ("argv" in c ? [[...c.argv]] : []));
  }

  /** The argvs joined with spaces: handy for `expect(...).toContain("systemctl stop nova-api")`. */
  commandLines(): string[] {
    return this.commands().map((a) => a.join(" "));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- Host ------------------------------------------------------------------------------------------------

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const stdin = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);
    this.calls.push({ kind: "exec", argv: [...argv], options, stdin });
    return this.execInner(argv, options, stdin);
  }

  async run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const stdin = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);
    this.calls.push({ kind: "run", argv: [...argv], options, stdin });
    const result = await this.execInner(argv, options, stdin);
    if (result.exitCode !== 0 || result.signal) {
      throw commandFailedError(this.name, argv, result, options.secretsToRedact);
    }
    return result;
  }

  async execStream(argv: readonly string[], options: Omit<ExecOptions, "stdin"> = {}): Promise<ExecStream> {
    const call = { kind: "execStream" as const, argv: [...argv], options, stdin: Buffer.alloc(0) };
    this.calls.push(call);
    this.assertReachable();
    const rule = this.findRule(argv);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    const stdinEnded = new Promise<void>((resolve) => {
      stdin.on("data", (c: Buffer) => {
        chunks.push(c);
        call.stdin = Buffer.concat(chunks);
      });
      stdin.on("end", () => resolve());
    });
    let killed = false;
    const done = (async () => {
      if (rule?.readsStdin) await stdinEnded;
      const response = await this.respond(rule, argv, options, call.stdin);
      if (killed || response.hang) {
        // A hanging command ends only when killed.
        await new Promise<void>((resolve) => {
          const check = (): void => (killed ? resolve() : void setTimeout(check, 5));
          check();
        });
        stdout.end();
        stderr.end();
        return { exitCode: -1, signal: "SIGTERM" };
      }
      stdout.end(response.stdout ?? "");
      stderr.end(response.stderr ?? "");
      return response.signal
        ? { exitCode: -1, signal: response.signal }
        : { exitCode: response.exitCode ?? 0 };
    })();
    return {
      stdin,
      stdout,
      stderr,
      done,
      kill: () => {
        killed = true;
      },
    };
  }

  async readFile(path: string): Promise<Buffer> {
    this.calls.push({ kind: "readFile", path });
    this.assertReachable();
    this.maybeFail("readFile", path);
    const f = this.files.get(path);
    if (!f) throw fileNotFoundError(this.name, path);
    return Buffer.from(f.data);
  }

  async stat(path: string): Promise<FileStat | undefined> {
    this.calls.push({ kind: "stat", path });
    this.assertReachable();
    this.maybeFail("stat", path);
    const f = this.files.get(path);
    if (f) return { mode: f.mode, uid: f.uid, gid: f.gid, size: f.data.length, isDirectory: false };
    if (this.dirs.has(path)) return { mode: 0o755, uid: 0, gid: 0, size: 4096, isDirectory: true };
    return undefined;
  }

  async writeFileAtomic(path: string, data: string | Buffer, options: WriteFileOptions = {}): Promise<void> {
    const buf = Buffer.from(data);
    this.calls.push({ kind: "writeFileAtomic", path, data: buf, options });
    this.assertReachable();
    this.maybeFail("writeFileAtomic", path);
    const parent = parentOf(path);
    if (!this.dirs.has(parent)) {
      throw new UserError(
        HostErrorCode.fileError,
        `on ${this.name}: cannot write ${path}: ${parent} does not exist`,
      );
    }
    const existing = this.files.get(path);
    this.files.set(path, {
      data: buf,
      mode: options.mode ?? existing?.mode ?? 0o644,
      uid: options.uid ?? existing?.uid ?? 0,
      gid: options.gid ?? existing?.gid ?? 0,
    });
  }

  async removeFile(path: string): Promise<void> {
    this.calls.push({ kind: "removeFile", path });
    this.assertReachable();
    this.maybeFail("removeFile", path);
    this.files.delete(path);
  }

  async isReachable(): Promise<boolean> {
    this.calls.push({ kind: "isReachable" });
    return this.reachable;
  }

  async close(): Promise<void> {
    this.calls.push({ kind: "close" });
    this.closed = true;
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private async execInner(argv: readonly string[], options: ExecOptions, stdin: Buffer): Promise<ExecResult> {
    this.assertReachable();
    const rule = this.findRule(argv);
    const response = await this.respond(rule, argv, options, stdin);
    if (response.hang) {
      if (options.timeoutMs !== undefined)
        throw commandTimeoutError(this.name, argv, options.timeoutMs, options.secretsToRedact);
      // Without a timeout a real hang would block forever; in a test that is a bug in the test.
      throw new Error(`FakeHost ${this.name}: command hangs and no timeoutMs was given: ${argv.join(" ")}`);
    }
    // Results are data and are not redacted (as with the real hosts); errors built from them are.
    return {
      exitCode: response.signal ? -1 : (response.exitCode ?? 0),
      ...(response.signal ? { signal: response.signal } : {}),
      stdout: response.stdout ?? "",
      stderr: response.stderr ?? "",
    };
  }

  private async respond(
    rule: Rule | undefined,
    argv: readonly string[],
    options: ExecOptions,
    stdin: Buffer,
  ): Promise<FakeResponse> {
    if (!rule) {
      if (this.unmatched === "throw") {
        throw new Error(`FakeHost ${this.name}: no scripted response for: ${JSON.stringify(argv)}`);
      }
      return {
        exitCode: 127,
        stderr: `fakehost ${this.name}: no scripted response for: ${argv.join(" ")}\n`,
      };
    }
    const h = rule.handler;
    return typeof h === "function" ? h({ argv, options, stdin, host: this }) : h;
  }

  private findRule(argv: readonly string[]): Rule | undefined {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i]!;
      if (r.remaining > 0 && matches(r.pattern, argv)) {
        r.remaining--;
        return r;
      }
    }
    return undefined;
  }

  private assertReachable(): void {
    if (!this.reachable) {
      throw new UserError(
        HostErrorCode.unreachable,
        `cannot reach ${this.name} (${this.address}): fake host is unreachable`,
      );
    }
  }

  private maybeFail(op: FileOp, path: string): void {
    const f = this.fileFailures.find(
      (x) => x.op === op && (typeof x.path === "string" ? x.path === path : x.path.test(path)),
    );
    if (f) throw f.error;
  }

  private addParents(path: string): void {
    let p = parentOf(path);
    while (!this.dirs.has(p)) {
      this.dirs.add(p);
      p = parentOf(p);
    }
  }
}

function parentOf(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function matches(pattern: ArgvPattern, argv: readonly string[]): boolean {
  if (typeof pattern === "function") return pattern(argv);
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === REST) return true;
    const a = argv[i];
    if (a === undefined) return false;
    if (p === ANY_ARG) continue;
    if (typeof p === "string" ? p !== a : !fullMatch(p, a)) return false;
  }
  return argv.length === pattern.length;
}

function fullMatch(re: RegExp, s: string): boolean {
  const m = new RegExp(re.source, re.flags.replace("g", "")).exec(s);
  return m !== null && m.index === 0 && m[0].length === s.length;
}
