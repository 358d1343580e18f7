/**
 * The run's temporary key through the real engine (runPlan, Journal, rollbackJournal, the report's rollback
 * preview) with the files steps on FakeHosts (sim.ts): the passes read the key through ctx.resultOf as the
 * engine provides it; a resume after /tmp was wiped makes a new key and leaves none behind; rollback removes
 * everything.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_FILE } from "../../../../src/engine/journal.js";
import type { Plan, PlannedStep, StepRegistry } from "../../../../src/engine/step.js";
import { rollbackPreview } from "../../../../src/report/rollback-preview.js";
import { filesSteps } from "../../../../src/steps/files/index.js";
import { makePlan } from "../../engine/harness.js";
import { journalState, rollbackJournaled, runJournaled, tempStateDirs } from "../../engine/support.js";
import { FakeSql, makeDeps } from "../support/harness.js";
import { AUTHORIZED_KEYS, IMAGES, JUMP_LINE, keyHosts, markedLines } from "./key-hosts.js";

const base = { hosts: ["old", "new"], reads: [] as string[], commands: [] as string[] };
const sync = (id: string, pass: string, after: string[]): PlannedStep => ({
  ...base,
  id,
  kind: "files.sync",
  title: id,
  phase: pass === "warm" ? "warm" : "data",
  reads: [`old:file:${IMAGES}`],
  writes: [`new:file:${IMAGES}`],
  after,
  params: { from: "old", to: "new", path: IMAGES, pass, owner: "glance", keyStep: "warm.temp-key" },
});
const plan: Plan = makePlan([
  {
    ...base,
    id: "warm.temp-key",
    kind: "files.temp-key",
    title: "key",
    phase: "warm",
    writes: ["new:file:handover-temp-key"],
    after: [],
    params: { from: "old", to: "new", removedBy: "data.temp-key.remove" },
  },
  sync("warm.glance.images", "warm", ["warm.temp-key"]),
  sync("data.glance.images", "delta", ["warm.temp-key", "warm.glance.images"]),
  {
    ...base,
    id: "data.temp-key.remove",
    kind: "files.temp-key-remove",
    title: "remove key",
    phase: "data",
    writes: ["new:file:handover-temp-key"],
    after: ["warm.temp-key", "warm.glance.images", "data.glance.images"],
    params: { from: "old", to: "new", keyStep: "warm.temp-key" },
  },
]);

const newDir = tempStateDirs();

function world() {
  const linesDuringRsync: string[][] = [];
  const { old, neu, tmp, rsync } = keyHosts("image a", {
    rsyncCheck: () => linesDuringRsync.push(markedLines(old.fileText(AUTHORIZED_KEYS))),
  });
  const registry: StepRegistry = new Map(filesSteps(makeDeps(new FakeSql())).map((s) => [s.kind, s]));
  const hosts = new Map([
    ["old", old],
    ["new", neu],
  ]);
  const dir = newDir();
  const run = () => runJournaled(dir, plan, registry, { hosts, concurrency: 2 });
  return { old, neu, tmp, rsync, registry, hosts, dir, run, linesDuringRsync };
}

describe("the run's temporary key through the engine", () => {
  it("one key for both passes, made once, removed once; rollback preview and rollback handle the key steps", async () => {
    const w = world();
    await w.run();
    // Both passes ran with the same single key; only the key step made one (no per-pass mktemp).
    expect(w.rsync.argvs).toHaveLength(2);
    expect(w.tmp.made).toHaveLength(1);
    expect(w.linesDuringRsync).toHaveLength(2);
    expect(w.linesDuringRsync[0]).toHaveLength(1);
    expect(w.linesDuringRsync[1]).toEqual(w.linesDuringRsync[0]);
    expect(w.rsync.argvs.every((a) => a.join(" ").includes(`-i ${w.tmp.made[0]}/id `))).toBe(true);
    // Removed after the last pass.
    expect(w.old.fileText(AUTHORIZED_KEYS)).toBe(JUMP_LINE);
    expect(w.tmp.removed).toEqual(w.tmp.made);
    // Run again (a resume): everything verifies; the key gone on purpose is not a warning, and not made again.
    const again = await w.run();
    expect(again.ran).toEqual([]);
    expect(w.tmp.made).toHaveLength(1);

    const notes = fs
      .readFileSync(path.join(w.dir, JOURNAL_FILE), "utf8")
      .split("\n")
      .filter((l) => l.includes('"type":"note"') && l.includes('"level":"warn"'));
    expect(notes).toEqual([]);
    const preview = rollbackPreview(journalState(w.dir));
    const item = (id: string) => preview.items.find((i) => i.stepId === id);
    expect(item("data.temp-key.remove")).toMatchObject({ action: "no-op" });
    expect(item("warm.temp-key")).toMatchObject({ action: "undo" });
    const result = await rollbackJournaled(w.dir, w.registry, { hosts: w.hosts });
    expect(result.complete).toBe(true);
    expect(result.outcomes.map((o) => [o.stepId, o.outcome])).toEqual([
      ["data.temp-key.remove", "undone"],
      ["data.glance.images", "undone"],
      ["warm.glance.images", "undone"],
      ["warm.temp-key", "undone"],
    ]);
    expect(w.neu.getFile(`${IMAGES}/image-a`)).toBeUndefined();
    expect(w.old.fileText(AUTHORIZED_KEYS)).toBe(JUMP_LINE);
  });

  it("a resume after new's /tmp was wiped makes a new key, and no key is left behind", async () => {
    const w = world();
    // The delta pass fails once (old unreachable for a moment): the run stops after the warm pass.
    w.neu.on(
      (a) => a[0] === "rsync" && w.rsync.argvs.length >= 1,
      { exitCode: 255, stderr: "ssh: no route" },
      {
        times: 1,
      },
    );
    await expect(w.run()).rejects.toThrow(/data\.glance\.images/);
    expect(markedLines(w.old.fileText(AUTHORIZED_KEYS))).toHaveLength(1);
    // Meanwhile an image was added on old: the delta pass has something to copy (its verify fails).
    w.old.setFile(`${IMAGES}/image-b`, "image b");
    // A reboot of new wipes /tmp: the key files are gone, old still has the line.
    for (const f of w.neu.listFiles()) if (f.startsWith("/tmp/")) await w.neu.removeFile(f);
    const summary = await w.run();
    expect(summary.ran).toEqual(
      expect.arrayContaining(["warm.temp-key", "data.glance.images", "data.temp-key.remove"]),
    );
    expect(summary.skipped).toContain("warm.glance.images");
    // The redo made a second key; the delta pass used it; the first key's line went with the redo.
    expect(w.tmp.made).toHaveLength(2);
    expect(w.rsync.argvs.at(-1)?.join(" ")).toContain(`-i ${w.tmp.made[1]}/id `);
    expect(w.old.fileText(AUTHORIZED_KEYS)).toBe(JUMP_LINE);
    expect(w.neu.listFiles().filter((f) => f.startsWith("/tmp/"))).toEqual([]);
    expect(w.neu.fileText(`${IMAGES}/image-b`)).toBe("image b");
  });
});
