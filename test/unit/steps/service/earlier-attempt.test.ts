/**
 * svc.start / svc.stop / freeze.stop-apis / svc.restart and a command left running by a killed attempt (the CI
 * case: `service rabbitmq-server start` still waiting in `rabbitmqctl wait` on new). Hosts are FakeHosts with the
 * init-script rules below and the process table of proc-sim.ts (behaviour written down there). The harness clock
 * stands at 2026-01-01T00:00:00Z; sleeps resolve at once and are recorded, so bounds are asserted as the sum of
 * the waits asked for, never as time.
 */
import { describe, expect, it } from "vitest";
import type { JsonObject, StepEvent, StepImpl } from "../../../../src/engine/step.js";
import { ACTION_TIMEOUT_MS, SYSV_STATUS } from "../../../../src/hosts/service-manager.js";
import type { UserError } from "../../../../src/lib/errors.js";
import { FIND_MARKED_SCRIPT, MARK_PREFIX, MARK_WRAPPER } from "../../../../src/steps/earlier-run.js";
import { serviceSteps } from "../../../../src/steps/service/index.js";
import { earlierBound } from "../../../../src/steps/service/units.js";
import type { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";
import { initHost } from "./init-host.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const TOKEN = "0123456789abcdef01234567";
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

/** sysvinit host "new": `service <u> start|stop|restart` flip a running set; status reads it (init-host.ts). */
const host = (units: string[], running: string[] = []): ReturnType<typeof initHost> =>
  initHost("new", units, running);

function impl(kind: string, sleeps: number[] = []): StepImpl {
  const deps = makeDeps(new FakeSql(), {
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  const s = serviceSteps(deps).find((x) => x.kind === kind);
  if (!s) throw new Error(kind);
  return s;
}

const warnings = (events: StepEvent[]): string[] =>
  events.flatMap((e) => (e.type === "log" && e.level === "warn" ? [e.message] : []));

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Index of the first call whose argv joined is `line`. */
const callIndex = (h: FakeHost, line: string): number => h.commandLines().indexOf(line);

/** Index of the last look for a marked command. */
const lastFind = (h: FakeHost): number =>
  h
    .commands()
    .map((a) => a[2] === FIND_MARKED_SCRIPT)
    .lastIndexOf(true);

const P = { host: "new", units: ["rabbitmq-server"] };

describe("svc.start marks its command and journals the mark first", () => {
  it("runs each start under `sh -c MARK_WRAPPER handover-<token>`, the token checkpointed before, not in env", async () => {
    const { h } = host(["rabbitmq-server", "memcached"]);
    const c = makeCtx({ new: h });
    const seenCheckpoints: number[] = [];
    h.on(
      (a) => a[0] === "sh" && a[2] === MARK_WRAPPER,
      ({ argv, host: hh }) => {
        seenCheckpoints.push(c.checkpoints.length);
        return hh.exec(argv.slice(4));
      },
    );
    await impl("svc.start").run(c.ctx, { host: "new", units: ["rabbitmq-server", "memcached"] });
    const token = c.checkpoints[0]?.token;
    if (typeof token !== "string") throw new Error("no token checkpointed");
    expect(token).toMatch(/^[0-9a-f]{24}$/);
    const wrapped = h.commands().filter((a) => a[2] === MARK_WRAPPER);
    expect(wrapped).toEqual([
      ["sh", "-c", MARK_WRAPPER, `${MARK_PREFIX}${token}`, "service", "rabbitmq-server", "start"],
      ["sh", "-c", MARK_WRAPPER, `${MARK_PREFIX}${token}`, "service", "memcached", "start"],
    ]);
    // A checkpoint (with `since`, when this command began) before each of the two commands.
    expect(seenCheckpoints).toEqual([1, 2]);
    expect(c.checkpoints).toEqual([
      { host: "new", started: ["rabbitmq-server", "memcached"], token, since: ago(0) },
      { host: "new", started: ["rabbitmq-server", "memcached"], token, since: ago(0) },
    ]);
    // Nothing in the environment: a daemon would inherit it.
    for (const call of h.calls) {
      if (call.kind === "exec") expect(call.options?.env).toBeUndefined();
    }
  });
});

describe("a redo after a killed attempt (previousUndoData with a token)", () => {
  it("waits for the earlier start to end by itself, then starts; nothing is killed", async () => {
    const { h, sim, run } = host(["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100, { endsAfterPolls: 3 });
    const c = makeCtx(
      { new: h },
      { host: "new", started: ["rabbitmq-server"], token: TOKEN, since: ago(5000) },
    );
    const sleeps: number[] = [];
    await impl("svc.start", sleeps).run(c.ctx, P);
    expect(sim.finds).toEqual([TOKEN, TOKEN, TOKEN, TOKEN]);
    expect(sleeps.slice(0, 3)).toEqual([2000, 2000, 2000]);
    expect(sim.killed).toEqual([]);
    expect(warnings(c.events)).toEqual([
      "svc.start of rabbitmq-server from the interrupted attempt is still running on new; waiting up to 175 s for it to end",
    ]);
    // The new start came only after the earlier one was gone, under a fresh token.
    expect(lastFind(h)).toBeGreaterThan(-1);
    expect(callIndex(h, "service rabbitmq-server start")).toBeGreaterThan(lastFind(h));
    expect(c.checkpoints[0]?.token).not.toBe(TOKEN);
    expect(run.has("rabbitmq-server")).toBe(true);
    // The daemon the earlier start left (own session) was not touched.
    expect(sim.alive(103)).toBe(true);
  });

  it("ends an earlier start that outlives its bound (what is left of the action timeout), with a warning", async () => {
    const { h, sim, run } = host(["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100);
    // Began 170 s ago: 10 s left of ServiceManager's 180 s.
    const c = makeCtx(
      { new: h },
      { host: "new", started: ["rabbitmq-server"], token: TOKEN, since: ago(170_000) },
    );
    const sleeps: number[] = [];
    await impl("svc.start", sleeps).run(c.ctx, P);
    expect(sum(sleeps.slice(0, 5))).toBe(10_000);
    // The wrapper, the init script and its `rabbitmqctl wait`, by PID; not the daemon that setsid()ed.
    expect(sim.killed.sort()).toEqual([100, 101, 102]);
    expect(sim.alive(103)).toBe(true);
    expect(warnings(c.events)[1]).toBe(
      "svc.start of rabbitmq-server from the interrupted attempt was still running on new when its time was up (waited 10 s); ended it (killed PIDs 100, 101, 102)",
    );
    expect(callIndex(h, "service rabbitmq-server start")).toBeGreaterThan(-1);
    expect(run.has("rabbitmq-server")).toBe(true);
  });

  it("without `since` (or with a clock gone back) the bound is the whole action timeout", async () => {
    const { h, sim } = host(["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100);
    const sleeps: number[] = [];
    const c = makeCtx({ new: h }, { host: "new", started: [], token: TOKEN });
    await impl("svc.start", sleeps).run(c.ctx, P);
    expect(ACTION_TIMEOUT_MS).toBe(180_000);
    // 180 s of 2 s polls, then the kill (which took at once: no more sleeps, and the new start is active at once).
    expect(sleeps).toHaveLength(90);
    expect(sum(sleeps)).toBe(ACTION_TIMEOUT_MS);
    expect(sim.killed.sort()).toEqual([100, 101, 102]);
  });

  it("the daemon's inherited environment does not count as the earlier start: no wait", async () => {
    const { h, sim } = host(["rabbitmq-server"], ["rabbitmq-server"]);
    // The earlier start finished; only its daemon is left, with the token in its environment.
    sim.add({
      pid: 103,
      ppid: 1,
      sid: 103,
      argv: ["/usr/sbin/rabbitmq-server"],
      env: { HANDOVER_STEP_TOKEN: TOKEN },
    });
    const sleeps: number[] = [];
    const c = makeCtx(
      { new: h },
      { host: "new", started: ["rabbitmq-server"], token: TOKEN, since: ago(1000) },
    );
    const undo = await impl("svc.start", sleeps).run(c.ctx, P);
    expect(sim.finds).toEqual([TOKEN]);
    expect(sleeps).toEqual([]);
    expect(warnings(c.events)).toEqual([]);
    expect(sim.alive(103)).toBe(true);
    expect(undo).toEqual({ host: "new", started: ["rabbitmq-server"] });
  });

  it("no token (a journal from before marks) -> no look, no wait", async () => {
    const { h, sim } = host(["rabbitmq-server"]);
    const c = makeCtx({ new: h }, { host: "new", started: ["rabbitmq-server"] });
    const sleeps: number[] = [];
    await impl("svc.start", sleeps).run(c.ctx, P);
    expect(sim.finds).toEqual([]);
    const step = impl("svc.start", sleeps);
    await step.awaitEarlierAttempt!(makeCtx({ new: h }).ctx, P, {
      host: "new",
      started: ["rabbitmq-server"],
    });
    expect(sim.finds).toEqual([]);
  });

  it("fails, naming the command, when the earlier start survives the kill", async () => {
    const { h, sim } = host(["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100, { unkillable: true });
    const c = makeCtx({ new: h }, { host: "new", started: [], token: TOKEN, since: ago(ACTION_TIMEOUT_MS) });
    const e = (await impl("svc.start")
      .run(c.ctx, P)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("STEP_STILL_RUNNING");
    expect(e.message).toContain("svc.start of rabbitmq-server");
    expect(e.message).toContain("although it was killed");
    expect(e.nextSteps.join(" ")).toContain(`${MARK_PREFIX}${TOKEN}`);
    expect(h.commandLines()).not.toContain("service rabbitmq-server start");
  });

  it("fails when the kill itself fails, and starts nothing", async () => {
    const { h, sim } = host(["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100);
    sim.killFails = true;
    const c = makeCtx({ new: h }, { host: "new", started: [], token: TOKEN, since: ago(ACTION_TIMEOUT_MS) });
    const e = (await impl("svc.start")
      .run(c.ctx, P)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("STEP_STILL_RUNNING");
    expect(e.message).toContain("ps: not found");
    expect(h.commandLines()).not.toContain("service rabbitmq-server start");
  });
});

describe("before undo (awaitEarlierAttempt, called by rollback)", () => {
  it("svc.start: waits for the earlier start, so the undo's stop comes after it", async () => {
    const { h, sim, run } = host(["rabbitmq-server"], ["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100, { endsAfterPolls: 2 });
    const undoData: JsonObject = { host: "new", started: ["rabbitmq-server"], token: TOKEN, since: ago(0) };
    const sleeps: number[] = [];
    const step = impl("svc.start", sleeps);
    const c = makeCtx({ new: h });
    await step.awaitEarlierAttempt!(c.ctx, P, undoData);
    expect(sim.alive(100)).toBe(false);
    expect(sleeps).toEqual([2000, 2000]);
    expect(sim.killed).toEqual([]);
    await step.undo!(c.ctx, P, undoData);
    expect(run.has("rabbitmq-server")).toBe(false);
  });

  it("svc.start: ends an earlier start that outlives the bound", async () => {
    const { h, sim } = host(["rabbitmq-server"], ["rabbitmq-server"]);
    sim.interruptedStart(TOKEN, "rabbitmq-server", 100);
    const c = makeCtx({ new: h });
    await impl("svc.start").awaitEarlierAttempt!(c.ctx, P, {
      host: "new",
      started: ["rabbitmq-server"],
      token: TOKEN,
      since: ago(3600_000),
    });
    expect(sim.killed.sort()).toEqual([100, 101, 102]);
    expect(warnings(c.events)).toEqual([
      "svc.start of rabbitmq-server from the interrupted attempt was still running on new when its time was up (waited 0 s); ended it (killed PIDs 100, 101, 102)",
    ]);
  });

  it("freeze.stop-apis, svc.stop and svc.restart wait the same way", async () => {
    for (const kind of ["freeze.stop-apis", "svc.stop", "svc.restart"]) {
      const { h, sim } = host(["nova-api"]);
      sim.add({
        pid: 200,
        ppid: 1,
        sid: 200,
        argv: ["sh", "-c", MARK_WRAPPER, `${MARK_PREFIX}${TOKEN}`, "service", "nova-api", "stop"],
        endsAfterPolls: 2,
      });
      const sleeps: number[] = [];
      await impl(kind, sleeps).awaitEarlierAttempt!(
        makeCtx({ new: h }).ctx,
        { host: "new", units: ["nova-api"] },
        {
          token: TOKEN,
          since: ago(0),
        },
      );
      expect([kind, sim.finds.length, sleeps]).toEqual([kind, 3, [2000, 2000]]);
    }
  });
});

describe("svc.stop / svc.restart redo", () => {
  it("svc.stop waits for the earlier stop before looking at what is active, and keeps the first record", async () => {
    const { h, sim, run } = host(["nova-api", "glance-api"], ["nova-api"]);
    sim.add({
      pid: 300,
      ppid: 1,
      sid: 300,
      argv: ["sh", "-c", MARK_WRAPPER, `${MARK_PREFIX}${TOKEN}`, "service", "glance-api", "stop"],
      endsAfterPolls: 2,
    });
    const c = makeCtx(
      { new: h },
      { host: "new", wereActive: ["nova-api", "glance-api"], token: TOKEN, since: ago(0) },
    );
    const sleeps: number[] = [];
    const undo = await impl("svc.stop", sleeps).run(c.ctx, {
      host: "new",
      units: ["nova-api", "glance-api"],
    });
    expect(sleeps).toEqual([2000, 2000]);
    // The first status query came after the earlier stop was gone.
    const firstStatus = h.commands().findIndex((a) => a[2] === SYSV_STATUS);
    expect(lastFind(h)).toBeGreaterThan(-1);
    expect(firstStatus).toBeGreaterThan(lastFind(h));
    expect(undo).toEqual({ host: "new", wereActive: ["nova-api", "glance-api"] });
    expect(run.size).toBe(0);
    expect(c.checkpoints[0]).toMatchObject({ wereActive: ["nova-api", "glance-api"], since: ago(0) });
    expect(c.checkpoints[0]?.token).not.toBe(TOKEN);
  });

  it("svc.restart checkpoints a token before each restart and waits for an earlier one", async () => {
    const { h, sim } = host(["nova-api"], ["nova-api"]);
    sim.add({
      pid: 400,
      ppid: 1,
      sid: 400,
      argv: ["sh", "-c", MARK_WRAPPER, `${MARK_PREFIX}${TOKEN}`, "service", "nova-api", "restart"],
      endsAfterPolls: 1,
    });
    const c = makeCtx({ new: h }, { host: "new", token: TOKEN, since: ago(0) });
    await impl("svc.restart").run(c.ctx, { host: "new", units: ["nova-api"] });
    expect(sim.finds).toEqual([TOKEN, TOKEN]);
    const token = c.checkpoints[0]?.token as string;
    expect(h.commandLines()).toContain(
      `sh -c ${MARK_WRAPPER} ${MARK_PREFIX}${token} service nova-api restart`,
    );
  });
});

describe("earlierBound", () => {
  const ctx = makeCtx({}).ctx;
  it("is what is left of the action timeout since the command began, within [0, timeout]", () => {
    expect(earlierBound(ctx, { since: ago(60_000) })).toBe(120_000);
    expect(earlierBound(ctx, { since: ago(10 * ACTION_TIMEOUT_MS) })).toBe(0);
    expect(earlierBound(ctx, { since: new Date(NOW + 3600_000).toISOString() })).toBe(ACTION_TIMEOUT_MS);
    expect(earlierBound(ctx, { since: "yesterday-ish" })).toBe(ACTION_TIMEOUT_MS);
    expect(earlierBound(ctx, {})).toBe(ACTION_TIMEOUT_MS);
  });
});
