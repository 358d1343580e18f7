/**
 * nova.pin-computes / nova.unpin-computes against fake computes (behaviour of `fakeCompute` in FAKES.md beside
 * this file).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Journal } from "../../../../src/engine/journal.js";
import { runPlan } from "../../../../src/engine/run.js";
import type { Plan } from "../../../../src/engine/step.js";
import type { Host } from "../../../../src/hosts/host.js";
import { readReport } from "../../../../src/report/index.js";
import { buildRegistry } from "../../../../src/steps/registry.js";
import type { JsonObject, StepImpl } from "../../../../src/engine/step.js";
import { SYSV_STATUS } from "../../../../src/hosts/service-manager.js";
import { UserError } from "../../../../src/lib/errors.js";
import { forEachBounded } from "../../../../src/steps/nova/pin-computes.js";
import { novaSteps } from "../../../../src/steps/nova/index.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

const CONF = "/etc/nova/nova.conf";
const BACKUP = "/var/backups/handover/edit/etc/nova/nova.conf";
/** Odd bytes on purpose: CRLF lines, trailing blanks, a commented default, no final newline. */
const ORIGINAL =
  "[DEFAULT]\r\ntransport_url = rabbit://nova:s3cret@198.51.100.4:5672/  \n\n[upgrade_levels]\n#compute = <None>\n\n[vnc]\nenabled = true";
const NEW_CONF = "[DEFAULT]\n\n[upgrade_levels]\ncompute = auto\n";

interface Tracker {
  now: number;
  max: number;
}

interface ComputeOptions {
  conf?: string | null;
  init?: "systemd" | "sysvinit";
  unit?: string | null;
  running?: boolean;
  restartExit?: number;
  reachable?: boolean;
  gate?: () => Promise<void>;
  tracker?: Tracker;
}

interface Compute {
  host: FakeHost;
  state: { running: boolean; restarts: number };
}

function fakeCompute(name: string, o: ComputeOptions = {}): Compute {
  const host = new FakeHost(name, { unmatched: "throw" });
  const unit = o.unit === undefined ? "nova-compute" : o.unit;
  const state = { running: o.running ?? true, restarts: 0 };
  if (o.conf !== null) host.setFile(CONF, o.conf ?? ORIGINAL, { mode: 0o640, uid: 0, gid: 64060 });
  host.on(["mkdir", "-p", "-m", "0700", "--", /\/.+/], ({ argv, host: h }) => {
    h.addDir(argv[5] ?? "");
    return {};
  });
  const restart = async (): Promise<{ exitCode: number }> => {
    if (o.tracker) o.tracker.max = Math.max(o.tracker.max, ++o.tracker.now);
    if (o.gate) await o.gate();
    if (o.tracker) o.tracker.now--;
    state.restarts++;
    const exitCode = o.restartExit ?? 0;
    state.running = exitCode === 0;
    return { exitCode };
  };
  if ((o.init ?? "sysvinit") === "systemd") {
    host.addDir("/run/systemd/system");
    host.on(["systemctl", "show", "-p", "LoadState", "--value", "--", /.+\.service/], ({ argv }) => ({
      stdout: unit !== null && argv[6] === `${unit}.service` ? "loaded\n" : "not-found\n",
    }));
    if (unit !== null) {
      host.on(["systemctl", "is-active", "--quiet", "--", `${unit}.service`], () => ({
        exitCode: state.running ? 0 : 3,
      }));
      host.on(["systemctl", "restart", "--", `${unit}.service`], restart);
    }
  } else if (unit !== null) {
    host.setFile(`/etc/init.d/${unit}`, "#!/bin/sh\n", { mode: 0o755 });
    host.on(["sh", "-c", SYSV_STATUS, "sh", unit], () => ({ exitCode: state.running ? 0 : 3 }));
    host.on(["service", unit, "restart"], restart);
  }
  if (o.reachable === false) host.setReachable(false);
  return { host, state };
}

function steps(): Record<string, StepImpl> {
  return Object.fromEntries(novaSteps(makeDeps(new FakeSql())).map((s) => [s.kind, s]));
}

