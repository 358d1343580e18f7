/**
 * The address hand-over with the shortest gap we can get over SSH: both commands are started BEFORE the gap, so
 * between "old no longer holds the address" and "new holds it and announces it" there is only one one-way trip
 * (our write of new's batch) instead of two command round trips plus a channel setup each.
 *
 * 1. Open both exec channels at once: `ip -batch -` on old, and on new a constant shell script (ADD_AND_ANNOUNCE)
 *    that runs `ip -o -batch -` and then execs the announcement (arping) given as positional arguments. Both block
 *    reading stdin; nothing has changed yet.
 * 2. Write old's batch (`addr del ...`) and end its stdin; wait for old's exit status. Only a clean exit lets new
 *    go on: the safety order (old loses the address before new has it) never depends on timing.
 * 3. Write new's batch and end its stdin. The script prints `added` once ip succeeded, then execs arping.
 *
 * Safety of the announcement: a gratuitous ARP for an address new does not hold would send neighbours to new while
 * old still serves it. So when an announcement is given, new's batch ends with `addr show dev <if> to <addr>`, and
 * the script execs the announcement only when that printed the address: an aborted hand-over (stdin ended empty,
 * or the channel closed) or a failed `ip` never announces. If old fails, new's stdin is ended empty: nothing runs.
 *
 * Every argv is ours (no secrets): the script is a constant, the address and arping's arguments are positional.
 */
import type { ExecStream, Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";

/**
 * $1 is the address; the rest, if any, is the announcement to exec once `ip -o -batch -` has shown the address on
 * the interface. Exit 98: the batch ran but the address is not there (nothing announced).
 */
export const ADD_AND_ANNOUNCE = [
  "out=$(ip -o -batch -) || exit $?",
  'if [ "$#" -gt 1 ]; then case $out in *" inet $1/"*|*" inet6 $1/"*) ;; *) echo "handover: $1 is not on the interface after the batch; not announced" >&2; exit 98;; esac; fi',
  "echo added",
  "shift",
  'if [ "$#" -gt 0 ]; then exec "$@"; fi',
].join("\n");

/** The guard's exit status (see ADD_AND_ANNOUNCE). */
export const NOT_ADDED_EXIT = 98;

export interface HandOver {
  readonly old: Host;
  readonly neu: Host;
  /** `ip -batch` lines for old, e.g. `addr del 198.51.100.4/24 dev eth0\n`. */
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
  /** Both channels open and their commands started: before any change. */
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
  /** Resolves with the clock when `marker` appears on stdout. */
  readonly sawMarker: Promise<number>;
}

function collect(s: ExecStream, clock: () => number, marker?: string): Collected {
  let out = "";
  let err = "";
  let resolveMarker: (t: number) => void = () => undefined;
  const sawMarker = new Promise<number>((r) => (resolveMarker = r));
  s.stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
    if (marker !== undefined && out.split("\n").includes(marker)) resolveMarker(clock());
  });
  s.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
  return { stdout: () => out, stderr: () => err, sawMarker };
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
    o.old.execStream(["ip", "-batch", "-"], { timeoutMs }),
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
  const newOut = collect(newCmd, clock, "added");
  const t1 = clock();

  end(oldCmd, o.oldBatch);
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

  const body = o.newBatch + (announce.length > 0 ? showLine(o.address, o.newInterface) : "");
  end(newCmd, body);
  const added = await Promise.race([newOut.sawMarker, newCmd.done.then(() => undefined)]);
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
