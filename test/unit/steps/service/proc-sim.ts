/**
 * A process table for FakeHost, modelling the marked commands of src/steps/earlier-run.ts. Behaviour, exactly:
 *
 * - `sh -c MARK_WRAPPER handover-<t> <cmd...>`: runs `<cmd...>` through the same FakeHost (so the host's own
 *   rules answer it; both calls are recorded) and returns its result. While it runs, nothing is added to the
 *   table: a finished command leaves no process, as on a real host.
 * - `sh -c FIND_MARKED_SCRIPT sh <t>`: exit 0 when a process in the table has the argv word `handover-<t>`,
 *   else 1. Only argv counts, never `env` (the real script reads /proc/<pid>/cmdline only). Each such call is one
 *   "poll": a process added with `endsAfterPolls: n` leaves the table after n polls that found it, with its
 *   descendants in its session (the command ended: its init script and what that waited in are gone too).
 * - `sh -c KILL_MARKED_SCRIPT sh <t>`: removes the processes marked `handover-<t>` and their descendants in the
 *   same session (`ppid` chain, equal `sid`), prints their PIDs space-separated, exit 0. Processes added with
 *   `unkillable: true` stay (and are still printed). `killFails: true` on the sim makes it exit 1 instead.
 *
 * The real scripts are run against real processes in test/integration/steps/earlier-run.test.ts; this sim only
 * lets unit tests drive the steps through the same outcomes.
 */
import type { FakeHost } from "../../../fakes/fake-host.js";
import {
  FIND_MARKED_SCRIPT,
  KILL_MARKED_SCRIPT,
  MARK_PREFIX,
  MARK_WRAPPER,
} from "../../../../src/steps/earlier-run.js";

export interface SimProc {
  pid: number;
  ppid: number;
  sid: number;
  argv: string[];
  env?: Record<string, string>;
  endsAfterPolls?: number;
  unkillable?: boolean;
}

export class ProcSim {
  readonly procs: SimProc[] = [];
  killFails = false;
  /** Tokens the find script was asked about, in order. */
  readonly finds: string[] = [];
  /** PIDs the kill script removed. */
  readonly killed: number[] = [];

  constructor(host: FakeHost) {
    host.on(
      (a) => a[0] === "sh" && a[1] === "-c" && a[2] === MARK_WRAPPER,
      ({ argv, host: h }) => h.exec(argv.slice(4)),
    );
    host.on(
      (a) => a[0] === "sh" && a[2] === FIND_MARKED_SCRIPT,
      ({ argv }) => {
        const word = `${MARK_PREFIX}${argv[4]!}`;
        this.finds.push(argv[4]!);
        const found = this.procs.filter((p) => p.argv.includes(word));
        for (const p of found) {
          if (p.endsAfterPolls !== undefined && --p.endsAfterPolls <= 0) {
            for (const pid of this.sessionTree([p.pid])) this.remove(pid);
          }
        }
        return { exitCode: found.length > 0 ? 0 : 1 };
      },
    );
    host.on(
      (a) => a[0] === "sh" && a[2] === KILL_MARKED_SCRIPT,
      ({ argv }) => {
        if (this.killFails) return { exitCode: 1, stderr: "ps: not found\n" };
        const word = `${MARK_PREFIX}${argv[4]!}`;
        const keep = this.sessionTree(this.procs.filter((p) => p.argv.includes(word)).map((p) => p.pid));
        for (const pid of keep) {
          if (!this.procs.find((p) => p.pid === pid)?.unkillable) {
            this.remove(pid);
            this.killed.push(pid);
          }
        }
        return { stdout: `${[...keep].join(" ")}\n` };
      },
    );
  }

  add(p: SimProc): this {
    this.procs.push(p);
    return this;
  }

  alive(pid: number): boolean {
    return this.procs.some((p) => p.pid === pid);
  }

  /** `roots` and their descendants in the same session (ppid chain, equal sid). */
  private sessionTree(roots: number[]): Set<number> {
    const keep = new Set(roots);
    for (let more = true; more;) {
      more = false;
      for (const p of this.procs) {
        const parent = this.procs.find((q) => q.pid === p.ppid);
        if (!keep.has(p.pid) && parent && keep.has(parent.pid) && parent.sid === p.sid) {
          keep.add(p.pid);
          more = true;
        }
      }
    }
    return keep;
  }

  private remove(pid: number): void {
    const i = this.procs.findIndex((p) => p.pid === pid);
    if (i >= 0) this.procs.splice(i, 1);
  }

  /**
   * What an interrupted `service <unit> start` under the wrapper leaves on a host: the marked wrapper (pid), the
   * init script (pid+1, its child), `rabbitmqctl wait` (pid+2, the script's child), all in the wrapper's session,
   * and the daemon the script started (pid+3), a child of the script too but in a session of its own (setsid),
   * carrying the step's token in its inherited environment.
   */
  interruptedStart(token: string, unit: string, pid: number, opts: Partial<SimProc> = {}): this {
    const word = `${MARK_PREFIX}${token}`;
    this.add({
      pid,
      ppid: 1,
      sid: pid,
      argv: ["sh", "-c", MARK_WRAPPER, word, "service", unit, "start"],
      ...opts,
    });
    this.add({ pid: pid + 1, ppid: pid, sid: pid, argv: ["/bin/sh", `/etc/init.d/${unit}`, "start"] });
    this.add({ pid: pid + 2, ppid: pid + 1, sid: pid, argv: ["rabbitmqctl", "wait", "/run/x.pid"] });
    this.add({
      pid: pid + 3,
      ppid: pid + 1,
      sid: pid + 3,
      argv: [`/usr/sbin/${unit}`],
      env: { HANDOVER_STEP_TOKEN: token },
    });
    return this;
  }
}
