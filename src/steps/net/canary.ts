/**
 * net.canary-start / net.canary-stop: a compute host pings every moved address at 10 ms intervals through the
 * switch, and the blackout is measured as the largest wall-clock gap between consecutive replies (issue 6). The
 * timestamps are ping's own (`-D`: the compute's clock), so neither SSH latency nor the controller's clock enter
 * the measurement.
 *
 * Start: `mktemp -d /tmp/handover-canary.XXXXXXXXXX` (private, 0700) on the compute, checkpointed BEFORE any ping
 * starts; then per address one `ping -D -n -i 0.01 -W 1 <addr>` (`-6` for IPv6) detached with setsid, output to a
 * file in that dir, its PID checkpointed and written to `<dir>/pids` as soon as it is known. The shell script is a
 * constant; the address and the file are positional arguments (and the address was validated as an IP).
 *
 * Stop: finds the canary dirs on the compute (the `pids` file in each), kills each PID only after `ps` says it is
 * still a `ping` (never by name), reads the logs, removes the dirs. The numbers go to the journal (run's return
 * value) and a log line. Finding the dirs on the host rather than in the journal keeps stop and verify working
 * from the hosts alone, and a crashed earlier attempt's canary is cleaned up with the current one.
 *
 * Undo of start (rollback mid-switch): the same kill-and-remove, from the journaled PIDs and the dirs found.
 */
