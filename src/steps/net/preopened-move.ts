/**
 * The address hand-over with the shortest gap we can get over SSH: both commands are started BEFORE the gap, so
 * between "old no longer holds the address" and "new holds it and announces it" there is only one one-way trip
 * (our write of new's batch) instead of two command round trips plus a channel setup each.
 *
 * 1. Open both exec channels at once: `ip -batch -` on old (REMOVE), and on new a constant shell script
 *    (ADD_AND_ANNOUNCE) that runs `ip -o -batch -` and then execs the announcement (arping) given as positional
 *    arguments. Both print `ready` first and then block reading stdin; nothing has changed yet. We wait for both
 *    `ready`s: an exec channel is confirmed before the remote command has started (sshd's session setup, the
 *    login shell), and measured on the loopback sshd that start-up is most of a command's time, so without the
 *    wait new's start-up could still be running inside the gap.
 * 2. Write old's batch (`addr del ...`, then `end`); wait for old's exit status. Only a clean exit lets new go
 *    on: the safety order (old loses the address before new has it) never depends on timing.
 * 3. Write new's batch. The script prints `added` once ip succeeded, then execs arping.
 *
 * Safety of the announcement: a gratuitous ARP for an address new does not hold would send neighbours to new while
 * old still serves it. So when an announcement is given, new's batch ends with `addr show dev <if> to <addr>`, and
 * the script execs the announcement only when that printed the address; a failed `ip` never announces. If old
 * fails, new's stdin is ended without `end`: nothing runs there (READ_BATCH).
 *
 * Every argv is ours (no secrets): the script is a constant, the address and arping's arguments are positional.
 */
import type { ExecStream, Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";

/**
 * Both scripts read the batch up to a line `end` and only then apply it with one `ip -batch -`, so no effect
 * waits for our EOF. Measured against the loopback sshd, an EOF written right after the data waits ~40 ms for
 * the peer's delayed ACK (Nagle: SshHost does not set TCP_NODELAY), with the `end` line the command finished
 * ~3 ms after the write. And a batch that does not arrive whole (no `end`: we aborted, or the channel closed) is
 * never applied: exit NOT_WHOLE_EXIT with nothing done.
 */
const READ_BATCH = [
  "ok=",
  "b=",
  'while IFS= read -r l; do if [ "$l" = end ]; then ok=1; break; fi; b="$b$l',
  '"; done',
  'if [ -z "$ok" ]; then echo "handover: the batch did not arrive whole; nothing was done" >&2; exit 97; fi',
];

/** Old's side: says it runs, reads the batch, applies it. */
export const REMOVE = ["echo ready", ...READ_BATCH, "printf '%s' \"$b\" | ip -batch -"].join("\n");

/**
 * New's side. $1 is the address; the rest, if any, is the announcement to exec once `ip -o -batch -` has shown
 * the address on the interface. Exit 98: the batch ran but the address is not there (nothing announced).
 */
export const ADD_AND_ANNOUNCE = [
  "echo ready",
  ...READ_BATCH,
  "out=$(printf '%s' \"$b\" | ip -o -batch -) || exit $?",
  'if [ "$#" -gt 1 ]; then case $out in *" inet $1/"*|*" inet6 $1/"*) ;; *) echo "handover: $1 is not on the interface after the batch; not announced" >&2; exit 98;; esac; fi',
  "echo added",
  "shift",
  'if [ "$#" -gt 0 ]; then exec "$@"; fi',
].join("\n");

/** The scripts' exit status when the batch did not arrive whole (see READ_BATCH). */
export const NOT_WHOLE_EXIT = 97;
/** The guard's exit status (see ADD_AND_ANNOUNCE). */
export const NOT_ADDED_EXIT = 98;

export interface HandOver {
  readonly old: Host;
  readonly neu: Host;
  /** `ip -batch` lines for old, e.g. `addr del 198.51.100.4/24 dev eth0\n` (each ending in a newline). */
  readonly oldBatch: string;
  /** `ip -batch` lines for new (alias off lo, address on the interface). */
  readonly newBatch: string;
  /** The moved address (as `ip` prints it) and new's interface: the guard looks for it there. */
  readonly address: string;
  readonly newInterface: string;
  /** argv run on new once the address is there (gratuitous ARP); none: no announcement, no guard. */
  readonly announce?: readonly string[];
  /** Monotonic milliseconds, injectable for tests. @default performance.now */
  readonly clock?: () => number;
  /** @default 30 s for old's batch, that plus 30 s for new's (arping -c 3 takes ~2 s) */
  readonly timeoutMs?: number;
}

export interface HandOverResult {
  /** Exit status of the announcement (arping), when one ran. */
  readonly announceExit?: number;
  readonly announceStderr: string;
  /** Both channels open and their commands started (both said `ready`): before any change. */
  readonly openMs: number;
  /** From writing old's batch to old's exit status: the address is gone from old within this. */
  readonly oldMs: number;
  /** From old's exit to new's `added`: the gap as seen from here (a bound on the real one). */
  readonly gapMs: number;
  /** From writing old's batch to new's `added`. */
  readonly moveMs: number;
}

interface Collected {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** The clock when `line` appeared as a whole line on stdout; undefined when the command ended without it. */
  readonly sawLine: (line: string) => Promise<number | undefined>;
}

function collect(s: ExecStream, clock: () => number): Collected {
  let out = "";
  let err = "";
  const seen = new Map<string, number>();
  const waiting = new Map<string, ((t: number | undefined) => void)[]>();
  s.stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
    for (const line of out.split("\n").slice(0, -1)) {
      if (seen.has(line)) continue;
      const t = clock();
      seen.set(line, t);
      for (const w of waiting.get(line) ?? []) w(t);
      waiting.delete(line);
    }
  });
  s.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
  // After the exit, let output still in flight be read before saying a line never came.
  void s.done
    .then(() => new Promise<void>((r) => setImmediate(r)))
    .then(() => {
      for (const ws of waiting.values()) for (const w of ws) w(undefined);
      waiting.clear();
    });
  return {
    stdout: () => out,
    stderr: () => err,
    sawLine: (line) => {
      const t = seen.get(line);
      if (t !== undefined) return Promise.resolve(t);
      return new Promise((resolve) => waiting.set(line, [...(waiting.get(line) ?? []), resolve]));
    },
  };
}

