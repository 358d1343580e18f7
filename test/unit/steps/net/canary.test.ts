import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canaryResult, canarySteps, parsePingLog } from "../../../../src/steps/net/canary.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

const FIX = join(import.meta.dirname, "fixtures");
/** Captured with `ping -D -n -i 0.2 -c 5 127.0.0.1` and `ping -6 -D -n -i 0.2 -c 3 ::1` (iputils). */
const V4 = readFileSync(join(FIX, "ping-v4-127.txt"), "utf8");
const V6 = readFileSync(join(FIX, "ping-v6-loopback.txt"), "utf8");

/**
 * What a canary ping killed with SIGTERM leaves: the replies without the statistics block (iputils prints the
 * statistics on SIGINT or at its -w deadline, not on SIGTERM; checked locally with kill -TERM).
 */
const killed = (text: string): string => text.replace(/\n--- [^\n]* ping statistics ---[\s\S]*$/, "\n");

/**
 * A switch as ping -D prints it, built from the real line formats above (and iputils' "no answer yet" from -O,
 * "Destination Host Unreachable" and "(DUP!)" lines): replies every 10 ms, then 120 ms without, then replies.
 */
function switchLog(): string {
  const lines = ["PING 198.51.100.4 (198.51.100.4) 56(84) bytes of data."];
  let t = 1795323403.95;
  let seq = 1;
  const reply = (): void => {
    lines.push(`[${t.toFixed(6)}] 64 bytes from 198.51.100.4: icmp_seq=${seq} ttl=64 time=0.312 ms`);
  };
  for (let i = 0; i < 5; i++, seq++, t += 0.01) reply();
  lines.push(
    `[${(t - 0.01).toFixed(6)}] 64 bytes from 198.51.100.4: icmp_seq=${seq - 1} ttl=64 time=0.5 ms (DUP!)`,
  );
  // 11 requests go unanswered: the last reply above is at t-0.01, the next one 120 ms later.
  for (let i = 0; i < 11; i++, seq++, t += 0.01) {
    lines.push(`[${t.toFixed(6)}] no answer yet for icmp_seq=${seq}`);
    if (i === 3)
      lines.push(`[${t.toFixed(6)}] From 198.51.100.11 icmp_seq=${seq} Destination Host Unreachable`);
  }
  seq++; // one more request lost while the reply clock stays put
  for (let i = 0; i < 3; i++, seq++, t += 0.01) reply();
  return `${lines.join("\n")}\n`;
}

describe("parsePingLog", () => {
  it("reads real ping -D output: replies, first/last stamps, largest gap between replies", () => {
    const p = parsePingLog(V4);
    expect(p.replies).toBe(5);
    expect(p.firstReplyAt).toBe(1795323403.954158);
    expect(p.lastReplyAt).toBe(1795323404.77048);
    // Gaps: 200.5, 208.2, 203.7, 204.0 ms: the largest is between seq 2 and 3.
    expect(p.maxGapMs).toBeCloseTo(208.2, 1);
    expect(p.maxGapFrom).toBe(1795323404.154611);
    expect(p.lastSeq).toBe(5);
  });

  it("reads IPv6 output the same way", () => {
    const p = parsePingLog(V6);
    expect(p.replies).toBe(3);
    expect(p.maxGapMs).toBeCloseTo(204.1, 1);
  });

  it("measures the blackout across no-answer and unreachable lines, ignoring duplicates", () => {
    const p = parsePingLog(switchLog());
    expect(p.replies).toBe(8);
    expect(p.maxGapMs).toBeCloseTo(120, 0);
    expect(p.lastSeq).toBe(20);
  });

  it("an empty or reply-less log has no replies and no gap", () => {
    expect(parsePingLog("")).toEqual({ replies: 0, maxGapMs: 0, lastSeq: 0, ended: false });
    const noReply =
      "PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.\n[1795323319.840288] no answer yet for icmp_seq=1\n";
    expect(parsePingLog(noReply)).toMatchObject({ replies: 0, lastSeq: 1 });
  });
});

describe("canaryResult", () => {
  it("blackout is the largest gap when the address still answers at the stop", () => {
    const log = parsePingLog(switchLog());
    const r = canaryResult("198.51.100.4", log, log.lastReplyAt! + 0.005);
    expect(r.blackoutMs).toBeCloseTo(120, 0);
    expect(r.answeringAtStop).toBe(true);
    expect(r.sent).toBe(20);
    expect(r.blackoutFrom).toBeDefined();
  });

  it("an address that stopped answering: the blackout runs to the stop and is flagged", () => {
    const log = parsePingLog(killed(V4));
    expect(log.ended).toBe(false);
    const r = canaryResult("127.0.0.1", log, log.lastReplyAt! + 5);
    expect(r.blackoutMs).toBeCloseTo(5000, 0);
    expect(r.answeringAtStop).toBe(false);
  });

  it("a ping that ended by itself (statistics printed: its deadline) does not count the quiet time after it", () => {
    const log = parsePingLog(V4);
    expect(log.ended).toBe(true);
    const r = canaryResult("127.0.0.1", log, log.lastReplyAt! + 5);
    expect(r.blackoutMs).toBeCloseTo(208.2, 1);
    expect(r).toMatchObject({ answeringAtStop: false, endedBeforeStop: true });
  });

  it("never answered: no blackout figure", () => {
    expect(canaryResult("10.0.0.1", parsePingLog(""), 1795323404)).toMatchObject({
      blackoutMs: null,
      answeringAtStop: false,
      replies: 0,
    });
  });
});