import type { JsonObject, JsonValue, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";
import { normaliseIp } from "../../net/addresses.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";

export const CANARY_DIR_PREFIX = "/tmp/handover-canary.";
const PIDS_FILE = "pids";
/** Runs ping in a new session (so it outlives the SSH channel) and prints its PID (setsid execs, same PID). */
const DETACH_SCRIPT = 'setsid ping "$@" >"$0" 2>&1 </dev/null & echo $!';

// ---------------------------------------------------------------------------------------------------------------
// Parsing `ping -D` output (pure)

export interface PingLog {
  /** Echo replies (duplicates not counted). */
  readonly replies: number;
  /** Seconds since the epoch (ping's -D stamp) of the first and last reply. */
  readonly firstReplyAt?: number;
  readonly lastReplyAt?: number;
  /** Largest gap between consecutive replies, in ms, and where it started/ended (epoch seconds). */
  readonly maxGapMs: number;
  readonly maxGapFrom?: number;
  readonly maxGapTo?: number;
  /** Highest icmp_seq sent that ping reported (replies or "no answer yet"), for a loss figure. */
  readonly lastSeq: number;
  /** ping printed its statistics: it ended by itself (deadline) before the stop. */
  readonly ended: boolean;
}

const REPLY = /^\[(\d+(?:\.\d+)?)\]\s+\d+ bytes from .*\bicmp_seq=(\d+)\b(.*)$/;
const SEQ = /\bicmp_seq=(\d+)\b/;

/** Reads `ping -D -n` output: reply lines carry `[epoch.micro]`; everything else only advances the seq count. */
export function parsePingLog(text: string): PingLog {
  let replies = 0;
  let first: number | undefined;
  let last: number | undefined;
  let maxGapMs = 0;
  let maxGapFrom: number | undefined;
  let maxGapTo: number | undefined;
  let lastSeq = 0;
  let ended = false;
  for (const line of text.split("\n")) {
    if (/^\d+ packets transmitted, /.test(line)) ended = true;
    const seq = SEQ.exec(line);
    if (seq) lastSeq = Math.max(lastSeq, Number(seq[1]));
    const m = REPLY.exec(line);
    if (!m || m[3]?.includes("DUP!")) continue;
    const t = Number(m[1]);
    replies++;
    if (last !== undefined) {
      const gap = (t - last) * 1000;
      if (gap > maxGapMs) {
        maxGapMs = gap;
        maxGapFrom = last;
        maxGapTo = t;
      }
    }
    first ??= t;
    last = t;
  }
  return {
    replies,
    ...(first !== undefined ? { firstReplyAt: first } : {}),
    ...(last !== undefined ? { lastReplyAt: last } : {}),
    maxGapMs: Math.round(maxGapMs * 10) / 10,
    ...(maxGapFrom !== undefined ? { maxGapFrom, maxGapTo: maxGapTo! } : {}),
    lastSeq,
    ended,
  };
}

export interface CanaryResult {
  readonly address: string;
  readonly replies: number;
  /** Echo requests ping numbered (a loss figure: sent - replies). */
  readonly sent: number;
  /**
   * The longest time without a reply, ms: the largest gap between replies, or the time from the last reply to
   * the stop when that is longer (the address stopped answering). Null when it never answered.
   */
  readonly blackoutMs: number | null;
  readonly blackoutFrom?: string;
  readonly blackoutTo?: string;
  readonly firstReply?: string;
  readonly lastReply?: string;
  /** It answered in the last second before the stop. */
  readonly answeringAtStop: boolean;
  /** ping had already ended by itself (its deadline) when the canary was stopped. */
  readonly endedBeforeStop?: boolean;
}

const iso = (epochSeconds: number): string => new Date(Math.round(epochSeconds * 1000)).toISOString();

/** One address's numbers; `stoppedAt` is the compute's clock (epoch seconds) just before the canary was killed. */
export function canaryResult(address: string, log: PingLog, stoppedAt: number): CanaryResult {
  const base = { address, replies: log.replies, sent: Math.max(log.lastSeq, log.replies) };
  if (log.lastReplyAt === undefined || log.firstReplyAt === undefined) {
    return { ...base, blackoutMs: null, answeringAtStop: false };
  }
  // A ping that ended by itself stopped asking: the quiet time after its end is not a blackout.
  const tailMs = log.ended ? 0 : Math.max(0, (stoppedAt - log.lastReplyAt) * 1000);
  const tail = tailMs > log.maxGapMs;
  return {
    ...base,
    blackoutMs: Math.round((tail ? tailMs : log.maxGapMs) * 10) / 10,
    ...(tail
      ? { blackoutFrom: iso(log.lastReplyAt), blackoutTo: iso(stoppedAt) }
      : log.maxGapFrom !== undefined
        ? { blackoutFrom: iso(log.maxGapFrom), blackoutTo: iso(log.maxGapTo!) }
        : {}),
    firstReply: iso(log.firstReplyAt),
    lastReply: iso(log.lastReplyAt),
    answeringAtStop: !log.ended && tailMs <= 1000,
    ...(log.ended ? { endedBeforeStop: true } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Host side

interface CanaryParams {
  compute: string;
  addresses: string[];
}

function read(kind: string, raw: JsonObject): CanaryParams {
  const p = new Params(kind, raw);
  const compute = p.str("compute");
  const addresses = kind === "net.canary-start" ? p.strs("addresses").map(normaliseIp) : [];
  return { compute, addresses };
}

const logName = (address: string): string => `ping-${address.replace(/:/g, "_")}.log`;

/**
 * A canary nobody stops (handover killed and never resumed or rolled back) must not ping a production address 100
 * times a second forever: ping exits by itself after this many seconds (`-w`), longer than any switch.
 */
export const CANARY_DEADLINE_S = 6 * 3600;

function pingArgs(address: string): string[] {
  return [
    ...(address.includes(":") ? ["-6"] : []),
    "-D",
    "-n",
    "-i",
    "0.01",
    "-W",
    "1",
    "-w",
    String(CANARY_DEADLINE_S),
    address,
  ];
}

/** Canary dirs on the compute (this and earlier attempts). */
async function canaryDirs(host: Host): Promise<string[]> {
  const r = await host.exec(["find", "/tmp", "-maxdepth", "1", "-type", "d", "-name", "handover-canary.*"]);
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith(CANARY_DIR_PREFIX) && !l.includes("/", CANARY_DIR_PREFIX.length));
}

/** `address pid` lines of a dir's pids file. */
async function pidsIn(host: Host, dir: string): Promise<{ address: string; pid: number }[]> {
  let text: string;
  try {
    text = (await host.readFile(`${dir}/${PIDS_FILE}`)).toString("utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 2 && /^\d+$/.test(f[1]!))
    .map((f) => ({ address: f[0]!, pid: Number(f[1]) }));
}

/** True when PID is alive and is a ping (a recycled PID is left alone). */
async function isPing(host: Host, pid: number): Promise<boolean> {
  const r = await host.exec(["ps", "-o", "comm=", "-p", String(pid)]);
  if (r.exitCode !== 127) return r.exitCode === 0 && r.stdout.trim() === "ping";
  // No procps (minimal images): the kernel's own record of the command name.
  try {
    return (await host.readFile(`/proc/${pid}/comm`)).toString("utf8").trim() === "ping";
  } catch {
    return false;
  }
}

async function killPings(host: Host, pids: readonly number[]): Promise<number> {
  let killed = 0;
  for (const pid of new Set(pids)) {
    if (!(await isPing(host, pid))) continue;
    const r = await host.exec(["kill", "-TERM", String(pid)]);
    if (r.exitCode === 0) killed++;
  }
  return killed;
}

async function removeDir(host: Host, dir: string): Promise<void> {
  if (!dir.startsWith(CANARY_DIR_PREFIX) || dir.includes("..")) return;
  await host.run(["rm", "-rf", "--", dir]);
}

function pidList(v: JsonValue | undefined): number[] {
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is number => typeof x === "number" && Number.isInteger(x) && x > 1);
}

/** Kills every canary ping (journaled PIDs and the dirs' pids files) and removes the dirs; returns the dirs. */
async function stopAll(host: Host, journaled: JsonObject | undefined): Promise<string[]> {
  const dirs = new Set(await canaryDirs(host));
  const dir = journaled?.["dir"];
  if (typeof dir === "string" && dir.startsWith(CANARY_DIR_PREFIX)) dirs.add(dir);
  const pids = pidList(journaled?.["pids"]);
  for (const d of dirs) pids.push(...(await pidsIn(host, d)).map((x) => x.pid));
  await killPings(host, pids);
  return [...dirs];
}

async function startCanary(ctx: StepContext, raw: JsonObject): Promise<JsonObject> {
  const p = read("net.canary-start", raw);
  const host = ctx.host(p.compute);
  // A redo: the earlier attempt's canary goes first (its numbers would mix with this one's).
  for (const d of await stopAll(host, ctx.previousUndoData)) await removeDir(host, d);
  const made = await host.run(["mktemp", "-d", `${CANARY_DIR_PREFIX}XXXXXXXXXX`]);
  const dir = made.stdout.trim();
  if (!dir.startsWith(CANARY_DIR_PREFIX)) {
    throw new UserError("CANARY_TEMP", `mktemp on ${p.compute} gave an unexpected path: ${dir}`);
  }
  const pids: number[] = [];
  const state = (): JsonObject => ({ compute: p.compute, dir, pids: [...pids] });
  ctx.checkpoint?.(state());
  const lines: string[] = [];
  for (const address of p.addresses) {
    const r = await host.run(["sh", "-c", DETACH_SCRIPT, `${dir}/${logName(address)}`, ...pingArgs(address)]);
    const pid = Number(r.stdout.trim());
    if (!Number.isInteger(pid) || pid <= 1) {
      throw new UserError("CANARY_START", `could not start the canary ping for ${address} on ${p.compute}`);
    }
    pids.push(pid);
    lines.push(`${address} ${pid}`);
    ctx.checkpoint?.(state());
    await host.writeFileAtomic(`${dir}/${PIDS_FILE}`, `${lines.join("\n")}\n`, { mode: 0o600 });
  }
  ctx.emit({
    type: "log",
    level: "info",
    message: `canary on ${p.compute}: pinging ${p.addresses.join(", ")} every 10 ms`,
  });
  return state();
}

async function verifyStarted(ctx: StepContext, raw: JsonObject): Promise<VerifyResult> {
  const p = read("net.canary-start", raw);
  const host = ctx.host(p.compute);
  for (const dir of await canaryDirs(host)) {
    const running = await pidsIn(host, dir);
    const alive: string[] = [];
    for (const x of running) if (await isPing(host, x.pid)) alive.push(x.address);
    if (p.addresses.every((a) => alive.includes(a))) {
      return { ok: true, detail: `pinging ${p.addresses.join(", ")} from ${p.compute} (${dir})` };
    }
  }
  return { ok: false, detail: `no running canary for ${p.addresses.join(", ")} on ${p.compute}` };
}

async function stopCanary(ctx: StepContext, raw: JsonObject): Promise<JsonObject> {
  const p = read("net.canary-stop", raw);
  const host = ctx.host(p.compute);
  const clock = await host.run(["date", "+%s.%N"]);
  const stoppedAt = Number(clock.stdout.trim());
  const dirs = await stopAll(host, undefined);
  const results: CanaryResult[] = [];
  for (const dir of dirs) {
    for (const { address } of await pidsIn(host, dir)) {
      let text = "";
      try {
        text = (await host.readFile(`${dir}/${logName(address)}`)).toString("utf8");
      } catch {
        // A missing log reads as no replies: reported, not fatal (the switch itself is what matters).
      }
      results.push(canaryResult(address, parsePingLog(text), stoppedAt));
    }
  }
  for (const dir of dirs) await removeDir(host, dir);
  const measured = results.map((r) => r.blackoutMs).filter((x): x is number => x !== null);
  const blackoutMs = measured.length > 0 ? Math.max(...measured) : null;
  const silent = results.filter((r) => !r.answeringAtStop).map((r) => r.address);
  ctx.emit({
    type: "log",
    level: silent.length > 0 ? "warn" : "info",
    message:
      results.length === 0
        ? `canary on ${p.compute}: nothing to read (no canary was running)`
        : `canary on ${p.compute}: blackout ${blackoutMs ?? "?"} ms (${results
            .map(
              (r) =>
                `${r.address} ${r.blackoutMs ?? "never answered"}${r.blackoutMs !== null ? " ms" : ""}, ${r.replies}/${r.sent} replies`,
            )
            .join("; ")})${silent.length > 0 ? `; NOT answering at the stop: ${silent.join(", ")}` : ""}`,
  });
  return {
    compute: p.compute,
    canary: results.map((r) => ({ ...r })),
    blackoutMs,
  };
}

export function canarySteps(_deps: StepDeps): StepImpl[] {
  const start: StepImpl = {
    kind: "net.canary-start",
    run: startCanary,
    verify: verifyStarted,
    async undo(ctx, raw, undoData) {
      const p = read("net.canary-start", raw);
      const host = ctx.host(p.compute);
      for (const d of await stopAll(host, undoData)) await removeDir(host, d);
    },
  };
  const stop: StepImpl = {
    kind: "net.canary-stop",
    run: stopCanary,
    async verify(ctx, raw) {
      const p = read("net.canary-stop", raw);
      const left = await canaryDirs(ctx.host(p.compute));
      return left.length === 0
        ? { ok: true, detail: `no canary left on ${p.compute}` }
        : { ok: false, detail: `canary dir(s) still on ${p.compute}: ${left.join(", ")}` };
    },
    // Stopping a measurement changes nothing to restore; start's undo cleans up whatever is left.
    undo: () => Promise.resolve(),
  };
  return [start, stop];
}
