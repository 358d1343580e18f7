/**
 * The run's temporary key (files.temp-key / files.temp-key-remove) and the passes that reuse it, on FakeHosts
 * (sim.ts scripts their commands on in-memory files), plus where the planner puts the key steps.
 */
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../../../src/engine/step.js";
import { buildPlan } from "../../../../src/plan/build.js";
import { undoKindOf } from "../../../../src/plan/kinds.js";
import { filesSyncStep } from "../../../../src/steps/files/sync.js";
import { tempKeyRemoveStep, tempKeyStep } from "../../../../src/steps/files/temp-key.js";
import { volumesCopyStep } from "../../../../src/steps/files/volumes.js";
import { labFacts, labInput } from "../../plan/fixtures/lab-facts.js";
import { shippedCatalog } from "../../plan/helpers.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";
import { AUTHORIZED_KEYS, IMAGES, JUMP_LINE, keyHosts, markedLines } from "./key-hosts.js";

const params = { from: "old", to: "new" };

function setup() {
  return { ...keyHosts("image a bytes"), deps: makeDeps(new FakeSql()) };
}

/** A context whose journal holds `results` as done steps' undo data (ctx.resultOf). */
function ctxWith(s: ReturnType<typeof setup>, results: Record<string, JsonObject>, previous?: JsonObject) {
  const h = makeCtx({ old: s.old, new: s.neu }, previous);
  return { ...h, ctx: { ...h.ctx, resultOf: (id: string) => results[id] } };
}

describe("files.temp-key", () => {
  it("journals the key before old is touched, installs it restricted to new's address; verify finds it; undo removes it", async () => {
    const s = setup();
    const h = ctxWith(s, {});
    const seenAtCheckpoint: string[] = [];
    const ctx = {
      ...h.ctx,
      checkpoint: (d: JsonObject) => {
        seenAtCheckpoint.push(s.old.fileText(AUTHORIZED_KEYS) ?? "");
        h.ctx.checkpoint?.(d);
      },
    };
    const step = tempKeyStep(s.deps);
    const res = (await step.run(ctx, params)) ?? {};
    expect(seenAtCheckpoint).toEqual([JUMP_LINE]);
    expect(h.checkpoints[0]).toMatchObject({ tempKeys: [{ dir: s.tmp.made[0], nonce: expect.any(String) }] });
    const [line] = markedLines(s.old.fileText(AUTHORIZED_KEYS));
    expect(line).toMatch(
      /^from="198\.51\.100\.5",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 \S+ handover-temp-[0-9a-f]{16}$/,
    );
    expect(res).toMatchObject({ current: { dir: s.tmp.made[0] }, tempKeys: [{ dir: s.tmp.made[0] }] });
    expect(line).toContain((res.current as { nonce: string }).nonce);
    expect(s.neu.fileText(`${s.tmp.made[0]}/known_hosts`)).toBe("198.51.100.4 ssh-ed25519 AAAAOLDHOSTKEY\n");
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });

    await step.undo!(h.ctx, params, res);
    expect(s.old.fileText(AUTHORIZED_KEYS)).toBe(JUMP_LINE);
    expect(s.tmp.removed).toEqual(s.tmp.made);
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: false });
  });

  it("a redo (its key found gone on resume) removes what the earlier attempt installed, then makes a new key", async () => {
    const s = setup();
    const step = tempKeyStep(s.deps);
    const first = (await step.run(ctxWith(s, {}).ctx, params)) ?? {};
    // /tmp on new wiped by a reboot: the key files are gone, old still has the line.
    for (const f of s.neu.listFiles()) if (f.startsWith(s.tmp.made[0]!)) await s.neu.removeFile(f);
    expect(await step.verify(ctxWith(s, {}).ctx, params)).toMatchObject({ ok: false });
    const second = (await step.run(ctxWith(s, {}, first).ctx, params)) ?? {};
    const lines = markedLines(s.old.fileText(AUTHORIZED_KEYS));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain((second.current as { nonce: string }).nonce);
    expect(lines[0]).not.toContain((first.current as { nonce: string }).nonce);
    expect(await step.verify(ctxWith(s, {}).ctx, params)).toMatchObject({ ok: true });
  });
});

