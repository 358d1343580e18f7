/**
 * The two windows an operator's manager asks about: the freeze (old's APIs stopped: from the freeze step's start
 * to the end of the switch, or to a rollback that undid the freeze, or still open) and the switch blackout (the
 * moved addresses answer nowhere: net.move-address records its del-to-add time as `moveMs`; a canary, when the
 * plan has one, records what a compute saw: net.canary-stop per address `blackoutMs`, `replies`, `sent` and when
 * the gap was; a single-figure net.canary step `blackoutMs`, `replies`, `lost`).
 */
import type { JournalState, StepState } from "../engine/journal.js";
import type { AddressMove, Bar, Blackout, CanaryResult, FreezeWindow } from "./model.js";
import type { DoneRecord } from "./records.js";
import type { JsonObject } from "../engine/step.js";
import { arr, num, obj, str } from "./records.js";

function freezeStep(state: JournalState): StepState | undefined {
  const inPhase = state.steps.filter((s) => s.step.phase === "freeze");
  return inPhase.find((s) => s.step.kind.startsWith("freeze.")) ?? inPhase[0];
}

export function freezeWindow(state: JournalState, bars: readonly Bar[]): FreezeWindow | undefined {
  const step = freezeStep(state);
  if (!step) return undefined;
  const runs = bars.filter((b) => b.stepId === step.id && b.type === "run");
  const undos = bars.filter((b) => b.stepId === step.id && b.type === "undo" && b.result === "done");
  // Windows open at a start of the freeze step and close at the next completed undo of it; the last one counts.
  let open: { startMs: number; undoneMs: number | undefined } | undefined;
  for (const r of runs) {
    // A retry while still frozen is the same window; a start after the freeze was undone opens a new one.
    if (open && (open.undoneMs === undefined || r.startMs < open.undoneMs)) continue;
    open = { startMs: r.startMs, undoneMs: undos.find((u) => u.endMs >= r.startMs)?.endMs };
  }
  if (!open) return undefined;
  const { startMs: from, undoneMs } = open;
  // The freeze is over for clients when the moved addresses answer on new: when every address move has completed
  // since the freeze began (checks after it, such as computes' heartbeats, do not keep the APIs away). A plan
  // without moves: when every switch-phase step has completed.
  const moves = state.steps.filter((s) => s.step.kind === "net.move-address");
  const switchSteps = moves.length > 0 ? moves : state.steps.filter((s) => s.step.phase === "switch");
  const switchEnds = switchSteps.map(
    (s) =>
      bars.find((b) => b.stepId === s.id && b.type === "run" && b.result === "done" && b.startMs >= from)
        ?.endMs,
  );
  const switchEnd =
    switchSteps.length > 0 && switchEnds.every((e) => e !== undefined) ? Math.max(...switchEnds) : undefined;
  if (switchEnd !== undefined && (undoneMs === undefined || switchEnd <= undoneMs)) {
    return { stepId: step.id, startMs: from, endMs: switchEnd, endedBy: "switch" };
  }
  if (undoneMs !== undefined) return { stepId: step.id, startMs: from, endMs: undoneMs, endedBy: "rollback" };
  return { stepId: step.id, startMs: from };
}

function isoMs(v: string | undefined): number | undefined {
  const t = v === undefined ? NaN : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * net.canary-stop journals `canary: [{address, replies, sent, blackoutMs (null: never answered), blackoutFrom,
 * blackoutTo, answeringAtStop}]`; a `net.canary` step (the single-figure form) journals `blackoutMs, replies,
 * lost`. A step not done yet is one row with nothing measured.
 */
function canaryRows(s: StepState, u: JsonObject | undefined): CanaryResult[] {
  const compute = str(s.step.params, "compute") ?? str(u, "compute");
  const base = { stepId: s.id, status: s.status, ...(compute === undefined ? {} : { compute }) };
  const perAddress = arr(u?.["canary"])
    .map((x) => obj(x))
    .filter((x): x is JsonObject => x !== undefined);
  if (perAddress.length === 0) {
    const blackoutMs = num(u, "blackoutMs");
    const replies = num(u, "replies");
    const lost = num(u, "lost");
    return [
      {
        ...base,
        ...(blackoutMs === undefined ? {} : { blackoutMs }),
        ...(replies === undefined ? {} : { replies }),
        ...(lost === undefined ? {} : { lost }),
      },
    ];
  }
  return perAddress.map((c): CanaryResult => {
    const address = str(c, "address");
    const blackoutMs = num(c, "blackoutMs");
    const replies = num(c, "replies");
    const sent = num(c, "sent");
    const lost = num(c, "lost") ?? (sent !== undefined && replies !== undefined ? sent - replies : undefined);
    const fromMs = isoMs(str(c, "blackoutFrom"));
    const toMs = isoMs(str(c, "blackoutTo"));
    const answering = c["answeringAtStop"];
    return {
      ...base,
      ...(address === undefined ? {} : { address }),
      ...(blackoutMs === undefined ? {} : { blackoutMs }),
      ...(replies === undefined ? {} : { replies }),
      ...(sent === undefined ? {} : { sent }),
      ...(lost === undefined ? {} : { lost }),
      ...(fromMs === undefined ? {} : { fromMs }),
      ...(toMs === undefined ? {} : { toMs }),
      ...(typeof answering === "boolean" ? { answeringAtStop: answering } : {}),
    };
  });
}

export function blackout(
  state: JournalState,
  bars: readonly Bar[],
  done: ReadonlyMap<string, DoneRecord>,
): Blackout {
  const lastRun = (id: string): Bar | undefined =>
    bars.filter((b) => b.stepId === id && b.type === "run").at(-1);
  const moves = state.steps
    .filter((s) => s.step.kind === "net.move-address")
    .map((s): AddressMove => {
      const bar = lastRun(s.id);
      const network = str(s.step.params, "network");
      const address = str(s.step.params, "address");
      const moveMs = num(done.get(s.id)?.undoData, "moveMs");
      return {
        stepId: s.id,
        status: s.status,
        ...(network === undefined ? {} : { network }),
        ...(address === undefined ? {} : { address }),
        ...(bar ? { startMs: bar.startMs, endMs: bar.endMs } : {}),
        ...(moveMs === undefined ? {} : { moveMs }),
      };
    });
  const canaries = state.steps
    .filter((s) => s.step.kind === "net.canary" || s.step.kind === "net.canary-stop")
    .flatMap((s) => canaryRows(s, done.get(s.id)?.undoData));
  const measured = canaries
    .filter((c) => c.blackoutMs !== undefined)
    .sort((a, b) => (b.blackoutMs ?? 0) - (a.blackoutMs ?? 0));
  const worst = measured[0];
  return {
    moves,
    canaries,
    // Several addresses move in the same switch: the longest gap is what a client saw at worst.
    ...(worst?.blackoutMs === undefined ? {} : { measuredMs: worst.blackoutMs }),
    ...(worst?.fromMs === undefined || worst.toMs === undefined
      ? {}
      : { measuredFromMs: worst.fromMs, measuredToMs: worst.toMs }),
  };
}
