/**
 * Test harness for the engine: step implementations that act on an in-memory "world" (a key → value map standing
 * in for the hosts' state), with fault injection. No hosts: the engine only needs Hosts to hand them to steps.
 *
 * Behaviour of the world steps (written down so tests can rely on it):
 * - `set` {key, value}: checkpoints the key's prior value (or the prior value an earlier attempt recorded), then
 *   sets it. verify: key === value. undo: restores the prior value (deletes the key if it was absent); with no
 *   checkpoint it does nothing (the step never got as far as changing anything).
 * - `multi` {keys, value}: like `set` for several keys, one mutation at a time (a crash can land between them).
 * - `concat` {from: [a, b], to}: sets `to` to world[a] + world[b]; verify recomputes it. Order-sensitive on
 *   purpose: if the engine ran it before its inputs were final, the end world would differ.
 * - `irrev` {key, value}: sets the key; no undo (the plan step must be declared irreversible).
 *
 * Faults (see Faults): throw at a step's Nth mutation; "crash" at a step's Nth mutation or at the journal's Nth
 * write (the write is torn in half). A crash simulates process death: the journal drops every later write and
 * every later mutation hangs forever, so the abandoned engine can change nothing more.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Host } from "../../../src/hosts/host.js";
import { nodeJournalIo, type JournalIo } from "../../../src/engine/journal.js";
import type {
  JsonObject,
  Plan,
  PlannedStep,
  StepContext,
  StepImpl,
  StepRegistry,
} from "../../../src/engine/step.js";

export type World = Map<string, string>;

export interface Faults {
  /** Throw `injected failure` at this step's Nth mutation (1-based). */
  throwAt?: { stepId: string; mutation: number; message?: string };
  /** Simulated crash at this step's Nth mutation (before it takes effect). */
  crashAtMutation?: { stepId: string; mutation: number };
  /** Simulated crash at the Nth journal write of this harness's io (half the bytes reach the disk). */
  crashAtWrite?: number;
  /** Make this step's undo throw. */
  failUndo?: string;
  /** Make this step's verify report not ok after run, with this detail. */
  failVerify?: { stepId: string; detail: string };
}

export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let every queued microtask and immediate run: the engine has no real I/O here, so this reaches quiescence. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export function tempStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "handover-engine-"));
}

export class Harness {
  crashed = false;
  readonly crash = deferred();
  writes = 0;
  private readonly mutations = new Map<string, number>();
  readonly undoCalls: string[] = [];

  constructor(
    readonly world: World,
    readonly faults: Faults = {},
  ) {}

  /** How many mutations each step made (keys `undo:<id>` for undos). */
  mutationCounts(): Map<string, number> {
    return new Map(this.mutations);
  }

  private die(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.crash.resolve();
  }

  /** Every world change goes through here, so faults can land between any two changes. */
  async mutate(stepId: string, change: () => void): Promise<void> {
    if (this.crashed) return new Promise<void>(() => undefined);
    const n = (this.mutations.get(stepId) ?? 0) + 1;
    this.mutations.set(stepId, n);
    const t = this.faults.throwAt;
    if (t && t.stepId === stepId && t.mutation === n) throw new Error(t.message ?? "injected failure");
    const c = this.faults.crashAtMutation;
    if (c && c.stepId === stepId && c.mutation === n) {
      this.die();
      return new Promise<void>(() => undefined);
    }
    await Promise.resolve();
    change();
  }

  /** Real files, with a crash at the Nth write: half the line is written, then nothing more ever is. */
  io(): JournalIo {
    return {
      ...nodeJournalIo,
      write: (fd, data) => {
        if (this.crashed) return;
        this.writes++;
        if (this.faults.crashAtWrite === this.writes) {
          nodeJournalIo.write(fd, data.subarray(0, Math.floor(data.length / 2)));
          this.die();
          return;
        }
        nodeJournalIo.write(fd, data);
      },
      // These tests simulate process death, not power loss: what write() handed the kernel survives, so the real
      // fdatasync (tested in journal.test.ts) is skipped to keep hundreds of runs fast.
      datasync: () => undefined,
    };
  }