function newController(conf = NEW_CONF): FakeHost {
  return new FakeHost("new", { unmatched: "throw" }).setFile(CONF, conf);
}

function params(computes: string[], concurrency = 4): JsonObject {
  return {
    controller: "new",
    file: CONF,
    value: "auto",
    computes,
    units: ["nova-compute", "openstack-nova-compute"],
    concurrency,
  };
}

const outcomes = (r: JsonObject | void): unknown => (r ? r.outcomes : undefined);

describe("nova.pin-computes", () => {
  it("pins each compute, keeps owner and mode, backs up, restarts only a running unit that exists", async () => {
    const c1 = fakeCompute("compute1", { init: "systemd" });
    const c2 = fakeCompute("compute2", { unit: null }); // the lab: nova-common only
    const c3 = fakeCompute("compute3", { init: "systemd", running: false });
    const c4 = fakeCompute("compute4", { init: "systemd", unit: "openstack-nova-compute" });
    const h = makeCtx({ new: newController(), ...hostsOf(c1, c2, c3, c4) });
    const step = steps()["nova.pin-computes"]!;
    const p = params(["compute1", "compute2", "compute3", "compute4"]);

    expect((await step.verify(h.ctx, p)).ok).toBe(false);
    const res = await step.run(h.ctx, p);
    expect(outcomes(res)).toEqual([
      { host: "compute1", ok: true, detail: "pinned (compute = auto) in config; nova-compute restarted" },
      {
        host: "compute2",
        ok: true,
        detail: "pinned (compute = auto) in config; no nova-compute service to restart",
      },
      {
        host: "compute3",
        ok: true,
        detail: "pinned (compute = auto) in config; nova-compute is not running, left stopped",
      },
      {
        host: "compute4",
        ok: true,
        detail: "pinned (compute = auto) in config; openstack-nova-compute restarted",
      },
    ]);
    for (const c of [c1, c2, c3, c4]) {
      const f = c.host.getFile(CONF)!;
      // Next to the packaged comment (with the line ending the editor picked for this file).
      expect(f.data.toString()).toMatch(/\[upgrade_levels\]\n#compute = <None>\ncompute = auto\r?\n/);
      // Every other byte as it was (CRLF, trailing blanks, the missing final newline).
      expect(f.data.toString().replace(/compute = auto\r?\n/, "")).toBe(ORIGINAL);
      expect({ mode: f.mode, uid: f.uid, gid: f.gid }).toEqual({ mode: 0o640, uid: 0, gid: 64060 });
      const b = c.host.getFile(BACKUP)!;
      expect(b.data.toString()).toBe(ORIGINAL);
      expect(b.mode).toBe(0o600);
    }
    expect([c1, c2, c3, c4].map((c) => c.state.restarts)).toEqual([1, 0, 0, 1]);
    expect(c3.state.running).toBe(false);
    expect(res).toMatchObject({
      edited: ["compute1", "compute2", "compute3", "compute4"],
      restarted: { compute1: "nova-compute", compute4: "openstack-nova-compute" },
      failed: [],
    });
    expect(await step.verify(h.ctx, p)).toEqual({
      ok: true,
      detail: "new and 4 of 4 compute(s) pinned to auto",
    });
    // Idempotent: a second run changes nothing and restarts nothing.
    const again = await step.run(h.ctx, p);
    expect([c1, c2, c3, c4].map((c) => c.state.restarts)).toEqual([1, 0, 0, 1]);
    expect(outcomes(again)).toContainEqual({
      host: "compute1",
      ok: true,
      detail: "already pinned (compute = auto); nothing to restart",
    });
    // nova.conf holds the broker password: it is never logged.
    expect(JSON.stringify(h.events)).not.toContain("s3cret");
  });

  it("never has more computes in flight than the concurrency bound", async () => {
    const tracker: Tracker = { now: 0, max: 0 };
    // Each restart yields to the event loop several times, so every compute that may run does so meanwhile.
    const gate = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    const cs = Array.from({ length: 7 }, (_, i) =>
      fakeCompute(`compute${i + 1}`, { init: "systemd", gate, tracker }),
    );
    const h = makeCtx({ new: newController(), ...hostsOf(...cs) });
    const names = cs.map((c) => c.host.name);
    await steps()["nova.pin-computes"]!.run(h.ctx, params(names, 3));
    expect(cs.every((c) => c.state.restarts === 1)).toBe(true);
    expect(tracker.max).toBe(3);

    // And with a bound of 1, strictly one after the other.
    const t1: Tracker = { now: 0, max: 0 };
    const serial = Array.from({ length: 4 }, (_, i) =>
      fakeCompute(`c${i}`, { init: "systemd", gate, tracker: t1 }),
    );
    await steps()["nova.pin-computes"]!.run(
      makeCtx({ new: newController(), ...hostsOf(...serial) }).ctx,
      params(
        serial.map((c) => c.host.name),
        1,
      ),
    );
    expect(t1.max).toBe(1);
  });

  it("a failing compute is reported as a warning and the others are pinned", async () => {
    const c1 = fakeCompute("compute1", { init: "systemd" });
    const c2 = fakeCompute("compute2", { reachable: false });
    const c3 = fakeCompute("compute3", { init: "systemd", restartExit: 1 });
    const c4 = fakeCompute("compute4", { conf: null });
    const h = makeCtx({ new: newController(), ...hostsOf(c1, c2, c3, c4) });
    const step = steps()["nova.pin-computes"]!;
    const p = params(["compute1", "compute2", "compute3", "compute4"], 2);
    const res = await step.run(h.ctx, p);
    expect(res).toMatchObject({ failed: ["compute2", "compute3", "compute4"] });
    const byHost = new Map((res!.outcomes as JsonObject[]).map((o) => [o.host, o] as const));
    expect(byHost.get("compute1")).toMatchObject({ ok: true });
    expect(byHost.get("compute2")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/unreachable/i),
    });
    expect(byHost.get("compute3")).toMatchObject({
      ok: false,
      detail: expect.stringContaining("systemctl restart -- nova-compute.service` exited with 1"),
    });
    expect(byHost.get("compute4")).toMatchObject({
      ok: false,
      detail: expect.stringContaining("has no /etc/nova"),
    });
    const warns = h.events.flatMap((e) => (e.type === "log" && e.level === "warn" ? [e.message] : []));
    expect(warns.map((w) => w.split(":")[0]).sort()).toEqual(["compute2", "compute3", "compute4"]);
    expect(warns.every((w) => w.includes("setting the compute RPC pin failed"))).toBe(true);
    // compute3's file was pinned before its restart failed: undo must know it.
    expect(res).toMatchObject({
      edited: ["compute1", "compute3"],
      restarted: { compute1: "nova-compute", compute3: "nova-compute" },
    });
    const v = await step.verify(h.ctx, p);
    expect(v.ok).toBe(true);
    expect(v.detail).toMatch(
      /^new and 2 of 4 compute\(s\) pinned to auto; not on compute2 \(.*\), compute4 \(/,
    );
  });

  it("fails only when every compute failed", async () => {
    const c1 = fakeCompute("compute1", { reachable: false });
    const c2 = fakeCompute("compute2", { conf: null });
    const h = makeCtx({ new: newController(), ...hostsOf(c1, c2) });
    const step = steps()["nova.pin-computes"]!;
    const p = params(["compute1", "compute2"]);
    const err = await step.run(h.ctx, p).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe("COMPUTE_PIN_FAILED");
    expect((err as UserError).message).toMatch(/compute1: .*; compute2: .*has no/);
    expect((await step.verify(h.ctx, p)).ok).toBe(false);
  });

  it("verify fails when the new controller lacks the pin, whatever the computes hold", async () => {
    const c1 = fakeCompute("compute1", { conf: `${NEW_CONF}` });
    const h = makeCtx({ new: newController("[DEFAULT]\n"), compute1: c1.host });
    expect(await steps()["nova.pin-computes"]!.verify(h.ctx, params(["compute1"]))).toEqual({
      ok: false,
      detail: "new's /etc/nova/nova.conf has no compute pin, not auto",
    });
  });

  it("undo restores every byte, owner and mode, and restarts where the run restarted", async () => {
    const c1 = fakeCompute("compute1", { init: "systemd" });
    const c2 = fakeCompute("compute2", { unit: null });
    const c3 = fakeCompute("compute3", { conf: "[upgrade_levels]\ncompute = auto\n" }); // pinned already
    const h = makeCtx({ new: newController(), ...hostsOf(c1, c2, c3) });
    const step = steps()["nova.pin-computes"]!;
    const p = params(["compute1", "compute2", "compute3"]);
    const res = (await step.run(h.ctx, p)) as JsonObject;
    await step.undo!(h.ctx, p, { ...h.checkpoints.at(-1), ...res });
    for (const c of [c1, c2]) {
      const f = c.host.getFile(CONF)!;
      expect(f.data.equals(Buffer.from(ORIGINAL))).toBe(true);
      expect({ mode: f.mode, gid: f.gid }).toEqual({ mode: 0o640, gid: 64060 });
      expect(c.host.getFile(BACKUP)).toBeUndefined();
    }
    expect(c3.host.fileText(CONF)).toBe("[upgrade_levels]\ncompute = auto\n"); // not ours to change
    expect([c1, c2, c3].map((c) => c.state.restarts)).toEqual([2, 0, 0]);
    expect(c1.state.running).toBe(true);
    // Idempotent: a second undo has no backup left to restore.
    await step.undo!(h.ctx, p, { ...h.checkpoints.at(-1), ...res });
    expect(c1.host.getFile(CONF)!.data.equals(Buffer.from(ORIGINAL))).toBe(true);
  });

  it("a crash after the write: undo from the checkpoint alone restores; a redo still restarts", async () => {
    const c1 = fakeCompute("compute1", { init: "systemd" });
    // The crash: the restart never returns (its channel died), the step never finished.
    const crash = new Error("connection lost");
    c1.host.on(["systemctl", "restart", "--", "nova-compute.service"], () => Promise.reject(crash), {
      times: 1,
    });
    const h = makeCtx({ new: newController(), compute1: c1.host });
    const step = steps()["nova.pin-computes"]!;
    const p = params(["compute1"]);
    await expect(step.run(h.ctx, p)).rejects.toThrow(/every compute/);
    const checkpoint = h.checkpoints.at(-1)!;
    expect(checkpoint).toMatchObject({ edited: ["compute1"], restarted: { compute1: "nova-compute" } });

    // Redo with the earlier attempt's record, file already pinned: the restart it missed happens now.
    const redo = makeCtx(
      { new: newController(), compute1: c1.host },
      { edited: ["compute1"], restarted: {} },
    );
    const res = await step.run(redo.ctx, p);
    expect(outcomes(res)).toEqual([
      { host: "compute1", ok: true, detail: "already pinned (compute = auto); nova-compute restarted" },
    ]);
    expect(c1.state.restarts).toBe(1);
    // Also when the earlier attempt had recorded the restart: the crash may have come before it ran.
    const redo2 = makeCtx({ new: newController(), compute1: c1.host }, checkpoint);
    await step.run(redo2.ctx, p);
    expect(c1.state.restarts).toBe(2);

    await step.undo!(h.ctx, p, checkpoint);
    expect(c1.host.getFile(CONF)!.data.equals(Buffer.from(ORIGINAL))).toBe(true);
  });

  it("undo tries every compute and names those it could not restore", async () => {
    const c1 = fakeCompute("compute1", { init: "systemd" });
    const c2 = fakeCompute("compute2", { init: "systemd" });
    const h = makeCtx({ new: newController(), ...hostsOf(c1, c2) });
    const step = steps()["nova.pin-computes"]!;
    const p = params(["compute1", "compute2"]);
    const res = (await step.run(h.ctx, p)) as JsonObject;
    c1.host.setReachable(false);
    await expect(step.undo!(h.ctx, p, res)).rejects.toThrow(
      /could not restore \/etc\/nova\/nova.conf on compute1: /,
    );
    expect(c2.host.getFile(CONF)!.data.equals(Buffer.from(ORIGINAL))).toBe(true);
  });
});

