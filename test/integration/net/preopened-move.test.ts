/**
 * The pre-opened hand-over (src/steps/net/preopened-move.ts) for real: a real OpenSSH server on 127.0.0.1, real
 * `sh` and `ip`, two SshHosts ("old" and "new", two connections to the same machine). Nothing on the network
 * changes: the batches only SHOW addresses of lo (`addr show dev lo to ...`), which is enough to exercise the
 * script's guard, and the "announcement" is `touch <file>` in a private temp dir instead of arping.
 *
 * Asserted: the guard (announce only when the address shows on the interface; never after an empty stdin or a
 * failed old side), exit handling and messages. Timings are only printed (no timing assertions): channel open vs
 * command time, and the gap of the sequential way (two `run`s, as net.move-address did) against the pre-opened
 * way, medians over rounds on this machine.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { REMOVE, handOverAddress, showLine, type HandOver } from "../../../src/steps/net/preopened-move.js";
import { rejectedUserError } from "../../unit/user-error.js";
import { sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";
import { loopbackHost } from "../steps/loopback.js";

const skip = sshdSkipReason() ?? (existsSync("/usr/sbin/ip") || existsSync("/sbin/ip") ? undefined : "no ip");
if (skip) console.warn(`SKIPPED pre-opened hand-over integration tests: ${skip}`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

describe.skipIf(skip !== undefined)("pre-opened address hand-over over a real sshd", () => {
  let sshd: Sshd;
  let old: SshHost;
  let neu: SshHost;
  let dir: string;

  beforeAll(async () => {
    sshd = await startSshd();
    old = loopbackHost(sshd, "old", "known_hosts_old");
    neu = loopbackHost(sshd, "new", "known_hosts_new");
    await Promise.all([old.connect(), neu.connect()]);
    dir = mkdtempSync(join(tmpdir(), "handover-preopen-"));
  });

  afterAll(async () => {
    await Promise.all([old?.close(), neu?.close()]);
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const read127 = showLine("127.0.0.1", "lo");

  /**
   * The hand-over of 127.0.0.1 to lo between the two connections, as these tests share it: old's batch only shows
   * the address, new's is empty, the announcement is `true`; `o` changes any of that.
   */
  const handOver = (o: Partial<HandOver> = {}) =>
    handOverAddress({
      old,
      neu,
      oldBatch: read127,
      newBatch: "",
      address: "127.0.0.1",
      newInterface: "lo",
      announce: ["true"],
      ...o,
    });

  /** The UserError a hand-over ends with (anything else, or success, fails the test). */
  const refusal = (o: Partial<HandOver>) => rejectedUserError(handOver(o));

  it("announces once the address shows on the interface", async () => {
    const marker = join(dir, "announced-1");
    const r = await handOver({ announce: ["touch", marker] });
    expect(r.announceExit).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it("never announces an address that is not on the interface after the batch", async () => {
    const marker = join(dir, "announced-2");
    const e = await refusal({ announce: ["touch", marker], address: "127.0.0.2" });
    expect(e.message).toContain("the batch ran but 127.0.0.2 is not on lo");
    expect(e.message).toContain("not announced");
    expect(existsSync(marker)).toBe(false);
  });

  it("a failing old side leaves new untouched: its stdin ends empty and nothing is announced", async () => {
    const marker = join(dir, "announced-3");
    const e = await refusal({ announce: ["touch", marker], oldBatch: "addr show dev handover-none\n" });
    expect(e.message).toMatch(/on old: `ip -batch -` removing 127\.0\.0\.1 exited with \d+: .*handover-none/);
    expect(e.message).toContain("nothing was added on new");
    expect(existsSync(marker)).toBe(false);
  });

  it("a failing batch on new is reported with ip's message, and nothing is announced", async () => {
    const marker = join(dir, "announced-4");
    const e = await refusal({ announce: ["touch", marker], newBatch: "addr show dev handover-none\n" });
    expect(e.message).toMatch(/on new: adding 127\.0\.0\.1 failed \(it exited with \d+\).*handover-none/s);
    expect(existsSync(marker)).toBe(false);
  });

  it("measures: channel open vs command, and the gap sequential vs pre-opened (printed, not asserted)", async () => {
    const rounds = 15;
    const seqGap: number[] = [];
    const seqToAnnounce: number[] = [];
    const open: number[] = [];
    const oldCmd: number[] = [];
    const gap: number[] = [];
    const move: number[] = [];
    const channelOpen: number[] = [];
    const commandOnly: number[] = [];
    const started: number[] = [];
    const eofOnly: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Sequential, as net.move-address did: run on old, run on new, then a separate announcement command.
      const t0 = performance.now();
      await old.run(["ip", "-batch", "-"], { stdin: read127 });
      const t1 = performance.now();
      await neu.run(["ip", "-batch", "-"], { stdin: read127 });
      const t2 = performance.now();
      await neu.exec(["true"]);
      const t3 = performance.now();
      seqGap.push(t2 - t1);
      seqToAnnounce.push(t3 - t1);
      void t0;

      const r = await handOver();
      open.push(r.openMs);
      oldCmd.push(r.oldMs);
      gap.push(r.gapMs);
      move.push(r.moveMs);

      // One channel: open (exec request answered), the command started (its `ready`), then its own time once its
      // stdin is written.
      const c0 = performance.now();
      const st = await neu.execStream(["sh", "-c", REMOVE]);
      const c1 = performance.now();
      st.stderr.resume();
      await new Promise<void>((resolve) => st.stdout.once("data", () => resolve()));
      const c2 = performance.now();
      st.stdout.resume();
      st.stdin.end(`${read127}end\n`);
      await st.done;
      const c3 = performance.now();
      channelOpen.push(c1 - c0);
      started.push(c2 - c1);
      commandOnly.push(c3 - c2);
      // The same, ended by EOF alone (plain `ip -batch -`): the EOF follows the data while it is unacknowledged.
      const e = await neu.execStream(["sh", "-c", "echo ready; exec ip -batch -"]);
      e.stderr.resume();
      await new Promise<void>((resolve) => e.stdout.once("data", () => resolve()));
      e.stdout.resume();
      const e0 = performance.now();
      e.stdin.end(read127);
      await e.done;
      eofOnly.push(performance.now() - e0);
    }
    const f = (xs: number[]): string => `${median(xs).toFixed(1)} ms`;
    console.log(
      [
        `pre-opened hand-over over loopback sshd, medians of ${rounds} rounds:`,
        `  one command: channel open + exec request ${f(channelOpen)}; then until it runs (says ready) ${f(started)}; then batch + end line written to exit ${f(commandOnly)} (batch + EOF only, plain ip -batch -: ${f(eofOnly)})`,
        `  sequential: old's exit -> new's ip done ${f(seqGap)}; -> separate announcement done ${f(seqToAnnounce)}`,
        `  pre-opened: both open and ready ${f(open)} (before the gap); old's batch written to its exit ${f(oldCmd)}; old's exit -> new's 'added' ${f(gap)}; old's batch written -> 'added' ${f(move)}`,
      ].join("\n"),
    );
    expect(gap).toHaveLength(rounds);
  });
});
