/**
 * CPU seconds of the processes a bench pass runs, read from /proc on this machine. Both bench modes run every
 * process of a pass on this kernel: on loopback they all descend from the private sshd; on the lab every host is a
 * set of namespaces on this machine, and a pass's processes (the session new runs the command in, rsync, ssh to
 * old, old's session and its rsync or cat) descend from old's and new's lab sshd listeners. So a pass's CPU is the
 * growth, over the pass, of the CPU time of those sshd trees.
 *
 * Counting a tree: every live process's own time (utime + stime) plus the time of the children it has reaped
 * (cutime + cstime, which the kernel accumulates recursively). A dead process is then counted exactly once, by the
 * live process that reaped it; a live process's time is never in anyone's cutime yet. What escapes: a process whose
 * parent dies first is reparented out of the tree (to the namespace's or the machine's init) and its time is lost;
 * no process of a pass daemonizes, so this does not happen in practice.
 *
 * Not counted: the bench's own node process (the SSH client to new over the jump, which only carries the pass's
 * command and its progress lines), the same in every variant.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, in clock ticks. */
  readonly ownTicks: number;
  /** cutime + cstime (children it has waited for, recursively), in clock ticks. */
  readonly reapedTicks: number;
}

/** One /proc/PID/stat line; undefined if it is not one. The command may hold spaces and ")" (hence lastIndexOf). */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ") ": field 3 (state) is index 0, so ppid (field 4) is 1 and utime..cstime (fields 14-17) are 11-14.
  const f = text
    .slice(close + 2)
    .trim()
    .split(" ");
  const n = (i: number): number => Number(f[i]);
  if (f.length < 15 || ![pid, n(1), n(11), n(12), n(13), n(14)].every(Number.isFinite)) return undefined;
  return {
    pid,
    ppid: n(1),
    comm: text.slice(open + 1, close),
    ownTicks: n(11) + n(12),
    reapedTicks: n(13) + n(14),
  };
}

/** Every process this machine shows now (those that exit while being read are left out). */
export function readProcs(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = parseStat(readFileSync(`/proc/${d}/stat`, "utf8"));
      if (s) procs.set(s.pid, s);
    } catch {
      // exited meanwhile
    }
  }
  return procs;
}

/** Clock ticks used by the trees under `roots` (roots included), each process once (see the header). */
export function treeTicks(procs: ReadonlyMap<number, ProcStat>, roots: readonly number[]): number {
  const children = new Map<number, number[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const seen = new Set<number>();
  let ticks = 0;
  const todo = roots.filter((r) => procs.has(r));
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    if (seen.has(pid)) continue; // a root inside another root's tree
    seen.add(pid);
    const p = procs.get(pid);
    if (p) ticks += p.ownTicks + p.reapedTicks;
    todo.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

/** sshd listeners among `procs`: sshd processes whose parent is not an sshd (sessions are forks of the listener). */
export function sshdListeners(
  procs: ReadonlyMap<number, ProcStat>,
  keep: (pid: number) => boolean,
): number[] {
  return [...procs.values()]
    .filter((p) => p.comm === "sshd" && procs.get(p.ppid)?.comm !== "sshd" && keep(p.pid))
    .map((p) => p.pid);
}

/** The PID namespace of a process, as its /proc link reads ("pid:[4026532...]"); undefined when gone. */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100; // Linux's USER_HZ everywhere it runs
  }
}

/** CPU seconds used so far by the trees under `roots`; NaN when there are none. Read before and after a pass. */
export function cpuMeter(roots: readonly number[]): () => number {
  const hz = clockTicksPerSecond();
  return () => (roots.length === 0 ? Number.NaN : treeTicks(readProcs(), roots) / hz);
}

/** Seconds the machine's CPUs (summed over all of them) spent so far, from the first line of /proc/stat. */
export interface MachineTimes {
  /** user, nice, system, irq, softirq, steal: running anything, this bench's passes included. */
  readonly busy: number;
  /** idle with a disk read or write outstanding. */
  readonly iowait: number;
  readonly idle: number;
}

/** The `cpu` line of /proc/stat in seconds; undefined when it is not one. Guest time is already in user. */
export function parseMachineTimes(procStat: string, hz: number): MachineTimes | undefined {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  const f = line?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  if (f.length < 8 || !f.slice(0, 8).every(Number.isFinite)) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, ...number[]];
  return {
    busy: (user + nice! + system! + irq! + softirq! + steal!) / hz,
    iowait: iowait! / hz,
    idle: idle! / hz,
  };
}

/** What the whole machine's CPUs did so far (see MachineTimes); read before and after a pass. */
export function machineMeter(): () => MachineTimes | undefined {
  const hz = clockTicksPerSecond();
  return () => {
    try {
      return parseMachineTimes(readFileSync("/proc/stat", "utf8"), hz);
    } catch {
      return undefined;
    }
  };
}