/** Write the batch and EOF. Not awaited: the exit status is what counts, and a command that already exited must
 * not leave us waiting for a flush that never completes. */
function end(s: ExecStream, data: string): void {
  if (data === "") s.stdin.end();
  else s.stdin.end(data);
}

/** The `ip -batch` line the guard reads: shows the address only if it is on the interface now. */
export function showLine(address: string, ifname: string): string {
  return `addr show dev ${ifname} to ${address}/${address.includes(":") ? 128 : 32}\n`;
}

export async function handOverAddress(o: HandOver): Promise<HandOverResult> {
  const clock = o.clock ?? (() => performance.now());
  const timeoutMs = o.timeoutMs ?? 30_000;
  const t0 = clock();
  const announce = o.announce ?? [];
  const [oldOpen, newOpen] = await Promise.allSettled([
    o.old.execStream(["sh", "-c", REMOVE], { timeoutMs }),
    o.neu.execStream(["sh", "-c", ADD_AND_ANNOUNCE, "sh", o.address, ...announce], {
      timeoutMs: timeoutMs + 30_000,
    }),
  ]);
  if (oldOpen.status === "rejected" || newOpen.status === "rejected") {
    // Nothing was written: ending stdin empty makes each opened command exit without a change.
    for (const r of [oldOpen, newOpen]) if (r.status === "fulfilled") end(r.value, "");
    throw oldOpen.status === "rejected" ? oldOpen.reason : (newOpen as PromiseRejectedResult).reason;
  }
  const oldCmd = oldOpen.value;
  const newCmd = newOpen.value;
  const oldOut = collect(oldCmd, clock);
  const newOut = collect(newCmd, clock);
  const [oldReady, newReady] = await Promise.all([oldOut.sawLine("ready"), newOut.sawLine("ready")]);
  if (oldReady === undefined || newReady === undefined) {
    for (const c of [oldCmd, newCmd]) end(c, "");
    await Promise.all([oldCmd.done, newCmd.done]);
    const who = oldReady === undefined ? o.old : o.neu;
    const text = (oldReady === undefined ? oldOut : newOut).stderr().trim();
    throw new UserError(
      "NET_MOVE_FAILED",
      `on ${who.name}: the command that moves ${o.address} did not start: ${text || "no message"}; nothing was changed`,
      { nextSteps: [`Check that ${who.name} accepts SSH commands and has \`ip\`, then run again.`] },
    );
  }
  const t1 = clock();

  end(oldCmd, `${o.oldBatch}end\n`);
  const oldDone = await oldCmd.done;
  const t2 = clock();
  if (oldDone.exitCode !== 0 || oldDone.signal !== undefined) {
    end(newCmd, "");
    await newCmd.done;
    const how = oldDone.signal ? `was stopped (${oldDone.signal})` : `exited with ${oldDone.exitCode}`;
    throw new UserError(
      "NET_MOVE_FAILED",
      `on ${o.old.name}: \`ip -batch -\` removing ${o.address} ${how}: ${oldOut.stderr().trim() || "no message"}; nothing was added on ${o.neu.name}`,
      { nextSteps: [`Check ${o.address} on ${o.old.name}, then run again (or roll back).`] },
    );
  }

  const body = `${o.newBatch}${announce.length > 0 ? showLine(o.address, o.newInterface) : ""}end\n`;
  end(newCmd, body);
  const added = await newOut.sawLine("added");
  const newDone = await newCmd.done;
  if (added === undefined) {
    const why =
      newDone.exitCode === NOT_ADDED_EXIT
        ? `the batch ran but ${o.address} is not on ${o.newInterface}`
        : newDone.signal
          ? `it was stopped (${newDone.signal})`
          : `it exited with ${newDone.exitCode}`;
    throw new UserError(
      "NET_MOVE_FAILED",
      `on ${o.neu.name}: adding ${o.address} failed (${why}): ${newOut.stderr().trim() || "no message"}. It is already gone from ${o.old.name}.`,
      {
        nextSteps: [
          `Run \`handover rollback\` to put ${o.address} back on ${o.old.name}, or fix ${o.neu.name} and run again.`,
        ],
      },
    );
  }
  return {
    ...(announce.length > 0 ? { announceExit: newDone.exitCode } : {}),
    announceStderr: newOut.stderr(),
    openMs: Math.round(t1 - t0),
    oldMs: Math.round(t2 - t1),
    gapMs: Math.round(added - t2),
    moveMs: Math.round(added - t1),
  };
}