describe("nova.unpin-computes", () => {
  it("removes the pin, restarts, reports computes without one; undo puts the value back", async () => {
    const pinnedConf = "[upgrade_levels]\n# keep\ncompute = auto\n[vnc]\nenabled = true\n";
    const c1 = fakeCompute("compute1", { init: "systemd", conf: pinnedConf });
    const c2 = fakeCompute("compute2", { conf: "[DEFAULT]\n" });
    const c3 = fakeCompute("compute3", { reachable: false });
    const h = makeCtx({ ...hostsOf(c1, c2, c3) });
    const step = steps()["nova.unpin-computes"]!;
    const p: JsonObject = {
      file: CONF,
      computes: ["compute1", "compute2", "compute3"],
      units: ["nova-compute"],
    };
    const res = (await step.run(h.ctx, p)) as JsonObject;
    expect(res.outcomes).toEqual([
      { host: "compute1", ok: true, detail: "pin removed in config; nova-compute restarted" },
      { host: "compute2", ok: true, detail: "no pin set; nothing to restart" },
      { host: "compute3", ok: false, detail: expect.stringMatching(/unreachable/i) as unknown },
    ]);
    expect(c1.host.fileText(CONF)).toBe("[upgrade_levels]\n# keep\n[vnc]\nenabled = true\n");
    expect(c1.state.restarts).toBe(1);
    expect(res.before).toEqual({ compute1: "auto" });
    const v = await step.verify(h.ctx, p);
    expect(v.ok).toBe(true);
    expect(v.detail).toMatch(/^2 of 3 compute\(s\) without a compute pin; not on compute3/);

    await step.undo!(h.ctx, p, res);
    expect(c1.host.fileText(CONF)).toContain("[upgrade_levels]\n# keep\ncompute = auto\n");
    expect(c2.host.fileText(CONF)).toBe("[DEFAULT]\n");
    expect(c1.state.restarts).toBe(2);
  });
});

