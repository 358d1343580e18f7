import { describe, expect, it } from "vitest";
import { serviceSteps } from "../../../../src/steps/service/index.js";
import { RENICE_SCRIPT } from "../../../../src/steps/service/units.js";
import { SYSV_STATUS, ServiceManager } from "../../../../src/hosts/service-manager.js";
import type { StepImpl } from "../../../../src/engine/step.js";
import type { UserError } from "../../../../src/lib/errors.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";
import { initHost } from "./init-host.js";

function impl(kind: string): StepImpl {
  const s = serviceSteps(makeDeps(new FakeSql())).find((x) => x.kind === kind);
  if (!s) throw new Error(kind);
  return s;
}

describe("ServiceManager", () => {
  it("uses service(8) without systemd and systemctl with it", async () => {
    const a = initHost("old", ["nova-api"], ["nova-api"]);
    await new ServiceManager(a.h).stop("nova-api");
    expect(a.h.commandLines()).toContain("service nova-api stop");
    const b = initHost("new", ["nova-api"], [], true);
    await new ServiceManager(b.h).start("nova-api");
    expect(b.h.commandLines()).toContain("systemctl start -- nova-api.service");
  });

  it("a failing action is a UserError naming the command and its output", async () => {
    const a = initHost("new", ["keystone"], []);
    a.h.on(["service", "keystone", "start"], { exitCode: 1, stderr: "uwsgi: Permission denied\n" });
    const e = (await new ServiceManager(a.h).start("keystone").catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("SERVICE_ACTION_FAILED");
    expect(e.message).toContain("`service keystone start` exited with 1");
    expect(e.message).toContain("Permission denied");
  });
});

describe("freeze.stop-apis / svc.stop", () => {
  const params = { host: "old", units: ["nova-api", "glance-api", "cinder-api"], mode: "stop-apis" };

  it("checkpoints what was active BEFORE stopping, stops it, verify says none active, undo starts exactly those", async () => {
    const { h, run } = initHost("old", ["nova-api", "glance-api", "cinder-api"], ["nova-api", "glance-api"]);
    const c = makeCtx({ old: h });
    const step = impl("freeze.stop-apis");
    const undo = await step.run(c.ctx, params);
    expect(c.checkpoints[0]).toEqual({
      host: "old",
      wereActive: ["nova-api", "glance-api"],
      token: expect.stringMatching(/^[0-9a-f]{24}$/) as unknown,
      since: "2026-01-01T00:00:00.000Z",
    });
    // The checkpoint came before the first stop.
    const firstStop = h.calls.findIndex((x) => "argv" in x && x.argv[2] === "stop");
    expect(firstStop).toBeGreaterThan(0);
    expect(run.size).toBe(0);
    expect(await step.verify(c.ctx, params)).toMatchObject({ ok: true });
    await step.undo!(c.ctx, params, undo as Record<string, never>);
    expect([...run].sort()).toEqual(["glance-api", "nova-api"]);
  });

  it("undo waits until the units it started are active (an init script may return before its daemon runs)", async () => {
    // keystone's init script returns at once; its status says running only from the third poll after the start.
    const { h, run } = initHost("old", ["keystone", "nova-api"], []);
    let started = false;
    let pollsAfterStart = 0;
    h.on(["service", "keystone", "start"], () => {
      started = true;
      return {};
    });
    h.on(
      (a) => a[0] === "sh" && a[2] === SYSV_STATUS,
      ({ argv }) => {
        const u = argv[4]!;
        if (u === "keystone" && started && ++pollsAfterStart >= 3) run.add("keystone");
        return { exitCode: run.has(u) ? 0 : 3 };
      },
    );
    const c = makeCtx({ old: h });
    await impl("freeze.stop-apis").undo!(c.ctx, params, {
      host: "old",
      wereActive: ["keystone", "nova-api"],
    });
    // It returned only once both were active: the next undo (old's daemons) starts against APIs that are up.
    expect([...run].sort()).toEqual(["keystone", "nova-api"]);
    expect(pollsAfterStart).toBeGreaterThanOrEqual(3);

    // svc.stop's undo (old's other daemons) waits the same way, and fails naming a unit that never comes up
    // (the lab's nova-conductor exiting at start-up) instead of reporting it undone.
    const dead = initHost("old", ["nova-conductor"], []);
    dead.h.on(["service", "nova-conductor", "start"], {});
    const e = (await impl("svc.stop").undo!(
      makeCtx({ old: dead.h }).ctx,
      { host: "old", units: ["nova-conductor"] },
      {
        host: "old",
        wereActive: ["nova-conductor"],
      },
    ).catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("SERVICE_NOT_ACTIVE");
    expect(e.message).toContain("nova-conductor did not become active");
  });

  it("lowPriority renices the active units' processes (unit names as arguments) before the first stop; without it, nothing is reniced", async () => {
    const { h, run } = initHost(
      "old",
      ["nova-conductor", "nova-scheduler"],
      ["nova-conductor", "nova-scheduler"],
    );
    h.on((a) => a[0] === "sh" && a[2] === RENICE_SCRIPT, { stdout: "4\n" });
    const c = makeCtx({ old: h });
    await impl("svc.stop").run(c.ctx, {
      host: "old",
      units: ["nova-conductor", "nova-scheduler"],
      lowPriority: true,
    });
    const renice = h.calls.findIndex((x) => "argv" in x && x.argv[2] === RENICE_SCRIPT);
    const firstStop = h.calls.findIndex((x) => "argv" in x && x.argv.includes("stop"));
    expect(renice).toBeGreaterThan(-1);
    expect(renice).toBeLessThan(firstStop);
    const call = h.calls[renice];
    expect(call && "argv" in call ? call.argv.slice(3) : []).toEqual([
      "sh",
      "nova-conductor",
      "nova-scheduler",
    ]);
    expect(run.size).toBe(0);
    expect(c.events).toContainEqual(
      expect.objectContaining({
        level: "info",
        message: expect.stringContaining("4 process(es)") as unknown,
      }),
    );

    const plain = initHost("old", ["nova-conductor"], ["nova-conductor"]);
    await impl("svc.stop").run(makeCtx({ old: plain.h }).ctx, { host: "old", units: ["nova-conductor"] });
    expect(plain.h.calls.some((x) => "argv" in x && x.argv[2] === RENICE_SCRIPT)).toBe(false);
  });

  it("a host where renicing fails still stops the units, with a warning", async () => {
    const { h, run } = initHost("old", ["nova-conductor"], ["nova-conductor"]);
    h.on((a) => a[0] === "sh" && a[2] === RENICE_SCRIPT, { exitCode: 127, stderr: "pgrep: not found\n" });
    const c = makeCtx({ old: h });
    await impl("svc.stop").run(c.ctx, { host: "old", units: ["nova-conductor"], lowPriority: true });
    expect(run.size).toBe(0);
    expect(c.events).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: expect.stringContaining("pgrep: not found") as unknown,
      }),
    );
  });

  it("a redo after a crash merges with the first attempt's record (units it already stopped are still restored)", async () => {
    const { h, run } = initHost("old", ["nova-api", "glance-api"], ["glance-api"]);
    const c = makeCtx({ old: h }, { host: "old", wereActive: ["nova-api", "glance-api"] });
    const undo = await impl("freeze.stop-apis").run(c.ctx, params);
    expect(undo).toEqual({ host: "old", wereActive: ["nova-api", "glance-api"] });
    expect(run.size).toBe(0);
  });

  it("waits for a daemon that outlives its init script's stop, and fails naming one that never goes", async () => {
    // cinder-volume on the lab once: `service cinder-volume stop` returned, the daemon ran on for a while.
    const { h, run } = initHost("old", ["cinder-volume"], ["cinder-volume"]);
    let lingering = 2;
    h.on(["service", "cinder-volume", "stop"], () => ({}));
    h.on(
      (a) => a[0] === "sh" && a[2] === SYSV_STATUS,
      () => {
        if (lingering-- <= 0) run.delete("cinder-volume");
        return { exitCode: run.has("cinder-volume") ? 0 : 3 };
      },
    );
    const p = { host: "old", units: ["cinder-volume"] };
    await impl("svc.stop").run(makeCtx({ old: h }).ctx, p);
    expect(run.size).toBe(0);

    const stuck = initHost("old", ["cinder-volume"], ["cinder-volume"]);
    stuck.h.on(["service", "cinder-volume", "stop"], () => ({}));
    const e = (await impl("svc.stop")
      .run(makeCtx({ old: stuck.h }).ctx, p)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("SERVICE_STILL_ACTIVE");
    expect(e.message).toMatch(/cinder-volume still running 3 s after its stop/);
  });

  it("svc.stop refuses a unit the host does not have unless ignoreMissing", async () => {
    const { h } = initHost("new", ["nova-api"], []);
    const c = makeCtx({ new: h });
    const e = (await impl("svc.stop")
      .run(c.ctx, { host: "new", units: ["nova-api", "neutron-api"] })
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("SERVICE_MISSING");
    await impl("svc.stop").run(c.ctx, {
      host: "new",
      units: ["nova-api", "neutron-api"],
      ignoreMissing: true,
    });
  });
});

describe("svc.start / svc.restart", () => {
  it("starts what is not active, waits until active, undo stops only what it started", async () => {
    const { h, run } = initHost("new", ["mariadb", "memcached"], ["memcached"]);
    const c = makeCtx({ new: h });
    const step = impl("svc.start");
    const p = { host: "new", units: ["mariadb", "memcached"], waitActive: true };
    const undo = await step.run(c.ctx, p);
    expect(undo).toEqual({ host: "new", started: ["mariadb"] });
    expect(h.commandLines().filter((l) => l.startsWith("service ") && l.endsWith(" start"))).toEqual([
      "service mariadb start",
    ]);
    expect(await step.verify(c.ctx, p)).toMatchObject({ ok: true });
    await step.undo!(c.ctx, p, undo as Record<string, never>);
    expect([...run]).toEqual(["memcached"]);
  });

  it("a unit that never becomes active fails after the bound, naming it", async () => {
    const { h } = initHost("new", ["nova-api"], []);
    h.on(["service", "nova-api", "start"], {}); // starts, but status keeps saying stopped
    const c = makeCtx({ new: h });
    const e = (await impl("svc.start")
      .run(c.ctx, { host: "new", units: ["nova-api"] })
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("SERVICE_NOT_ACTIVE");
    expect(e.message).toContain("nova-api did not become active");
  });

  it("svc.restart restarts and checks active (systemd host)", async () => {
    const { h } = initHost("new", ["nova-api"], ["nova-api"], true);
    const c = makeCtx({ new: h });
    await impl("svc.restart").run(c.ctx, { host: "new", units: ["nova-api"] });
    expect(h.commandLines()).toContain("systemctl restart -- nova-api.service");
    expect(await impl("svc.restart").verify(c.ctx, { host: "new", units: ["nova-api"] })).toMatchObject({
      ok: true,
    });
  });

  it("freeze.haproxy-503 says it is not supported yet and what to use instead", async () => {
    const e = (await impl("freeze.haproxy-503")
      .run(makeCtx({}).ctx, {})
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("NOT_SUPPORTED");
    expect(e.nextSteps.join(" ")).toContain("stop-apis");
  });
});
