/**
 * `handover status`: a few lines (or JSON) from the journal after a failed run, a complete one, and none.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCommand } from "../../../src/cli/commands/run.js";
import { statusCommand } from "../../../src/cli/commands/status.js";
import { answersDir, cleanupTemps, depsFor, fixture, invoke, recordingIo, text } from "./run-fakes.js";

afterEach(cleanupTemps);

describe("handover status", () => {
  it("after a failed run: counts, the failed step with its message, the journal and what to do next", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture({ throwAt: { stepId: "cfg.c", mutation: 1, message: "disk full" } });
    const io = recordingIo(dir);
    await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, depsFor(fx)));

    const st = recordingIo(dir);
    expect(await invoke(st, () => statusCommand({ file: "answers.yaml" }, st))).toBe(0);
    const out = text(st.out);
    expect(out).toContain("Migration victoria → zed: failed");
    expect(out).toContain("Steps: 3/6 done, 1 failed, 2 pending");
    expect(out).toContain("Failed: cfg.c (step cfg.c): disk full");
    expect(out).toContain(`Journal: ${join(stateDir, "journal.jsonl")}`);
    expect(out).toContain("Next: `handover run -f answers.yaml` to continue");
    expect(out).toContain("Last events:");
  });

  it("--json gives the summary as data; --state-dir works without an answer file", async () => {
    const { dir, stateDir } = answersDir();
    const fx = fixture();
    const io = recordingIo(dir);
    await invoke(io, () => runCommand({ file: "answers.yaml", yes: true }, io, depsFor(fx)));

    const st = recordingIo(dir);
    expect(await invoke(st, () => statusCommand({ stateDir: "state", json: true }, st))).toBe(0);
    const doc = JSON.parse(text(st.out)) as {
      state: string;
      totalSteps: number;
      counts: { done: number };
      finalized: boolean;
      journal: string;
    };
    expect(doc.state).toBe("completed");
    expect(doc.totalSteps).toBe(6);
    expect(doc.counts.done).toBe(6);
    expect(doc.finalized).toBe(false);
    expect(doc.journal).toBe(join(stateDir, "journal.jsonl"));
  });

  it("says so when nothing has run, and needs -f or --state-dir", async () => {
    const { dir } = answersDir();
    const st = recordingIo(dir);
    expect(await invoke(st, () => statusCommand({ file: "answers.yaml" }, st))).toBe(0);
    expect(text(st.out)).toMatch(/^No journal in .*state: nothing has run there yet\.$/);
    const st2 = recordingIo(dir);
    expect(await invoke(st2, () => statusCommand({}, st2))).toBe(1);
    expect(text(st2.err)).toContain("[STATUS_WHERE]");
  });
});
