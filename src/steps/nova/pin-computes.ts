/**
 * nova.pin-computes (services, reversible) and nova.unpin-computes (finalize, reversible): nova's compute RPC pin
 * (`[upgrade_levels] compute`, src/config/nova-pin.ts) on every compute host the answers let us reach, while
 * computes of the old release remain; the new controller's own pin is set by cfg.nova.rewrite.
 *
 * Per compute, up to `concurrency` at once: read nova.conf, edit it with the line-preserving editor, write it back
 * with its owner and mode, then restart nova-compute through the host's service manager when the unit exists and
 * was running (a unit that is stopped stays stopped; a host without the unit, like the lab's computes, which have
 * only nova-common, is "pinned in config; no nova-compute service to restart").
 *
 * One compute failing (unreachable, no nova.conf, write or restart failing) does not stop the others: its failure
 * is a warning in the journal (the report lists it) and in the step's result. The step fails only when EVERY
 * compute failed: then nothing was pinned and an old compute would not be spoken to in its RPC version. With one
 * working compute and a dead one the migration goes on, and the operator sees which one to pin by hand. Verify
 * follows the same rule: at least one compute holds the wanted state (and, for the pin, the new controller holds
 * it too), the others are named in its detail.
 *
 * Undo data is checkpointed BEFORE each write and each restart (hosts edited, unit restarted per host), merged with
 * an earlier attempt's, so undo after a crash still restores every file that may have changed. The pin backs the
 * file up first (file-backup.ts, kind `edit`: /var/backups/handover/edit/etc/nova/nova.conf on the compute, 0600);
 * undo puts the backup back byte for byte and restarts nova-compute where the step restarted it. The unpin needs no
 * backup: it records each host's value before and its undo sets that value again.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { getComputePin, removeComputePin, setComputePin, type PinEdit } from "../../config/nova-pin.js";
import type { Host } from "../../hosts/host.js";
import { Semaphore } from "../../hosts/semaphore.js";
import { ServiceManager } from "../../hosts/service-manager.js";
import { UserError, errorMessage } from "../../lib/errors.js";
import { backupOnce, restoreBackups } from "../config/file-backup.js";
import { checkPath } from "../config/paths.js";
import type { StepDeps } from "../deps.js";
import { Params, isObject, strList } from "../params.js";
import { waitActive } from "../service/units.js";

const HOST_NAME = /^[A-Za-z0-9_.-]{1,255}$/;

interface PinParams {
  readonly file: string;
  readonly computes: string[];
  /** Candidate unit names, first existing one wins (nova-compute on Debian/Ubuntu, openstack-nova-compute on RDO). */
  readonly units: string[];
  readonly concurrency: number;
}

function readParams(kind: string, raw: JsonObject): PinParams {
  const p = new Params(kind, raw);
  const computes = p.strs("computes");
  for (const c of computes) {
    if (!HOST_NAME.test(c)) throw new UserError("PLAN_PARAM", `unusual compute name ${JSON.stringify(c)}`);
  }
  const concurrency = p.num("concurrency", 4);
  return {
    file: checkPath(p.str("file"), "config file"),
    computes,
    units: p.strs("units", ["nova-compute"]),
    concurrency: Number.isInteger(concurrency) && concurrency >= 1 ? concurrency : 4,
  };
}

/** What happened on one compute, as returned in the step's result (and shown in the report's log). */
export interface HostOutcome {
  readonly host: string;
  readonly ok: boolean;
  /** One line for the operator: "pinned in config; nova-compute restarted". */
  readonly detail: string;
}

/** Runs `fn` for each item with at most `limit` running at once; never rejects (fn's errors are its own business). */
export async function forEachBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const sem = new Semaphore(Math.max(1, limit));
  return Promise.all(
    items.map(async (item) => {
      const release = await sem.acquire();
      try {
        return await fn(item);
      } finally {
        release();
      }
    }),
  );
}

/** The compute unit this host has, or undefined. */
async function findUnit(sm: ServiceManager, candidates: readonly string[]): Promise<string | undefined> {
  for (const u of candidates) if (await sm.exists(u)) return u;
  return undefined;
}

/**
 * Journals what undo needs as it grows. Host tasks run concurrently, but checkpoint() is synchronous and each call
 * writes the whole record, so the last one always holds every host recorded so far.
 */
class UndoRecord {
  /** Hosts an earlier attempt of this step edited (or was about to). */
  readonly editedEarlier: ReadonlySet<string>;
  readonly edited: Set<string>;
  readonly restarted: Map<string, string>;
  readonly before: Map<string, string>;

  constructor(
    private readonly ctx: StepContext,
    private readonly file: string,
  ) {
    const prev = ctx.previousUndoData ?? {};
    this.editedEarlier = new Set(strList(prev.edited));
    this.edited = new Set(this.editedEarlier);
    this.restarted = new Map(
      Object.entries(isObject(prev.restarted) ? prev.restarted : {}).filter(
        (e): e is [string, string] => typeof e[1] === "string",
      ),
    );
    this.before = new Map(
      Object.entries(isObject(prev.before) ? prev.before : {}).filter(
        (e): e is [string, string] => typeof e[1] === "string",
      ),
    );
  }

