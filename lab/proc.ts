/**
 * Running commands on the jump. The lab is test tooling, so it uses child_process directly; every helper here
 * keeps secrets out of argv (they travel by stdin, env or files) and reports failures with the command's output.
 */
import { spawn, spawnSync } from "node:child_process";

export interface RunOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Do not throw on a non-zero exit. */
  readonly allowFail?: boolean;
  readonly cwd?: string;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a short command synchronously and capture its output (ip, mount, nsenter one-liners). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const res = spawnSync(cmd, args, {
    input: opts.input,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    encoding: "utf8",
    cwd: opts.cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) throw new Error(`${cmd}: ${res.error.message}`);
  const result = { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
  if (result.code !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${result.code}: ${(res.stderr || res.stdout).trim()}`);
  }
  return result;
}

/**
 * Run a long command asynchronously with its output appended to a log file (so long builds don't fill memory),
 * resolving with the exit code. On failure the caller shows the log's tail.
 */
export function runLogged(
  cmd: string,
  args: readonly string[],
  logFd: number,
  opts: { env?: Readonly<Record<string, string>>; input?: string; cwd?: string } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.input === undefined ? "ignore" : "pipe", logFd, logFd],
      cwd: opts.cwd,
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on("error", reject);
    // 'exit', not 'close': daemons a script leaves behind may hold the log fd open forever.
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1)));
  });
}

/** True when `cmd` is found on PATH. */
export function haveCommand(cmd: string): boolean {
  return run("sh", ["-c", `command -v ${cmd}`], { allowFail: true }).code === 0;
}
