/**
 * What `up` created, recorded BEFORE each thing is created, so `down` can remove everything by PID and by recorded
 * name even after a partial or crashed `up`. Written atomically (temp file + rename) after every change.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { STATE_DIR, STATE_FILE } from "./paths.js";
import type { RootfsKind } from "./plan.js";

export interface RecordedPid {
  readonly pid: number;
  /** Start time (field 22 of /proc/PID/stat): guards against killing a recycled PID. */
  readonly start: string;
  readonly what: string;
}

export interface HostRecord {
  readonly name: string;
  readonly kind: RootfsKind;
  readonly lower: string;
  /** PID (in the root PID namespace) of the host's PID 1, the reaper; nsenter targets it. */
  initPid?: number;
}

export interface LabState {
  version: 1;
  phase: "starting" | "up";
  createdAt: string;
  computes: number;
  scenario?: string;
  /** Network namespaces (`ip netns del`). */
  netns: string[];
  /** Links in the root namespace (`ip link del`). */
  rootLinks: string[];
  /** `ip route add` argument lists in the root namespace (deleted with `ip route del`). */
  routes: string[][];
  /** Mount points in the root mount namespace, in creation order (unmounted in reverse). */
  mounts: string[];
  pids: RecordedPid[];
  hosts: HostRecord[];
  /** Directories to remove at the end (overlay upper dirs, keys). */
  dirs: string[];
}

export function emptyState(computes: number, scenario?: string): LabState {
  return {
    version: 1,
    phase: "starting",
    createdAt: new Date().toISOString(),
    computes,
    ...(scenario ? { scenario } : {}),
    netns: [],
    rootLinks: [],
    routes: [],
    mounts: [],
    pids: [],
    hosts: [],
    dirs: [],
  };
}

export function readState(): LabState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  return JSON.parse(readFileSync(STATE_FILE, "utf8")) as LabState;
}

export function saveState(state: LabState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, STATE_FILE);
}

/** Start time of a process, or undefined if it is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may contain spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function recordPid(state: LabState, pid: number, what: string): RecordedPid {
  const rec = { pid, start: processStart(pid) ?? "", what };
  state.pids.push(rec);
  saveState(state);
  return rec;
}

/** True if the recorded process still runs (same PID and same start time). */
export function isAlive(rec: RecordedPid): boolean {
  const start = processStart(rec.pid);
  return start !== undefined && start === rec.start;
}
