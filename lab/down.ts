/**
 * Remove everything `up` recorded, in reverse dependency order, tolerating what is already gone (a partial up,
 * a second down). Processes are killed by recorded PID (checked against their start time), never by name.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { STATE_DIR } from "./paths.js";
import { run } from "./proc.js";
import { isAlive, readState, type LabState } from "./state.js";

function mountedPoints(): Set<string> {
  // /proc/mounts escapes spaces as \040; lab paths have none.
  return new Set(
    readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((p): p is string => !!p),
  );
}

async function killRecorded(state: LabState): Promise<string[]> {
  const problems: string[] = [];
  // SIGKILL to a host's PID 1 ends every process of its PID namespace; unshare and the mirror server follow.
  const alive = state.pids.filter(isAlive);
  for (const p of alive) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // exited between the check and the kill
    }
  }
  const deadline = Date.now() + 5_000;
  while (alive.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const p of alive.filter(isAlive)) problems.push(`process ${p.pid} (${p.what}) did not exit`);
  return problems;
}

/** Tear the lab down; returns problems (empty when everything recorded is gone). */
export async function down(): Promise<string[]> {
  const state = readState();
  if (!state) return [];
  const problems = await killRecorded(state);

  const mounted = mountedPoints();
  for (const m of [...state.mounts].reverse()) {
    if (!mounted.has(m)) continue;
    const res = run("umount", [m], { allowFail: true });
    if (res.code !== 0) {
      // Busy (a shell still inside?): detach it so the namespace goes away with its last user.
      const lazy = run("umount", ["-l", m], { allowFail: true });
      if (lazy.code !== 0) problems.push(`umount ${m}: ${lazy.stderr.trim()}`);
    }
  }

  for (const r of [...state.routes].reverse()) {
    const res = run("ip", ["route", "del", ...r], { allowFail: true });
    if (res.code !== 0 && !/No such process|Cannot find/.test(res.stderr)) {
      problems.push(`ip route del ${r.join(" ")}: ${res.stderr.trim()}`);
    }
  }
  for (const link of state.rootLinks) {
    if (existsSync(`/sys/class/net/${link}`)) run("ip", ["link", "del", link], { allowFail: true });
    if (existsSync(`/sys/class/net/${link}`)) problems.push(`link ${link} still exists`);
  }
  const netns = new Set(
    run("ip", ["netns", "list"])
      .stdout.split("\n")
      .map((l) => l.split(" ")[0]),
  );
  for (const ns of state.netns) {
    if (!netns.has(ns)) continue;
    const res = run("ip", ["netns", "del", ns], { allowFail: true });
    if (res.code !== 0) problems.push(`ip netns del ${ns}: ${res.stderr.trim()}`);
  }

  if (problems.length === 0) {
    for (const d of state.dirs) rmSync(d, { recursive: true, force: true });
    rmSync(STATE_DIR, { recursive: true, force: true });
  }
  return problems;
}
