/**
 * svc.start, svc.stop, svc.restart and freeze.stop-apis: units through the host's own service manager.
 * Stops checkpoint which units were active BEFORE stopping anything, so undo starts exactly those (and a redo
 * after a crash merges with the first attempt's record instead of forgetting what the crash already stopped).
 *
 * An attempt's commands outlive a killed handover: `service rabbitmq-server start` went on waiting in
 * `rabbitmqctl wait` on new while rollback stopped rabbitmq and purged its packages around it, and the next run's
 * start then hung beside it (CI, twice). So each attempt journals a token (and when its latest command began)
 * before its first command, and runs every command under a wrapper marked with it (earlier-run.ts markedArgv: an
 * argv word, not the environment, which the daemon would inherit). A redo (run with an earlier token) and an
 * undo (the engine calls awaitEarlierAttempt first) wait for the earlier command to end, and end it past the
 * bound (earlierBound). All four kinds, for the same reason: a stop still running under an undo's start, or a
 * restart's start half under a redo's restart, races it the same way.
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import { ACTION_TIMEOUT_MS, ServiceManager, type ActionOptions } from "../../hosts/service-manager.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { markedArgv, newToken, settleEarlierMarked } from "../earlier-run.js";
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

/** The attempt's mark, journaled (as `token`, `since`) before its commands. */
interface Attempt {
  readonly token: string;
  readonly tag: ActionOptions;
}

function newAttempt(): Attempt {
  const token = newToken();
  return { token, tag: { wrap: (argv) => markedArgv(token, argv) } };
}

/** What to checkpoint just before a command of the attempt starts. */
function mark(ctx: StepContext, a: Attempt): JsonObject {
  return { token: a.token, since: ctx.now().toISOString() };
}

/**
 * How long an earlier attempt's command may still run before it is ended: what is left of ServiceManager's
 * per-command timeout since it began (`since`, handover's own clock). A live handover would have killed it then,
 * so it never gets less time than it would have had, nor more: an init script stuck in `rabbitmqctl wait` for a
 * daemon stopped under it never ends by itself, and waiting on it longer only delays the redo or the rollback.
 * Without `since` (or with a clock that went back): the whole timeout.
 */
export function earlierBound(ctx: StepContext, undoData: JsonObject): number {
  const since = typeof undoData.since === "string" ? Date.parse(undoData.since) : NaN;
  if (Number.isNaN(since)) return ACTION_TIMEOUT_MS;
  return Math.min(ACTION_TIMEOUT_MS, Math.max(0, since + ACTION_TIMEOUT_MS - ctx.now().getTime()));
}

/**
 * Waits for (or ends) the command of the attempt that journaled `undoData`, if it marked one. Journals from
 * before marks existed have no token: nothing to wait for.
 */
async function settleEarlier(
  deps: StepDeps,
  ctx: StepContext,
  kind: string,
  raw: JsonObject,
  undoData: JsonObject | undefined,
): Promise<void> {
  if (typeof undoData?.token !== "string") return;
  const { host, units } = unitsOf(kind, raw);
  await settleEarlierMarked(
    deps,
    ctx,
    ctx.host(host),
    undoData.token,
    `${kind} of ${units.join(", ")}`,
    earlierBound(ctx, undoData),
  );
}

/**
 * Lowers the CPU priority (nice 19) of every process of `units`, before they are told to stop: the unit's cgroup
 * under systemd, else the processes whose command line runs `/usr/bin/<unit>` (Debian's init scripts start the
 * daemon as that script; oslo's worker processes carry the same command line). Unit names are positional
 * arguments, never spliced into the script. Prints how many processes it reniced; exit 0 even when none.
 */
export const RENICE_SCRIPT = [
  'pids=""',
  'for u in "$@"; do',
  "  if [ -d /run/systemd/system ]; then",
  '    cg=$(systemctl show -p ControlGroup --value -- "$u.service" 2>/dev/null)',
  '    for f in "/sys/fs/cgroup$cg/cgroup.procs" "/sys/fs/cgroup/systemd$cg/cgroup.procs"; do',
  '      [ -n "$cg" ] && [ -r "$f" ] && pids="$pids $(cat "$f")"',
  "    done",
  "  else",
  '    pids="$pids $(pgrep -f -- "/usr/bin/$u( |\\$)")"',
  "  fi",
  "done",
  "set -- $pids",
  '[ "$#" -gt 0 ] && renice -n 19 -p "$@" >/dev/null 2>&1',
  'echo "$#"',
  "exit 0",
].join("\n");

/**
 * Why, for old's daemons stopped with the freeze: on SIGTERM Victoria's nova-conductor and nova-scheduler spin
 * their CPUs for ~22 s until their workers exit (oslo.service's graceful stop; lab, top: 60-74 % of a core each),
 * which is ~25 CPU-s taken from the dumps, imports and schema upgrades the window waits for on a 2-core
 * controller. At nice 19 they yield to that work and still stop when their own timers say so. Best effort: a host
 * without pgrep or renice stops them at normal priority, with a warning.
 */
