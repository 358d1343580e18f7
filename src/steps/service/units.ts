/**
 * svc.start, svc.stop, svc.restart and freeze.stop-apis: units through the host's own service manager.
 * Stops checkpoint which units were active BEFORE stopping anything, so undo starts exactly those (and a redo
 * after a crash merges with the first attempt's record instead of forgetting what the crash already stopped).
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import { ServiceManager } from "../../hosts/service-manager.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params, strList, union } from "../params.js";

const POLL_MS = 1000;

function unitsOf(kind: string, raw: JsonObject): { host: string; units: string[]; p: Params } {
  const p = new Params(kind, raw);
  return { host: p.str("host"), units: p.strs("units"), p };
}

async function activeUnits(sm: ServiceManager, units: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const u of units) if (await sm.isActive(u)) out.push(u);
  return out;
}

/** Polls until every unit is active (`want: true`) or none is (`false`); fails naming the others after the bound. */
async function waitFor(
  deps: StepDeps,
  ctx: StepContext,
  sm: ServiceManager,
  units: readonly string[],
  want: boolean,
): Promise<void> {
  const limit = deps.unitWaitMs ?? 120_000;
  for (let waited = 0; ; waited += POLL_MS) {
    const active = await activeUnits(sm, units);
    const wrong = want ? units.filter((u) => !active.includes(u)) : active;
    if (wrong.length === 0) return;
    if (waited >= limit) {
      const secs = Math.round(limit / 1000);
      throw want
        ? new UserError(
            "SERVICE_NOT_ACTIVE",
            `on ${sm.host.name}: ${wrong.join(", ")} did not become active within ${secs} s`,
            {
              nextSteps: [
                `Look at the logs of ${wrong.join(", ")} on ${sm.host.name}, fix the cause, then re-run.`,
              ],
            },
          )
        : new UserError(
            "SERVICE_STILL_ACTIVE",
            `on ${sm.host.name}: ${wrong.join(", ")} still running ${secs} s after its stop`,
            {
              nextSteps: [`Stop ${wrong.join(", ")} on ${sm.host.name} by hand (see its log), then re-run.`],
            },
          );
    }
    await deps.sleep(POLL_MS, ctx.signal);
  }
}

/** Polls until every unit is active, or fails naming those that are not (after the deps' bound). */
export function waitActive(
  deps: StepDeps,
  ctx: StepContext,
  sm: ServiceManager,
  units: readonly string[],
): Promise<void> {
  return waitFor(deps, ctx, sm, units, true);
}

