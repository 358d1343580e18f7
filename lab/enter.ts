/**
 * Entering a running lab host: nsenter into its network, mount, UTS and PID namespaces and chroot (via --root) into
 * its overlay root, by targeting the host's PID 1. Used by `shell`, `exec`, start.sh and scenario SQL.
 */
import { spawn, spawnSync, type StdioOptions } from "node:child_process";
import { readState, type HostRecord } from "./state.js";

/** A clean environment inside hosts: nothing of the jump's (tokens, proxies, pyenv) leaks in. */
export function hostEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    TERM: process.env.TERM ?? "xterm",
    ...extra,
  };
}

export function enterArgs(initPid: number, argv: readonly string[]): string[] {
  return ["-t", String(initPid), "-m", "-u", "-n", "-p", "-r", "-w", "--", ...argv];
}

export function findHost(name: string): HostRecord {
  const state = readState();
  if (!state) throw new Error("the lab is not up (run `npm run lab -- up`)");
  const host = state.hosts.find((h) => h.name === name);
  if (!host?.initPid) {
    throw new Error(`no running lab host "${name}" (hosts: ${state.hosts.map((h) => h.name).join(", ")})`);
  }
  return host;
}

/** Run a command in a host, capturing output (stdin from `input`). */
export function execIn(
  host: HostRecord,
  argv: readonly string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): { code: number; stdout: string; stderr: string } {
  const res = spawnSync("nsenter", enterArgs(host.initPid!, argv), {
    input: opts.input,
    env: hostEnv(opts.env),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/** Run a command in a host with the given stdio (interactive shell, or output to a log fd). */
export function spawnIn(
  host: HostRecord,
  argv: readonly string[],
  stdio: StdioOptions,
  env: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", enterArgs(host.initPid!, argv), { stdio, env: hostEnv(env) });
    child.on("error", reject);
    // 'exit', not 'close': daemons started by the command may keep inherited fds open.
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1)));
  });
}
