/**
 * The run's temporary key through the real engine (runPlan, Journal, rollbackJournal, the report's rollback
 * preview) with the files steps on FakeHosts (sim.ts): the passes read the key through ctx.resultOf as the
 * engine provides it; a resume after /tmp was wiped makes a new key and leaves none behind; rollback removes
 * everything.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { JOURNAL_FILE, Journal } from "../../../../src/engine/journal.js";
import { rollbackJournal } from "../../../../src/engine/rollback.js";
import { runPlan } from "../../../../src/engine/run.js";
import type { Plan, PlannedStep, StepRegistry } from "../../../../src/engine/step.js";
import { rollbackPreview } from "../../../../src/report/rollback-preview.js";
import { filesSteps } from "../../../../src/steps/files/index.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeDeps, scriptTempDirs } from "../support/harness.js";
import { scriptBasics, scriptFind, scriptKeyFiles, scriptRsync } from "./sim.js";

const DIR = "/var/lib/glance/images";
const AK = "/root/.ssh/authorized_keys";
const JUMP_LINE = "ssh-ed25519 AAAAJUMP jump\n";
const marked = (text: string | undefined): string[] =>
  (text ?? "").split("\n").filter((l) => / handover-temp-[0-9a-f]{16}$/.test(l));

const base = { hosts: ["old", "new"], reads: [] as string[], commands: [] as string[] };
const sync = (id: string, pass: string, after: string[]): PlannedStep => ({
  ...base,
  id,
  kind: "files.sync",
  title: id,
  phase: pass === "warm" ? "warm" : "data",
  reads: [`old:file:${DIR}`],
  writes: [`new:file:${DIR}`],
  after,
  params: { from: "old", to: "new", path: DIR, pass, owner: "glance", keyStep: "warm.temp-key" },
});
const plan: Plan = {
  version: 1,
  sourceRelease: "victoria",
  targetRelease: "zed",
  warnings: [],
  steps: [
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
  ],
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function world() {
  const old = new FakeHost("old", { unmatched: "throw", address: "198.51.100.4" });
  const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
  old.setFile(`${DIR}/image-a`, "image a");
  old.setFile("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAOLDHOSTKEY root@old\n");
  old.setFile(AK, JUMP_LINE, { mode: 0o600 });
  scriptBasics(old);
  scriptFind(old);
  scriptBasics(neu);
  scriptFind(neu);
  scriptKeyFiles(neu);
  const tmp = scriptTempDirs(neu);
  neu.addDir(DIR);
  const linesDuringRsync: string[][] = [];
  const rsync = scriptRsync(neu, old, { rsyncCheck: () => linesDuringRsync.push(marked(old.fileText(AK))) });
  const registry: StepRegistry = new Map(filesSteps(makeDeps(new FakeSql())).map((s) => [s.kind, s]));
  const hosts = new Map([
    ["old", old],
    ["new", neu],
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "handover-key-engine-"));
  dirs.push(dir);
  const run = async () => {
    const journal = Journal.open({ stateDir: dir, plan });
    try {
      return await runPlan({ plan, registry, hosts, journal, concurrency: 2 });
    } finally {
      journal.close();
    }
  };
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
    expect(w.old.fileText(AK)).toBe(JUMP_LINE);
    expect(w.tmp.removed).toEqual(w.tmp.made);
    // Run again (a resume): everything verifies; the key gone on purpose is not a warning, and not made again.
    const again = await w.run();
    expect(again.ran).toEqual([]);
    expect(w.tmp.made).toHaveLength(1);

    const journal = Journal.open({ stateDir: w.dir });
    try {
      const notes = fs
        .readFileSync(path.join(w.dir, JOURNAL_FILE), "utf8")
        .split("\n")
        .filter((l) => l.includes('"type":"note"') && l.includes('"level":"warn"'));
      expect(notes).toEqual([]);
      const preview = rollbackPreview(journal.state());
      const item = (id: string) => preview.items.find((i) => i.stepId === id);
      expect(item("data.temp-key.remove")).toMatchObject({ action: "no-op" });
      expect(item("warm.temp-key")).toMatchObject({ action: "undo" });
      const result = await rollbackJournal({ registry: w.registry, hosts: w.hosts, journal });
      expect(result.complete).toBe(true);
      expect(result.outcomes.map((o) => [o.stepId, o.outcome])).toEqual([
        ["data.temp-key.remove", "undone"],
        ["data.glance.images", "undone"],
        ["warm.glance.images", "undone"],
        ["warm.temp-key", "undone"],
      ]);
    } finally {
      journal.close();
    }
    expect(w.neu.getFile(`${DIR}/image-a`)).toBeUndefined();
    expect(w.old.fileText(AK)).toBe(JUMP_LINE);
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
    expect(marked(w.old.fileText(AK))).toHaveLength(1);
    // Meanwhile an image was added on old: the delta pass has something to copy (its verify fails).
    w.old.setFile(`${DIR}/image-b`, "image b");
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
    expect(w.old.fileText(AK)).toBe(JUMP_LINE);
    expect(w.neu.listFiles().filter((f) => f.startsWith("/tmp/"))).toEqual([]);
    expect(w.neu.fileText(`${DIR}/image-b`)).toBe("image b");
  });
});