/**
 * A compute whose processes and files are modelled: `mktemp -d` makes a dir, the detach script "starts" a ping
 * (a process table entry with comm `ping`) and writes `log` to its output file, `ps -o comm= -p` answers from the
 * table, `kill -TERM` removes the entry, `find /tmp ...` lists canary dirs, `rm -rf --` removes a dir's files,
 * `date +%s.%N` prints `clock`.
 */
function computeHost(opts: { log?: (address: string) => string; clock?: number } = {}) {
  const h = new FakeHost("compute1", { unmatched: "throw" });
  const procs = new Map<number, string>();
  const dirs = new Set<string>();
  let nextPid = 4000;
  let n = 0;
  h.on(["mktemp", "-d", "/tmp/handover-canary.XXXXXXXXXX"], ({ host }) => {
    const d = `/tmp/handover-canary.abc${++n}`;
    dirs.add(d);
    host.addDir(d);
    return { stdout: `${d}\n` };
  });
  h.on(
    (argv) => argv[0] === "sh" && argv[1] === "-c",
    ({ argv, host }) => {
      const file = argv[3]!;
      const address = argv[argv.length - 1]!;
      const pid = nextPid++;
      procs.set(pid, "ping");
      host.setFile(file, opts.log?.(address) ?? "");
      return { stdout: `${pid}\n` };
    },
  );
  h.on(["ps", "-o", "comm=", "-p", /\d+/], ({ argv }) => {
    const c = procs.get(Number(argv[4]));
    return c ? { stdout: `${c}\n` } : { exitCode: 1 };
  });
  h.on(["kill", "-TERM", /\d+/], ({ argv }) => {
    procs.delete(Number(argv[2]));
    return {};
  });
  h.on(["find", "/tmp", "-maxdepth", "1", "-type", "d", "-name", "handover-canary.*"], () => ({
    stdout: [...dirs].map((d) => `${d}\n`).join(""),
  }));
  h.on(
    (argv) => argv[0] === "rm" && argv[1] === "-rf",
    ({ argv, host }) => {
      const d = argv[3]!;
      dirs.delete(d);
      for (const f of host.listFiles()) if (f.startsWith(`${d}/`)) void host.removeFile(f);
      return {};
    },
  );
  h.on(["date", "+%s.%N"], { stdout: `${opts.clock ?? 1795323500}\n` });
  return { h, procs, dirs };
}

const [start, stop] = canarySteps(makeDeps(new FakeSql()));
const startParams = { compute: "compute1", addresses: ["198.51.100.4", "2001:db8::4"] };
const stopParams = { compute: "compute1" };

