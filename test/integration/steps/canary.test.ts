/**
 * The canary for real, over a real loopback sshd: pings of 127.0.0.1 and ::1 started detached through one SSH
 * command each (the command returns while ping keeps running), found and stopped by PID, logs parsed, dir removed.
 * Loopback only; no network is touched. Counts, not timings, are asserted.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject, StepContext } from "../../../src/engine/step.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { canarySteps } from "../../../src/steps/net/canary.js";
import { realStepDeps } from "../../../src/steps/real-deps.js";
import { sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";
import { loopbackHost, stepContext } from "./loopback.js";

const skip =
  sshdSkipReason() ?? (existsSync("/usr/bin/ping") || existsSync("/bin/ping") ? undefined : "no ping");
if (skip) console.warn(`SKIPPED canary integration tests: ${skip}`);

/** A live (not zombie) ping with that PID. */
function alive(pid: number): boolean {
  try {
    const [stat, comm] = execFileSync("ps", ["-o", "stat=,comm=", "-p", String(pid)], { encoding: "utf8" })
      .trim()
      .split(/\s+/);
    return comm === "ping" && !stat?.startsWith("Z");
  } catch {
    return false;
  }
}

/** Killed processes are reaped by whoever inherited them; give that a moment (a bound, not a timing claim). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.skipIf(skip !== undefined)("net.canary-start/stop over SSH", () => {
  let sshd: Sshd;
  let host: SshHost;
  let ctx: StepContext;
  const checkpoints: JsonObject[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    host = loopbackHost(sshd, "compute1");
    ctx = stepContext({ compute1: host }, [], checkpoints);
  }, 60_000);

  afterAll(async () => {
    // Whatever a failed assertion left running is stopped by PID.
    const pids = checkpoints.flatMap((c) => (Array.isArray(c["pids"]) ? (c["pids"] as number[]) : []));
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
    await host?.close();
    await sshd?.stop();
  });

  it("starts detached pings, stops them by PID and reports replies per address", async () => {
    const [start, stop] = canarySteps(realStepDeps({}));
    const params = { compute: "compute1", addresses: ["127.0.0.1", "::1"] };
    const started = (await start!.run(ctx, params)) as { dir: string; pids: number[] };
    expect(started.pids).toHaveLength(2);
    for (const pid of started.pids) expect(alive(pid)).toBe(true);
    expect(existsSync(started.dir)).toBe(true);
    expect((await start!.verify(ctx, params)).ok).toBe(true);

    // Let a few replies arrive (counts are asserted, not times).
    let replies = 0;
    for (let i = 0; i < 50 && replies < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      replies = execFileSync("cat", [`${started.dir}/ping-127.0.0.1.log`], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.includes("bytes from")).length;
    }

    const out = (await stop!.run(ctx, { compute: "compute1" })) as {
      canary: { address: string; replies: number; blackoutMs: number | null }[];
      blackoutMs: number | null;
    };
    for (const pid of started.pids) expect(await gone(pid)).toBe(true);
    expect(existsSync(started.dir)).toBe(false);
    expect(out.canary.map((c) => c.address).sort()).toEqual(["127.0.0.1", "::1"]);
    const v4 = out.canary.find((c) => c.address === "127.0.0.1")!;
    expect(v4.replies).toBeGreaterThanOrEqual(5);
    expect(typeof v4.blackoutMs).toBe("number");
    expect((await stop!.verify(ctx, { compute: "compute1" })).ok).toBe(true);
  }, 60_000);

  it("undo stops a running canary", async () => {
    const [start] = canarySteps(realStepDeps({}));
    const params = { compute: "compute1", addresses: ["127.0.0.1"] };
    const started = (await start!.run(ctx, params)) as { dir: string; pids: number[] };
    expect(alive(started.pids[0]!)).toBe(true);
    await start!.undo!(ctx, params, started);
    expect(await gone(started.pids[0]!)).toBe(true);
    expect(existsSync(started.dir)).toBe(false);
  }, 60_000);
});