describe("forEachBounded", () => {
  it("keeps at most `limit` running and returns results in input order", async () => {
    let now = 0;
    let max = 0;
    const out = await forEachBounded([5, 1, 4, 2, 3, 0], 2, async (n) => {
      max = Math.max(max, ++now);
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
      now--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(max).toBe(2);
  });
});

function hostsOf(...cs: Compute[]): Record<string, FakeHost> {
  return Object.fromEntries(cs.map((c) => [c.host.name, c.host]));
}

describe("nova.pin-computes through the engine", () => {
  it("a failing compute ends up among the report's warnings; the step is done", async () => {
    const dir = mkdtempSync(join(tmpdir(), "handover-pin-"));
    try {
      const c1 = fakeCompute("compute1", { init: "systemd" });
      const c2 = fakeCompute("compute2", { reachable: false });
      const plan: Plan = {
        version: 1,
        sourceRelease: "victoria",
        targetRelease: "zed",
        warnings: [],
        steps: [
          {
            id: "svc.nova.pin-computes",
            kind: "nova.pin-computes",
            title: "pin",
            phase: "services",
            hosts: ["new", "compute1", "compute2"],
            reads: [],
            writes: [],
            commands: [],
            after: [],
            params: params(["compute1", "compute2"]),
          },
        ],
      };
      const journal = Journal.open({ stateDir: dir, plan });
      const hosts = new Map<string, Host>([
        ["new", newController()],
        ["compute1", c1.host],
        ["compute2", c2.host],
      ]);
      let ran: readonly string[] = [];
      try {
        ({ ran } = await runPlan({ plan, registry: buildRegistry(makeDeps(new FakeSql())), hosts, journal }));
      } finally {
        journal.close();
      }
      expect(ran).toEqual(["svc.nova.pin-computes"]);
      const report = readReport(dir);
      expect(report.warnings).toContainEqual(
        expect.objectContaining({
          source: "note",
          stepId: "svc.nova.pin-computes",
          message: expect.stringMatching(
            /^compute2: setting the compute RPC pin failed: .*unreachable/i,
          ) as unknown,
        }),
      );
      expect(report.warnings.some((w) => w.message.startsWith("compute1"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