  data(): JsonObject {
    return {
      file: this.file,
      edited: [...this.edited].sort(),
      restarted: Object.fromEntries([...this.restarted].sort()),
      before: Object.fromEntries([...this.before].sort()),
    };
  }

  save(): void {
    this.ctx.checkpoint?.(this.data());
  }
}

interface EditSpec {
  /** The edit to make (set or remove the pin). */
  edit(text: string): PinEdit;
  /** "pinned" / "unpinned": the outcome's words. */
  readonly did: string;
  readonly already: string;
  /** Back the file up before the first write (the pin; the unpin records the value instead). */
  readonly backup: boolean;
}

/** The edit + restart on one compute. Throws on the first failure; what was done so far is in `undo`. */
async function editOne(
  deps: StepDeps,
  ctx: StepContext,
  host: Host,
  p: PinParams,
  spec: EditSpec,
  undo: UndoRecord,
): Promise<string> {
  if (ctx.signal.aborted) throw new UserError("ABORTED", "interrupted before this compute was started");
  const st = await host.stat(p.file);
  if (!st) {
    throw new UserError("NOVA_CONF_MISSING", `${host.name} has no ${p.file} (is nova installed there?)`);
  }
  const before = (await host.readFile(p.file)).toString("utf8");
  const e = spec.edit(before);
  // A redo after a crash between the write and the restart finds the file edited already: restart anyway (also when
  // the restart was recorded: the crash may have come before it ran; one restart too many is harmless).
  const restartPending = undo.editedEarlier.has(host.name);
  let words: string;
  if (e.changed) {
    if (!spec.backup && !undo.before.has(host.name)) undo.before.set(host.name, e.before ?? "");
    undo.edited.add(host.name);
    undo.save();
    if (spec.backup) await backupOnce(host, "edit", p.file);
    // Owner and mode as they were (nova.conf is root:nova 0640 on Debian: nova must still read it).
    await host.writeFileAtomic(p.file, e.text, { mode: st.mode, uid: st.uid, gid: st.gid });
    words = `${spec.did} in config`;
  } else {
    words = spec.already;
    if (!restartPending) return `${words}; nothing to restart`;
  }
  const sm = new ServiceManager(host);
  const unit = await findUnit(sm, p.units);
  if (!unit) return `${words}; no nova-compute service to restart`;
  if (!(await sm.isActive(unit))) return `${words}; ${unit} is not running, left stopped`;
  undo.restarted.set(host.name, unit);
  undo.save();
  await sm.restart(unit);
  await waitActive(deps, ctx, sm, [unit]);
  return `${words}; ${unit} restarted`;
}

async function runAll(
  deps: StepDeps,
  ctx: StepContext,
  kind: string,
  raw: JsonObject,
  spec: EditSpec,
  what: string,
): Promise<JsonObject> {
  const p = readParams(kind, raw);
  const undo = new UndoRecord(ctx, p.file);
  undo.save();
  const outcomes = await forEachBounded(p.computes, p.concurrency, async (name): Promise<HostOutcome> => {
    try {
      const detail = await editOne(deps, ctx, ctx.host(name), p, spec, undo);
      ctx.emit({ type: "log", level: "info", message: `${name}: ${detail}` });
      return { host: name, ok: true, detail };
    } catch (e) {
      const detail = errorMessage(e);
      ctx.emit({ type: "log", level: "warn", message: `${name}: ${what} failed: ${detail}` });
      return { host: name, ok: false, detail };
    }
  });
  if (ctx.signal.aborted) throw new UserError("ABORTED", "interrupted");
  const failed = outcomes.filter((o) => !o.ok);
  if (p.computes.length > 0 && failed.length === p.computes.length) {
    throw new UserError(
      "COMPUTE_PIN_FAILED",
      `${what} failed on every compute: ${failed.map((o) => `${o.host}: ${o.detail}`).join("; ")}`,
      {
        nextSteps: [
          "Fix the cause on those computes (SSH reachable? nova installed?) and run again, or take computes that are gone out of computes.hosts and plan again.",
        ],
      },
    );
  }
  return {
    ...undo.data(),
    outcomes: outcomes.map((o) => ({ host: o.host, ok: o.ok, detail: o.detail })),
    failed: failed.map((o) => o.host),
  };
}

/** Reads each compute's pin (bounded); `good` says whether a value is the wanted state. */
async function verifyAll(
  ctx: StepContext,
  p: PinParams,
  good: (pin: string | undefined) => boolean,
): Promise<{ ok: string[]; not: string[] }> {
  const res = await forEachBounded(p.computes, p.concurrency, async (name) => {
    try {
      const pin = getComputePin((await ctx.host(name).readFile(p.file)).toString("utf8"));
      return good(pin)
        ? { name, ok: true, why: "" }
        : { name, ok: false, why: pin === undefined ? "not set" : `compute = ${pin}` };
    } catch (e) {
      return { name, ok: false, why: errorMessage(e).split("\n")[0] ?? "" };
    }
  });
  return {
    ok: res.filter((r) => r.ok).map((r) => r.name),
    not: res.filter((r) => !r.ok).map((r) => `${r.name} (${r.why})`),
  };
}