async function stopUnits(
  deps: StepDeps,
  ctx: StepContext,
  kind: string,
  raw: JsonObject,
  ignoreMissingDefault: boolean,
): Promise<JsonObject> {
  const { host, units, p } = unitsOf(kind, raw);
  const sm = new ServiceManager(ctx.host(host));
  const ignoreMissing = p.bool("ignoreMissing", ignoreMissingDefault);
  const present: string[] = [];
  for (const u of units) {
    if (await sm.exists(u)) present.push(u);
    else if (!ignoreMissing) {
      throw new UserError("SERVICE_MISSING", `on ${host}: there is no service ${u}`, {
        nextSteps: [`Check the unit names for ${host}'s distribution (templates/distros.yaml).`],
      });
    }
  }
  const nowActive = await activeUnits(sm, present);
  const wereActive = union(strList(ctx.previousUndoData?.wereActive), nowActive);
  const undo: JsonObject = { host, wereActive };
  ctx.checkpoint?.(undo);
  // Concurrently: each init script may wait ~30 s for its daemon (start-stop-daemon --retry TERM/30/KILL/5), and
  // while they stop the control plane is down. Independent daemons; the order among them does not matter.
  if (nowActive.length > 0)
    ctx.emit({ type: "log", level: "info", message: `stopping ${nowActive.join(", ")} on ${host}` });
  const results = await Promise.allSettled(nowActive.map((u) => sm.stop(u)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  // A daemon killed by its init script can take a moment to go.
  await waitFor(deps, ctx, sm, nowActive, false);
  return undo;
}

async function verifyStopped(
  ctx: StepContext,
  kind: string,
  raw: JsonObject,
): Promise<{ ok: boolean; detail: string }> {
  const { host, units } = unitsOf(kind, raw);
  const sm = new ServiceManager(ctx.host(host));
  const present: string[] = [];
  for (const u of units) if (await sm.exists(u)) present.push(u);
  const active = await activeUnits(sm, present);
  return active.length === 0
    ? { ok: true, detail: `on ${host}: none of ${units.join(", ")} is active` }
    : { ok: false, detail: `on ${host}: still active: ${active.join(", ")}` };
}

async function startRecorded(
  ctx: StepContext,
  kind: string,
  raw: JsonObject,
  undoData: JsonObject,
): Promise<void> {
  const { host } = unitsOf(kind, raw);
  const sm = new ServiceManager(ctx.host(host));
  for (const u of strList(undoData.wereActive)) {
    if (!(await sm.isActive(u))) await sm.start(u);
  }
}

export function unitSteps(deps: StepDeps): StepImpl[] {
  const start: StepImpl = {
    kind: "svc.start",
    async run(ctx, raw) {
      const { host, units, p } = unitsOf("svc.start", raw);
      const sm = new ServiceManager(ctx.host(host));
      const nowActive = await activeUnits(sm, units);
      // Units this step (or an earlier attempt of it) started: the ones not active before the first attempt.
      const prevStarted = strList(ctx.previousUndoData?.started);
      const started = union(
        prevStarted,
        units.filter((u) => !nowActive.includes(u)),
      );
      const undo: JsonObject = { host, started };
      ctx.checkpoint?.(undo);
      for (const u of units) if (!nowActive.includes(u)) await sm.start(u);
      if (p.bool("waitActive", true)) await waitActive(deps, ctx, sm, units);
      return undo;
    },
    async verify(ctx, raw) {
      const { host, units } = unitsOf("svc.start", raw);
      const sm = new ServiceManager(ctx.host(host));
      const active = await activeUnits(sm, units);
      const missing = units.filter((u) => !active.includes(u));
      return missing.length === 0
        ? { ok: true, detail: `on ${host}: active: ${units.join(", ")}` }
        : { ok: false, detail: `on ${host}: not active: ${missing.join(", ")}` };
    },
    async undo(ctx, raw, undoData) {
      const { host } = unitsOf("svc.start", raw);
      const sm = new ServiceManager(ctx.host(host));
      for (const u of strList(undoData.started)) if (await sm.isActive(u)) await sm.stop(u);
    },
    // Undo only stops the units: among OpenStack daemons (the planner's `openstackDaemon`) the order does not
    // matter when all are being stopped. Not infrastructure (rabbitmq, mariadb), whose stop can hold theirs up.
    undoOrderFree: (raw) => new Params("svc.start", raw).bool("openstackDaemon", false),
  };

  const stop: StepImpl = {
    kind: "svc.stop",
    run: (ctx, raw) => stopUnits(deps, ctx, "svc.stop", raw, false),
    verify: (ctx, raw) => verifyStopped(ctx, "svc.stop", raw),
    undo: (ctx, raw, undoData) => startRecorded(ctx, "svc.stop", raw, undoData),
  };

  const freeze: StepImpl = {
    kind: "freeze.stop-apis",
    // The planner lists only units discovery found on old; one gone since then is not an error for a freeze.
    run: (ctx, raw) => stopUnits(deps, ctx, "freeze.stop-apis", raw, true),
    verify: (ctx, raw) => verifyStopped(ctx, "freeze.stop-apis", raw),
    undo: (ctx, raw, undoData) => startRecorded(ctx, "freeze.stop-apis", raw, undoData),
  };

  const restart: StepImpl = {
    kind: "svc.restart",
    async run(ctx, raw) {
      const { host, units } = unitsOf("svc.restart", raw);
      const sm = new ServiceManager(ctx.host(host));
      for (const u of units) await sm.restart(u);
      await waitActive(deps, ctx, sm, units);
      return { host };
    },
    verify: (ctx, raw) => start.verify(ctx, raw),
    async undo(ctx, raw) {
      // The config change a restart picks up is undone by its own step; restarting again applies the old one.
      const { host, units } = unitsOf("svc.restart", raw);
      const sm = new ServiceManager(ctx.host(host));
      for (const u of units) if (await sm.exists(u)) await sm.restart(u);
    },
  };

  const haproxy: StepImpl = {
    kind: "freeze.haproxy-503",
    run() {
      return Promise.reject(
        new UserError("NOT_SUPPORTED", "freeze: haproxy-503 is not supported yet", {
          nextSteps: ["Set options.freeze: stop-apis in the answer file, plan again, then run."],
        }),
      );
    },
    verify: () => Promise.resolve({ ok: false, detail: "freeze: haproxy-503 is not supported yet" }),
    undo: () => Promise.resolve(),
  };

  return [start, stop, restart, freeze, haproxy];
}