describe("net.canary-start / net.canary-stop", () => {
  it("start checkpoints the dir before any ping, then each PID; argv carries the address as an argument only", async () => {
    const c = computeHost();
    const hx = makeCtx({ compute1: c.h });
    const out = await start!.run(hx.ctx, startParams);
    expect(hx.checkpoints[0]).toEqual({ compute: "compute1", dir: "/tmp/handover-canary.abc1", pids: [] });
    expect(hx.checkpoints.at(-1)).toEqual({
      compute: "compute1",
      dir: "/tmp/handover-canary.abc1",
      pids: [4000, 4001],
    });
    expect(out).toEqual(hx.checkpoints.at(-1));
    const lines = c.h.commandLines();
    // The dir was made before the first ping was started, and no ping before the first checkpoint.
    expect(lines.findIndex((l) => l.startsWith("mktemp"))).toBeLessThan(
      lines.findIndex((l) => l.startsWith("sh -c")),
    );
    const shs = c.h.commands().filter((a) => a[0] === "sh");
    expect(shs[0]!.slice(3)).toEqual([
      "/tmp/handover-canary.abc1/ping-198.51.100.4.log",
      "-D",
      "-n",
      "-i",
      "0.01",
      "-W",
      "1",
      "-w",
      "21600",
      "198.51.100.4",
    ]);
    expect(shs[1]!.slice(4, 5)).toEqual(["-6"]);
    expect(shs[1]!.at(-1)).toBe("2001:db8::4");
    expect(c.h.fileText("/tmp/handover-canary.abc1/pids")).toBe("198.51.100.4 4000\n2001:db8::4 4001\n");
    expect(c.h.getFile("/tmp/handover-canary.abc1/pids")?.mode).toBe(0o600);
    expect((await start!.verify(hx.ctx, startParams)).ok).toBe(true);
  });

  it("refuses an address that is not an IP before touching the host", async () => {
    const c = computeHost();
    await expect(
      start!.run(makeCtx({ compute1: c.h }).ctx, { compute: "compute1", addresses: ["1.2.3.4; reboot"] }),
    ).rejects.toThrow(/not an IP address/);
    expect(c.h.commands()).toEqual([]);
  });

  it("verify fails when the pings died", async () => {
    const c = computeHost();
    const hx = makeCtx({ compute1: c.h });
    await start!.run(hx.ctx, startParams);
    c.procs.clear();
    expect((await start!.verify(hx.ctx, startParams)).ok).toBe(false);
  });

  it("stop kills by PID, reads the logs, removes the dir and reports the blackout", async () => {
    const log = switchLog();
    const last = parsePingLog(log).lastReplyAt!;
    // The v6 log is the real capture moved 10 s earlier: it stopped answering long before the stop.
    const stale = killed(V6).replace(/\[17953234/g, "[17953233");
    const c = computeHost({ log: (a) => (a === "198.51.100.4" ? log : stale), clock: last + 0.004 });
    const hx = makeCtx({ compute1: c.h });
    await start!.run(hx.ctx, startParams);
    const out = (await stop!.run(hx.ctx, stopParams)) as {
      canary: { address: string; blackoutMs: number; replies: number }[];
      blackoutMs: number;
    };
    expect(c.procs.size).toBe(0);
    expect(c.dirs.size).toBe(0);
    expect(c.h.listFiles().filter((f) => f.startsWith("/tmp/handover-canary"))).toEqual([]);
    const v4 = out.canary.find((x) => x.address === "198.51.100.4")!;
    expect(v4.blackoutMs).toBeCloseTo(120, 0);
    expect(v4.replies).toBe(8);
    // v6: from its last reply to the stop (about 9 s) is the blackout, and the largest.
    expect(out.blackoutMs).toBeGreaterThan(8000);
    expect(
      hx.events.some((e) => e.type === "log" && e.level === "warn" && e.message?.includes("NOT answering")),
    ).toBe(true);
    expect(c.h.commandLines().filter((l) => l.startsWith("kill"))).toEqual([
      "kill -TERM 4000",
      "kill -TERM 4001",
    ]);
    expect((await stop!.verify(hx.ctx, stopParams)).ok).toBe(true);
  });

  it("never kills a PID that is no longer a ping (recycled)", async () => {
    const c = computeHost();
    const hx = makeCtx({ compute1: c.h });
    await start!.run(hx.ctx, startParams);
    c.procs.set(4000, "sshd");
    await stop!.run(hx.ctx, stopParams);
    expect(c.procs.get(4000)).toBe("sshd");
    expect(c.h.commandLines()).not.toContain("kill -TERM 4000");
  });

  it("without procps, /proc/PID/comm decides whether a PID is still our ping", async () => {
    const c = computeHost();
    const hx = makeCtx({ compute1: c.h });
    await start!.run(hx.ctx, startParams);
    c.h.on(["ps", "-o", "comm=", "-p", /\d+/], { exitCode: 127, stderr: "sh: 1: ps: not found" });
    c.h.setFile("/proc/4000/comm", "ping\n");
    c.h.setFile("/proc/4001/comm", "bash\n");
    c.procs.set(4001, "bash");
    await stop!.run(hx.ctx, stopParams);
    expect(c.h.commandLines().filter((l) => l.startsWith("kill"))).toEqual(["kill -TERM 4000"]);
    expect(c.procs.get(4001)).toBe("bash");
  });

  it("undo (rollback mid-switch) kills the journaled PIDs and removes the dir; idempotent", async () => {
    const c = computeHost();
    const hx = makeCtx({ compute1: c.h });
    await start!.run(hx.ctx, startParams);
    const undoData = hx.checkpoints.at(-1)!;
    await start!.undo!(hx.ctx, startParams, undoData);
    expect(c.procs.size).toBe(0);
    expect(c.dirs.size).toBe(0);
    await start!.undo!(hx.ctx, startParams, undoData);
    await start!.undo!(hx.ctx, startParams, {});
  });

  it("a redo stops the earlier attempt's canary first", async () => {
    const c = computeHost();
    const first = makeCtx({ compute1: c.h });
    await start!.run(first.ctx, startParams);
    const again = makeCtx({ compute1: c.h }, first.checkpoints.at(-1));
    await start!.run(again.ctx, startParams);
    expect([...c.procs.keys()]).toEqual([4002, 4003]);
    expect([...c.dirs]).toEqual(["/tmp/handover-canary.abc2"]);
  });
});
