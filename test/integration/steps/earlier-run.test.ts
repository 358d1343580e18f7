/**
 * The marks of src/steps/earlier-run.ts on real processes, over a real loopback sshd: the /proc scan finds a
 * marked wrapper while its command runs, and not the daemon that command left behind (a child that setsid()s,
 * carrying the step's token in its inherited environment, which is why the mark is an argv word); the kill ends
 * the wrapper and its same-session descendants by PID and leaves that daemon alone. Every process started here
 * is stopped by PID. Loopback only. Counts and identities are asserted, not timings.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepEvent } from "../../../src/engine/step.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { realSleep, type StepDeps } from "../../../src/steps/deps.js";
import {
  FIND_TOKEN_SCRIPT,
  TOKEN_VAR,
  markedArgv,
  markedRunning,
  newToken,
  settleEarlierMarked,
} from "../../../src/steps/earlier-run.js";
import { sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";
import { loopbackHost, stepContext } from "./loopback.js";

const skip = sshdSkipReason();
if (skip) console.warn(`SKIPPED earlier-run integration tests: ${skip}`);

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Killed processes are reaped by whoever inherited them; give that a moment (a bound, not a timing claim). */
async function until(cond: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const deps = { sleep: realSleep } as unknown as StepDeps; // settleEarlierMarked uses only sleep

/**
 * What the marked command runs: a "daemon" (`sleep 601`, setsid: a session of its own, stdio detached so it does
 * not hold the SSH channel) and an init script's wait (`sleep 602`, same session), both children of an inner sh,
 * which prints their PIDs, its own and its parent's (the marked wrapper), and waits for the second.
 */
const INNER =
  'setsid sleep 601 </dev/null >/dev/null 2>&1 & echo "daemon $!"; sleep 602 & w=$!; echo "waiter $w $$ $PPID"; wait $w';

describe.skipIf(skip !== undefined)("marked commands over SSH", () => {
  let sshd: Sshd;
  let host: SshHost;
  const started: number[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    host = loopbackHost(sshd, "new");
  }, 60_000);

  afterAll(async () => {
    for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL");
    await host?.close();
    await sshd?.stop();
  });

  it("finds the wrapper while it runs, kills it and its session's descendants, not the setsid daemon", async () => {
    const token = newToken();
    const s = await host.execStream(markedArgv(token, ["sh", "-c", INNER]), { env: { [TOKEN_VAR]: token } });
    s.stderr.resume();
    let out = "";
    s.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    expect(await until(() => /waiter \d+ \d+ \d+/.test(out))).toBe(true);
    const daemon = Number(/daemon (\d+)/.exec(out)?.[1]);
    const [, waiter, inner, wrapper] = (/waiter (\d+) (\d+) (\d+)/.exec(out) ?? []).map(Number);
    started.push(daemon, waiter!, inner!, wrapper!);
    expect([alive(daemon), alive(waiter!), alive(inner!), alive(wrapper!)]).toEqual([true, true, true, true]);
    expect(readFileSync(`/proc/${wrapper}/cmdline`, "utf8").split("\0")).toContain(`handover-${token}`);

    expect(await markedRunning(host, token)).toBe(true);
    // The premise: the daemon carries the token in its environment (an env token would find it forever).
    expect(readFileSync(`/proc/${daemon}/environ`, "utf8").split("\0")).toContain(`${TOKEN_VAR}=${token}`);

    const events: StepEvent[] = [];
    await settleEarlierMarked(deps, stepContext({ new: host }, events), host, token, "test start", 0);
    const warn = events.find((e) => e.type === "log" && e.level === "warn");
    expect(warn?.type === "log" ? warn.message : "").toMatch(/ended it \(killed PIDs [\d, ]+\)$/);
    const killed = (warn?.type === "log" ? warn.message : "").replace(/.*killed PIDs /, "").replace(")", "");
    const pids = killed.split(", ").map(Number);
    expect(pids.sort()).toEqual([waiter, inner, wrapper].sort());
    expect(pids).not.toContain(daemon);

    expect(await until(() => !alive(waiter!) && !alive(inner!) && !alive(wrapper!))).toBe(true);
    expect(await markedRunning(host, token)).toBe(false);
    expect(alive(daemon)).toBe(true);
    expect((await s.done).exitCode).not.toBe(0);
  }, 60_000);

  it("once the command has ended, only the daemon is left: the mark is not found, the env token would be", async () => {
    const token = newToken();
    const r = await host.exec(
      markedArgv(token, ["sh", "-c", 'setsid sleep 603 </dev/null >/dev/null 2>&1 & echo "daemon $!"']),
      { env: { [TOKEN_VAR]: token } },
    );
    expect(r.exitCode).toBe(0);
    const daemon = Number(/daemon (\d+)/.exec(r.stdout)?.[1]);
    started.push(daemon);
    expect(alive(daemon)).toBe(true);

    expect(await markedRunning(host, token)).toBe(false);
    const byEnv = await host.exec(["sh", "-c", FIND_TOKEN_SCRIPT, "sh", `${TOKEN_VAR}=${token}`]);
    expect(byEnv.exitCode).toBe(0);

    // Settling finds nothing to wait for and kills nothing.
    const events: StepEvent[] = [];
    await settleEarlierMarked(deps, stepContext({ new: host }, events), host, token, "test start", 0);
    expect(events).toEqual([]);
    expect(alive(daemon)).toBe(true);
    process.kill(daemon, "SIGKILL");
  }, 60_000);

  it("waits for a marked command that ends by itself within the bound, killing nothing", async () => {
    const token = newToken();
    const s = await host.execStream(markedArgv(token, ["sh", "-c", "sleep 3"]));
    s.stdout.resume();
    s.stderr.resume();
    expect(await until(() => markedRunning(host, token))).toBe(true);
    const events: StepEvent[] = [];
    await settleEarlierMarked(deps, stepContext({ new: host }, events), host, token, "test start", 60_000);
    expect(await markedRunning(host, token)).toBe(false);
    expect((await s.done).exitCode).toBe(0);
    const warns = events.flatMap((e) => (e.type === "log" ? [e.message] : []));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain("waiting up to 60 s for it to end");
  }, 60_000);
});
