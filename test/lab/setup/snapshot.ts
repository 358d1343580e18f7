/**
 * What the lab can leave behind on the jump, captured so a test can compare before/after `down`: network
 * namespaces, mount points, links and IPv4 routes of the root namespace.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface JumpSnapshot {
  readonly netns: string[];
  readonly mounts: string[];
  readonly links: string[];
  readonly routes: string[];
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

export function snapshotJump(): JumpSnapshot {
  return {
    netns: lines(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).map((l) => l.split(" ")[0]!),
    mounts: lines(readFileSync("/proc/mounts", "utf8")).map((l) => l.split(" ").slice(0, 3).join(" ")),
    links: lines(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).map(
      (l) => l.split(":")[1]!.trim().split("@")[0]!,
    ),
    routes: lines(execFileSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" })),
  };
}