describe("files.sync with the run's key", () => {
  const warm = {
    from: "old",
    to: "new",
    path: IMAGES,
    pass: "warm",
    owner: "glance",
    keyStep: "warm.temp-key",
  };

  it("uses the key files.temp-key made: no key made, installed or removed by the pass", async () => {
    const s = setup();
    const key = (await tempKeyStep(s.deps).run(ctxWith(s, {}).ctx, params)) ?? {};
    const before = s.old.fileText(AUTHORIZED_KEYS);
    const commandsBefore = s.neu.commands().length;
    const h = ctxWith(s, { "warm.temp-key": key });
    const res = await filesSyncStep(s.deps).run(h.ctx, warm);
    expect(res).toMatchObject({ key: "run", bytes: "image a bytes".length });
    expect(s.neu.fileText(`${IMAGES}/image-a`)).toBe("image a bytes");
    const dir = (key.current as { dir: string }).dir;
    expect(s.rsync.argvs[0]?.join(" ")).toContain(`-i ${dir}/id `);
    expect(s.rsync.argvs[0]?.join(" ")).toContain(`UserKnownHostsFile=${dir}/known_hosts`);
    const passCommands = s.neu.commands().slice(commandsBefore);
    expect(passCommands.filter((a) => a[0] === "mktemp" || a[0] === "ssh-keygen" || a[0] === "rm")).toEqual(
      [],
    );
    expect(s.old.fileText(AUTHORIZED_KEYS)).toBe(before);
  });

  it("when the run's key is gone (new's /tmp wiped), the pass makes, uses and removes its own, and says so", async () => {
    const s = setup();
    const key = (await tempKeyStep(s.deps).run(ctxWith(s, {}).ctx, params)) ?? {};
    const dir = (key.current as { dir: string }).dir;
    for (const f of s.neu.listFiles()) if (f.startsWith(dir)) await s.neu.removeFile(f);
    const runLine = markedLines(s.old.fileText(AUTHORIZED_KEYS));
    const h = ctxWith(s, { "warm.temp-key": key });
    const res = await filesSyncStep(s.deps).run(h.ctx, warm);
    expect(res).toMatchObject({ key: "pass", tempKeys: [] });
    expect(s.rsync.argvs[0]?.join(" ")).toContain(`-i ${s.tmp.made[1]}/id `);
    expect(s.tmp.removed).toContain(s.tmp.made[1]);
    // The pass's own key is gone again; the run's line stays for files.temp-key-remove to remove.
    expect(markedLines(s.old.fileText(AUTHORIZED_KEYS))).toEqual(runLine);
    expect(
      h.events.some(
        (e) => e.type === "log" && /temporary key cannot be used \(.*gone from new\)/.test(e.message),
      ),
    ).toBe(true);
  });

  it("when the key step is not done (no result), the pass makes its own", async () => {
    const s = setup();
    const res = await filesSyncStep(s.deps).run(ctxWith(s, {}).ctx, warm);
    expect(res).toMatchObject({ key: "pass" });
    expect(s.old.fileText(AUTHORIZED_KEYS)).toBe(JUMP_LINE);
  });

  it("volumes.copy (file backend) uses the run's key too", async () => {
    const s = setup();
    const LOC = "/var/lib/cinder/volumes";
    const V = "1111aaaa-0000-0000-0000-000000000001";
    s.old.setFile(`${LOC}/volume-${V}`, "disk");
    for (const h of [s.old, s.neu]) h.on((a) => a[0] === "openssl", { stdout: `${"a".repeat(64)} *x\n` });
    const key = (await tempKeyStep(s.deps).run(ctxWith(s, {}).ctx, params)) ?? {};
    const made = s.tmp.made.length;
    const p = {
      backend: "file",
      location: LOC,
      volumes: [{ id: V, sizeGb: 1 }],
      pass: "bulk",
      concurrency: 2,
      keyStep: "warm.temp-key",
    };
    await volumesCopyStep(s.deps).run(ctxWith(s, { "warm.temp-key": key }).ctx, p);
    expect(s.tmp.made).toHaveLength(made);
    expect(s.rsync.argvs[0]?.join(" ")).toContain(`-i ${(key.current as { dir: string }).dir}/id `);
  });
});

describe("files.temp-key-remove", () => {
  const rm = { from: "old", to: "new", keyStep: "warm.temp-key" };

  it("removes every key the key step recorded from old and new; verify proves it; its undo changes nothing", async () => {
    const s = setup();
    const key = (await tempKeyStep(s.deps).run(ctxWith(s, {}).ctx, params)) ?? {};
    const h = ctxWith(s, { "warm.temp-key": key });
    const step = tempKeyRemoveStep(s.deps);
    expect(await step.verify(h.ctx, rm)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/still in/),
    });
    const res = await step.run(h.ctx, rm);
    expect(res).toMatchObject({ removed: [{ dir: (key.current as { dir: string }).dir }] });
    expect(s.old.fileText(AUTHORIZED_KEYS)).toBe(JUMP_LINE);
    expect(s.neu.listFiles().filter((f) => f.startsWith("/tmp/"))).toEqual([]);
    expect(await step.verify(h.ctx, rm)).toMatchObject({ ok: true });
    const callsBefore = s.old.calls.length + s.neu.calls.length;
    await step.undo!(h.ctx, rm, res ?? {});
    expect(s.old.calls.length + s.neu.calls.length).toBe(callsBefore);
    expect(undoKindOf("files.temp-key-remove")).toBe("read-only");
    expect(undoKindOf("files.temp-key")).toBe("reversible");
  });
});

describe("the plan's key steps (lab plan)", () => {
  const plan = buildPlan(labInput, labFacts, shippedCatalog());
  const byId = new Map(plan.steps.map((s) => [s.id, s]));

  it("makes the key once before the warm pass and removes it once after the last data-phase copy", () => {
    const users = plan.steps.filter(
      (s) => s.params.keyStep === "warm.temp-key" && s.kind !== "files.temp-key-remove",
    );
    expect(plan.steps.filter((s) => s.kind === "files.temp-key").map((s) => s.id)).toEqual(["warm.temp-key"]);
    expect(users.map((s) => s.id)).toEqual(
      expect.arrayContaining(["warm.glance.images", "data.glance.images"]),
    );
    for (const u of users) expect(u.after).toContain("warm.temp-key");
    const remove = byId.get("data.temp-key.remove");
    expect(remove?.kind).toBe("files.temp-key-remove");
    expect(remove?.params).toMatchObject({ keyStep: "warm.temp-key" });
    for (const u of users) expect(remove?.after).toContain(u.id);
    // Plan order: the removal comes after every user; the commands say what is done on which host.
    const at = (id: string) => plan.steps.findIndex((s) => s.id === id);
    for (const u of users) expect(at("data.temp-key.remove")).toBeGreaterThan(at(u.id));
    expect(byId.get("warm.temp-key")?.commands.join("\n")).toMatch(
      /\[old\] append to \/root\/\.ssh\/authorized_keys: from="/,
    );
    // The final volume pass in the switch phase (maybe days later) does not use the run's key.
    expect(plan.steps.filter((s) => s.phase === "switch" && s.params.keyStep !== undefined)).toEqual([]);
  });
});