async function lowerPriority(ctx: StepContext, hostName: string, units: readonly string[]): Promise<void> {
  const r = await ctx.host(hostName).exec(["sh", "-c", RENICE_SCRIPT, "sh", ...units]);
  const n = /^(\d+)\s*$/.exec(r.stdout)?.[1];
  if (r.exitCode !== 0 || n === undefined) {
    ctx.emit({
      type: "log",
      level: "warn",
      message: `on ${hostName}: could not lower the CPU priority of ${units.join(", ")} before stopping them (they stop at normal priority): ${r.stderr.trim() || `exit ${r.exitCode}`}`,
    });
    return;
  }
  ctx.emit({
    type: "log",
    level: "info",
    message: `on ${hostName}: ${n} process(es) of ${units.join(", ")} at nice 19 while they stop`,
  });
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
  // Before looking at what is active: an earlier stop still running changes that.
  await settleEarlier(deps, ctx, kind, raw, ctx.previousUndoData);
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
  const attempt = newAttempt();
  ctx.checkpoint?.({ ...undo, ...mark(ctx, attempt) });
  // Concurrently: each init script may wait ~30 s for its daemon (start-stop-daemon --retry TERM/30/KILL/5), and
  // while they stop the control plane is down. Independent daemons; the order among them does not matter.
  if (nowActive.length > 0 && p.bool("lowPriority", false)) await lowerPriority(ctx, host, nowActive);
  if (nowActive.length > 0)
    ctx.emit({ type: "log", level: "info", message: `stopping ${nowActive.join(", ")} on ${host}` });
  const results = await Promise.allSettled(nowActive.map((u) => sm.stop(u, attempt.tag)));
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

/**
 * Undo of a stop: starts the units that were active before it, then waits until they are active (bounded as
 * run's starts are, deps.unitWaitMs). Why wait: rollback starts the next undo when this one returns, and a plan's
 * undoAfter (old's conductor and scheduler after its APIs) is only worth something if the APIs are up by then;
 * an init script can return before its daemon runs. A unit that never becomes active fails the undo, naming it,
 * instead of a rollback that says "undone" and leaves it down.
 */
async function startRecorded(
  deps: StepDeps,
  ctx: StepContext,
  kind: string,
  raw: JsonObject,
  undoData: JsonObject,
): Promise<void> {
  const { host } = unitsOf(kind, raw);
  const sm = new ServiceManager(ctx.host(host));
  const recorded = strList(undoData.wereActive);
  for (const u of recorded) {
    if (!(await sm.isActive(u))) await sm.start(u);
  }
  await waitActive(deps, ctx, sm, recorded);
}

export function unitSteps(deps: StepDeps): StepImpl[] {
  const start: StepImpl = {
    kind: "svc.start",
    async run(ctx, raw) {
      const { host, units, p } = unitsOf("svc.start", raw);
      const sm = new ServiceManager(ctx.host(host));
      // An earlier start still running would run beside this one (and may yet make its unit active).
      await settleEarlier(deps, ctx, "svc.start", raw, ctx.previousUndoData);
      const nowActive = await activeUnits(sm, units);
      // Units this step (or an earlier attempt of it) started: the ones not active before the first attempt.
      const prevStarted = strList(ctx.previousUndoData?.started);
      const started = union(
        prevStarted,
        units.filter((u) => !nowActive.includes(u)),
      );
      const undo: JsonObject = { host, started };
      const attempt = newAttempt();
      ctx.checkpoint?.({ ...undo, ...mark(ctx, attempt) });
      const toStart = units.filter((u) => !nowActive.includes(u));
      for (const [i, u] of toStart.entries()) {
        // One command at a time, each with its own timeout: `since` is when the running one began.
        if (i > 0) ctx.checkpoint?.({ ...undo, ...mark(ctx, attempt) });
        await sm.start(u, attempt.tag);
      }
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
    awaitEarlierAttempt: (ctx, raw, undoData) => settleEarlier(deps, ctx, "svc.start", raw, undoData),
    // Undo only stops the units: among OpenStack daemons (the planner's `openstackDaemon`) the order does not
    // matter when all are being stopped. Not infrastructure (rabbitmq, mariadb), whose stop can hold theirs up.
    undoOrderFree: (raw) => new Params("svc.start", raw).bool("openstackDaemon", false),
  };

  const stop: StepImpl = {
    kind: "svc.stop",
    run: (ctx, raw) => stopUnits(deps, ctx, "svc.stop", raw, false),
    verify: (ctx, raw) => verifyStopped(ctx, "svc.stop", raw),
    undo: (ctx, raw, undoData) => startRecorded(deps, ctx, "svc.stop", raw, undoData),
    awaitEarlierAttempt: (ctx, raw, undoData) => settleEarlier(deps, ctx, "svc.stop", raw, undoData),
  };

  const freeze: StepImpl = {
    kind: "freeze.stop-apis",
    // The planner lists only units discovery found on old; one gone since then is not an error for a freeze.
    run: (ctx, raw) => stopUnits(deps, ctx, "freeze.stop-apis", raw, true),
    verify: (ctx, raw) => verifyStopped(ctx, "freeze.stop-apis", raw),
    undo: (ctx, raw, undoData) => startRecorded(deps, ctx, "freeze.stop-apis", raw, undoData),
    awaitEarlierAttempt: (ctx, raw, undoData) => settleEarlier(deps, ctx, "freeze.stop-apis", raw, undoData),
  };

  const restart: StepImpl = {
    kind: "svc.restart",
    async run(ctx, raw) {
      const { host, units } = unitsOf("svc.restart", raw);
      const sm = new ServiceManager(ctx.host(host));
      await settleEarlier(deps, ctx, "svc.restart", raw, ctx.previousUndoData);
      const attempt = newAttempt();
      for (const u of units) {
        ctx.checkpoint?.({ host, ...mark(ctx, attempt) });
        await sm.restart(u, attempt.tag);
      }
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
    awaitEarlierAttempt: (ctx, raw, undoData) => settleEarlier(deps, ctx, "svc.restart", raw, undoData),
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