function verdict(ok: string[], not: string[], total: number, state: string): VerifyResult {
  const rest = not.length > 0 ? `; not on ${not.join(", ")}` : "";
  return total === 0 || ok.length > 0
    ? { ok: true, detail: `${ok.length} of ${total} compute(s) ${state}${rest}` }
    : { ok: false, detail: `no compute ${state}${rest}` };
}

/** Undo on every recorded host (bounded); failures are collected and thrown together after all were tried. */
async function undoAll(
  deps: StepDeps,
  ctx: StepContext,
  p: PinParams,
  hosts: readonly string[],
  restarted: ReadonlyMap<string, string>,
  restore: (host: Host) => Promise<void>,
): Promise<void> {
  const errors = await forEachBounded(hosts, p.concurrency, async (name) => {
    try {
      const host = ctx.host(name);
      await restore(host);
      const unit = restarted.get(name);
      if (unit) {
        // It was running before the step restarted it: the state before the step is "running, old config".
        const sm = new ServiceManager(host);
        await sm.restart(unit);
        await waitActive(deps, ctx, sm, [unit]);
      }
      return undefined;
    } catch (e) {
      return `${name}: ${errorMessage(e)}`;
    }
  });
  const failed = errors.filter((x): x is string => x !== undefined);
  if (failed.length > 0) {
    throw new UserError("COMPUTE_UNDO_FAILED", `could not restore ${p.file} on ${failed.join("; ")}`, {
      nextSteps: ["Make those computes reachable and run rollback again (it retries only what is left)."],
    });
  }
}

function restartedOf(undoData: JsonObject): Map<string, string> {
  const r = isObject(undoData.restarted) ? undoData.restarted : {};
  return new Map(Object.entries(r).filter((e): e is [string, string] => typeof e[1] === "string"));
}

export function pinComputesSteps(deps: StepDeps): StepImpl[] {
  const pin: StepImpl = {
    kind: "nova.pin-computes",
    run(ctx, raw) {
      const value = new Params("nova.pin-computes", raw).str("value");
      return runAll(
        deps,
        ctx,
        "nova.pin-computes",
        raw,
        {
          edit: (t) => setComputePin(t, value),
          did: `pinned (compute = ${value})`,
          already: `already pinned (compute = ${value})`,
          backup: true,
        },
        "setting the compute RPC pin",
      );
    },
    async verify(ctx, raw) {
      const pp = new Params("nova.pin-computes", raw);
      const value = pp.str("value");
      const p = readParams("nova.pin-computes", raw);
      const controller = pp.optStr("controller");
      if (controller) {
        // The new controller's pin (cfg.nova.rewrite) is what matters most: without it no compute helps.
        const own = getComputePin((await ctx.host(controller).readFile(p.file)).toString("utf8"));
        if (own !== value) {
          return {
            ok: false,
            detail: `${controller}'s ${p.file} has ${own === undefined ? "no compute pin" : `compute = ${own}`}, not ${value}`,
          };
        }
      }
      const { ok, not } = await verifyAll(ctx, p, (v) => v === value);
      const v = verdict(ok, not, p.computes.length, `pinned to ${value}`);
      return controller ? { ...v, detail: `${controller} and ${v.detail}` } : v;
    },
    async undo(ctx, raw, undoData) {
      const p = readParams("nova.pin-computes", raw);
      await undoAll(deps, ctx, p, strList(undoData.edited), restartedOf(undoData), async (host) => {
        await restoreBackups(host, "edit", { files: [p.file] });
      });
    },
  };

  const unpin: StepImpl = {
    kind: "nova.unpin-computes",
    run: (ctx, raw) =>
      runAll(
        deps,
        ctx,
        "nova.unpin-computes",
        raw,
        { edit: removeComputePin, did: "pin removed", already: "no pin set", backup: false },
        "removing the compute RPC pin",
      ),
    async verify(ctx, raw) {
      const p = readParams("nova.unpin-computes", raw);
      const { ok, not } = await verifyAll(ctx, p, (v) => v === undefined);
      return verdict(ok, not, p.computes.length, "without a compute pin");
    },
    async undo(ctx, raw, undoData) {
      const p = readParams("nova.unpin-computes", raw);
      const before = isObject(undoData.before) ? undoData.before : {};
      await undoAll(deps, ctx, p, strList(undoData.edited), restartedOf(undoData), async (host) => {
        const value = before[host.name];
        if (typeof value !== "string" || value === "") return;
        const st = await host.stat(p.file);
        const e = setComputePin((await host.readFile(p.file)).toString("utf8"), value);
        if (e.changed)
          await host.writeFileAtomic(p.file, e.text, st ? { mode: st.mode, uid: st.uid, gid: st.gid } : {});
      });
    },
  };

  return [pin, unpin];
}