  registry(): StepRegistry {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the impls below are plain objects, not methods
    const h = this;
    const prior = (ctx: StepContext, keys: readonly string[]): JsonObject => {
      // Keep what the FIRST attempt saw: a redo after a crash must not record its own half-done state.
      const prev = ctx.previousUndoData ?? {};
      const out: JsonObject = {};
      for (const k of keys) {
        const p = prev[k];
        out[k] = p !== undefined ? p : (h.world.get(k) ?? null);
      }
      return out;
    };
    const restore = async (stepId: string, undoData: JsonObject): Promise<void> => {
      h.undoCalls.push(stepId);
      if (h.faults.failUndo === stepId) throw new Error(`undo of ${stepId} failed (injected)`);
      for (const [k, v] of Object.entries(undoData)) {
        await h.mutate(`undo:${stepId}`, () => {
          if (v === null) h.world.delete(k);
          else h.world.set(k, v as string);
        });
      }
    };
    const verifyKeys = (stepId: string, keys: readonly string[], want: (k: string) => string | undefined) => {
      const f = h.faults.failVerify;
      if (f && f.stepId === stepId) return { ok: false, detail: f.detail };
      const bad = keys.filter((k) => h.world.get(k) !== want(k));
      return bad.length === 0
        ? { ok: true, detail: `${keys.join(",")} as expected` }
        : { ok: false, detail: `${bad.join(",")} differ` };
    };
    type SetP = { key: string; value: string };
    type MultiP = { keys: string[]; value: string };
    type ConcatP = { from: [string, string]; to: string };
    const set: StepImpl = {
      kind: "set",
      async run(ctx, params) {
        const p = params as unknown as SetP & { id: string };
        ctx.checkpoint?.(prior(ctx, [p.key]));
        await h.mutate(p.id, () => h.world.set(p.key, p.value));
      },
      verify(_ctx, params) {
        const p = params as unknown as SetP & { id: string };
        return Promise.resolve(verifyKeys(p.id, [p.key], () => p.value));
      },
      undo: (_ctx, params, undoData) => restore(params["id"] as string, undoData),
    };
    const multi: StepImpl = {
      kind: "multi",
      async run(ctx, params) {
        const p = params as unknown as MultiP & { id: string };
        ctx.checkpoint?.(prior(ctx, p.keys));
        for (const k of p.keys) await h.mutate(p.id, () => h.world.set(k, p.value));
      },
      verify(_ctx, params) {
        const p = params as unknown as MultiP & { id: string };
        return Promise.resolve(verifyKeys(p.id, p.keys, () => p.value));
      },
      undo: (_ctx, params, undoData) => restore(params["id"] as string, undoData),
    };
    const concatValue = (p: ConcatP): string =>
      `${h.world.get(p.from[0]) ?? ""}+${h.world.get(p.from[1]) ?? ""}`;
    const concat: StepImpl = {
      kind: "concat",
      async run(ctx, params) {
        const p = params as unknown as ConcatP & { id: string };
        ctx.checkpoint?.(prior(ctx, [p.to]));
        const v = concatValue(p);
        await h.mutate(p.id, () => h.world.set(p.to, v));
      },
      verify(_ctx, params) {
        const p = params as unknown as ConcatP & { id: string };
        return Promise.resolve(verifyKeys(p.id, [p.to], () => concatValue(p)));
      },
      undo: (_ctx, params, undoData) => restore(params["id"] as string, undoData),
    };
    const irrev: StepImpl = {
      kind: "irrev",
      async run(_ctx, params) {
        const p = params as unknown as SetP & { id: string };
        await h.mutate(p.id, () => h.world.set(p.key, p.value));
      },
      verify(_ctx, params) {
        const p = params as unknown as SetP & { id: string };
        return Promise.resolve(verifyKeys(p.id, [p.key], () => p.value));
      },
    };
    return new Map([set, multi, concat, irrev].map((i) => [i.kind, i]));
  }
}

export function step(
  id: string,
  kind: string,
  params: JsonObject,
  o: { reads?: string[]; writes?: string[]; after?: string[]; irreversible?: string; hosts?: string[] } = {},
): PlannedStep {
  return {
    id,
    kind,
    title: `step ${id}`,
    phase: "databases",
    hosts: o.hosts ?? ["w"],
    reads: o.reads ?? [],
    writes: o.writes ?? [],
    commands: [],
    after: o.after ?? [],
    ...(o.irreversible === undefined ? {} : { irreversible: o.irreversible }),
    params: { id, ...params },
  };
}

export function makePlan(steps: PlannedStep[], warnings: string[] = []): Plan {
  return { version: 1, sourceRelease: "victoria", targetRelease: "zed", steps, warnings };
}

const kv = (k: string): string => `w:kv:${k}`;

/**
 * The world plan used by the fault tests. Chosen so that order matters: s3 and s6 read what earlier steps write,
 * s7 rewrites what s1 wrote and s3 read (only plan order, via the conflict rule, keeps s3 before s7), s8 overlaps
 * s4 on `g`.
 */
export function worldPlan(): Plan {
  return makePlan([
    step("s1", "set", { key: "a", value: "A" }, { writes: [kv("a")] }),
    step("s2", "set", { key: "c", value: "C" }, { writes: [kv("c")] }),
    step(
      "s3",
      "concat",
      { from: ["a", "c"], to: "d" },
      { reads: [kv("a"), kv("c")], writes: [kv("d")], after: ["s1", "s2"] },
    ),
    step("s4", "multi", { keys: ["e", "f", "g"], value: "M" }, { writes: [kv("e"), kv("f"), kv("g")] }),
    step("s5", "set", { key: "b", value: "B2" }, { writes: [kv("b")] }),
    step(
      "s6",
      "concat",
      { from: ["d", "b"], to: "h" },
      { reads: [kv("d"), kv("b")], writes: [kv("h")], after: ["s3", "s5"] },
    ),
    step("s7", "set", { key: "a", value: "A2" }, { writes: [kv("a")] }),
    step("s8", "multi", { keys: ["g", "i"], value: "N" }, { writes: [kv("g"), kv("i")] }),
  ]);
}

export function initialWorld(): World {
  return new Map([
    ["a", "1"],
    ["b", "2"],
    ["g", "0"],
  ]);
}

export function hostsFor(plan: Plan): Map<string, Host> {
  // The world steps never call ctx.host(); the engine only checks that every named host was given.
  const names = new Set(plan.steps.flatMap((s) => s.hosts));
  return new Map([...names].map((n) => [n, { name: n, address: "127.0.0.1" } as unknown as Host]));
}

export function sorted(world: World): [string, string][] {
  return [...world.entries()].sort(([a], [b]) => a.localeCompare(b));
}
