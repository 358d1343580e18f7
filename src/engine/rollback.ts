/**
 * Undo what the journal says was done, with an outcome per step (listr2's `rollback`, aws-cdk's per-stack rollback
 * results), independent undos running concurrently so the old controller serves again sooner.
 *
 * - Candidates: steps done, and steps started but not finished (interrupted, failed, or caught mid-undo by an
 *   earlier rollback); undo must tolerate partial state. Steps already undone are reported, not touched again, so
 *   a rollback interrupted by a crash finishes when run again.
 * - Order (the guarantee): a step is undone only after every step that depended on it is undone (or its undo
 *   failed, see below). "Depended on" is what run itself honoured: a plan `after` edge, direct or transitive, or a
 *   resource conflict (resources.ts: one writes what the other reads or writes). Between two such related steps
 *   the newer one goes first, newer meaning later completion (a step's last step-done; for unfinished steps,
 *   their last step-start). A step's dependents start after it completes, so this is the dependency order; when
 *   a resume redid a step after its dependent, completion order wins, as it did when rollback was sequential.
 *   Every constraint goes from a newer to an older step, so there is no cycle, and two related steps never undo
 *   at the same time (but see the order-free exception). Unrelated steps undo concurrently, at most
 *   `concurrency` at once, not counting order-free undos: each is a wait on an init script's stop (TERM, then up
 *   to 30 s), not work, and two slow ones (apache2 11 s, nova-scheduler 10 s) held both of the lab's 2 slots while
 *   the rest of the rollback waited (33 s in all; hosts' SSH sessions are still bounded by SshHost's semaphore).
 *   (The undoAfter exception below is the one way to reverse a constraint; the
 *   predecessor map is checked for a cycle, a BugError naming its steps.)
 * - One exception to that order: a switch-back step (switch and freeze phases: the addresses, the old
 *   controller's services, the canary) does not wait for newer steps of other phases that merely come after it in
 *   the plan; only for newer switch-back steps related to it and for newer steps that conflict with it on a
 *   resource. Why: after the freeze, every other phase only reads the old controller (dumps, config and data
 *   copies; their declared resources say so) and changes new or the computes' pins, none of which stops old from
 *   serving once its addresses and services are back. Waiting for them (the freeze is an ancestor of nearly
 *   every step) kept old's APIs down until most of new was undone (25-38 s measured). A step that does write an
 *   old resource the switch-back touches still conflicts with it and keeps its place.
 * - A second, narrow exception: order-free undos (StepImpl.undoOrderFree, today svc.start of an OpenStack daemon
 *   on new, marked `openstackDaemon` by the planner; never rabbitmq, mariadb or memcached). Between two steps
 *   that are BOTH order-free, plan order alone does not order their undos: they may run concurrently. Only that
 *   direct pair is freed; everything else keeps its place: a resource conflict between them still orders them;
 *   a step that is not order-free still waits for (or goes before) each of them as plan order says, so the
 *   database drops, the infrastructure stops and the package purge still wait for every daemon stop; and the
 *   relation stays transitive through such steps (A after X after B, X not order-free and to be undone: B waits
 *   for X, which waits for A). Why: their undo only stops a daemon, and stopping an API before or after its conductor is safe
 *   when all of them are being stopped; stopping them one after another in reverse start order was the longest
 *   chain of a rollback (~15 s of 33-46 s measured). A journal from before the marker keeps the strict order.
 * - A third exception, declared by the plan: PlannedStep.undoAfter. When N (newer) lists O (an ancestor of N
 *   through `after`; validate-plan.ts rejects anything else), N's undo waits for O's undo instead of O's waiting
 *   for N's; only that pair is reversed, only when O is being undone too (if not, N waits for nothing on its
 *   account), and every other constraint stays. Why: an undo can need what an older step's undo restores. The
 *   freeze stops old's APIs (freeze.apis), then its other daemons (freeze.old.daemons); undone newest first, old's
 *   nova-conductor and nova-scheduler started before keystone, built their placement client at start-up, got
 *   ECONNREFUSED from keystone and exited (lab: a rollback reporting every undo "undone" left them down). Both
 *   are switch-back steps, so the priority below holds. A reversal that closes a loop through a step between
 *   the pair is refused (BugError naming the steps) rather than leaving undos never started. A journal from
 *   before the field keeps the newest-first order.
 * - Priority: the switch-back first. Switch-back steps and everything that must be undone before them start
 *   before the rest; when they are all undone the old controller serves again, which is journaled and shown as
 *   "old controller serving again after N s" (servingAgainSeconds reads it back for the report and the bench).
 *   The rest of new is undone after.
 * - An irreversible step that was done, or that started (it may have taken effect), blocks rollback past it:
 *   everything newer is undone, it and everything older are reported blocked with its reason.
 * - A finalized journal refuses rollback.
 * - A failed undo does NOT stop the rollback, nor the undos that were waiting for it. Operators want as much
 *   restored as possible; stopping would leave more of the cloud half-migrated. Every outcome is reported, the
 *   journal records undo-failed, `complete` is false (the CLI exits non-zero), and running rollback again retries
 *   the failures.
 * - A step that started and did not finish (not done) is undone only after its StepImpl.awaitEarlierAttempt (if
 *   its kind has one) returned: what the attempt started on the hosts may outlive the killed handover, and an
 *   undo must not run under it. If that fails, the step's undo fails (reported as any failed undo).
 * - Ctrl-C: no undo starts after it; running undos finish (they see the signal); the rest are reported not
 *   attempted, and running rollback again finishes them.
 */
import type { Host } from "../hosts/host.js";
import { BugError, UserError, errorMessage } from "../lib/errors.js";
import { buildContext } from "./context.js";
import type { Journal, JournalRecord, JournalState, StepState } from "./journal.js";
import { stepsConflict } from "./resources.js";
import type { EngineEvent, Phase, StepRegistry } from "./step.js";
import { safeEmit } from "./safe-emit.js";

export type UndoOutcomeKind =
  /** undo ran and returned. */
  | "undone"
  /** Undone by an earlier rollback. */
  | "already-undone"
  | "failed"
  /** Irreversible, or older than an irreversible step. */
  | "blocked"
  /** Ctrl-C came first. */
  | "not-attempted";

export interface UndoOutcome {
  readonly stepId: string;
  readonly title: string;
  readonly hosts: readonly string[];
  readonly outcome: UndoOutcomeKind;
  /** Why it failed or is blocked. */
  readonly message?: string;
}

export interface RollbackResult {
  /** Every touched step is undone. */
  readonly complete: boolean;
  readonly interrupted: boolean;
  /** Newest first (reverse completion), whatever order the concurrent undos ran in. */
  readonly outcomes: UndoOutcome[];
  /** One line for the operator. */
  readonly message: string;
  readonly nextSteps: string[];
  /**
   * Seconds from the start of this rollback until every switch and freeze step was undone (the old controller
   * serves again). Undefined when this rollback had none to undo, or one of them was not undone.
   */
  readonly servingAgainSeconds?: number;
  /** Seconds the whole rollback took. */
  readonly seconds: number;
}

export interface RollbackOptions {
  readonly registry: StepRegistry;
  readonly hosts: ReadonlyMap<string, Host>;
  /** Opened without a plan (the journaled plan is what gets undone), with the state dir's lock held. */
  readonly journal: Journal;
  /**
   * Most undos running at once. The CLI passes the answers' options.concurrency (run's limit). @default 1: one
   * at a time, newest first, the order callers relied on before undos ran concurrently.
   */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly emit?: (event: EngineEvent) => void;
}

const TOUCHED = new Set(["done", "running", "failed", "undoing", "undo-failed"]);

/** The phases whose undo gives the old controller back its addresses and services. */
export const SWITCH_BACK_PHASES: readonly Phase[] = ["switch", "freeze"];

/** The journal note (and log line) saying the old controller serves again; servingAgainSeconds parses it. */
export const SERVING_AGAIN_PREFIX = "old controller serving again after ";
const SERVING_AGAIN = /^old controller serving again after (\d+(?:\.\d+)?) s\b/;

function isSwitchBack(s: StepState): boolean {
  return SWITCH_BACK_PHASES.includes(s.step.phase);
}

function orderKey(s: StepState): number {
  return s.doneSeq ?? s.lastStartSeq ?? 0;
}

/** The step needs undo (done, or started and not finished); the report uses this to preview a rollback. */
export function needsUndo(s: StepState): boolean {
  return TOUCHED.has(s.status);
}

/**
 * The steps a rollback goes through, newest first (the order outcomes are reported in; see the header for the
 * order undos may run in); exported so `handover report` shows what a rollback would do now with the same
 * selection.
 */
export function rollbackCandidates(state: JournalState): StepState[] {
  return state.steps
    .filter((s) => TOUCHED.has(s.status) || s.status === "undone")
    .sort((a, b) => orderKey(b) - orderKey(a));
}

/** Seconds until the old controller served again, from the last rollback in these records that reached it. */
export function servingAgainSeconds(records: readonly JournalRecord[]): number | undefined {
  let found: number | undefined;
  for (const r of records) {
    if (r.type === "rollback-start") found = undefined;
    if (r.type !== "note") continue;
    const m = SERVING_AGAIN.exec(r.message);
    if (m) found = Number(m[1]);
  }
  return found;
}

/** Every step id each step comes after, directly or through other steps (journaled definitions, older plans too). */
function ancestorsOf(state: JournalState): (id: string) => ReadonlySet<string> {
  const memo = new Map<string, Set<string>>();
  const visit = (id: string, path: Set<string>): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const out = new Set<string>();
    // A cycle cannot come from a validated plan; if the journal has one, stop there rather than recurse forever.
    if (path.has(id)) return out;
    path.add(id);
    for (const d of state.byId.get(id)?.step.after ?? []) {
      out.add(d);
      for (const a of visit(d, path)) out.add(a);
    }
    path.delete(id);
    memo.set(id, out);
    return out;
  };
  return (id) => visit(id, new Set());
}

/**
 * For each step to undo, the steps that must be undone before it: the newer ones related to it (see the header).
 * `work` is newest first. `orderFree` says which steps' undos are order-free among themselves (default: none).
 */
export function undoPredecessors(
  state: JournalState,
  work: readonly StepState[],
  orderFree: (s: StepState) => boolean = () => false,
): Map<string, string[]> {
  const ancestors = ancestorsOf(state);
  const free = new Set(work.filter(orderFree).map((s) => s.id));
  const before = new Map<string, string[]>(work.map((s) => [s.id, []]));
  for (let i = 0; i < work.length; i++) {
    const newer = work[i]!;
    const itsAncestors = ancestors(newer.id);
    for (let j = i + 1; j < work.length; j++) {
      const older = work[j]!;
      // The two exceptions (see the header): plan order alone does not hold a switch-back step back, nor order
      // two order-free undos (resource conflicts still do).
      // The third exception (see the header): a declared undoAfter puts the pair the other way round, and only
      // that pair; when the declaring step is the older one (a resume redid its ancestor later), it only confirms
      // the usual direction, which the other exceptions must not drop.
      if (newer.step.undoAfter?.includes(older.id)) {
        before.get(newer.id)!.push(older.id);
        continue;
      }
      if (older.step.undoAfter?.includes(newer.id)) {
        before.get(older.id)!.push(newer.id);
        continue;
      }
      const byPlanOrder =
        !(isSwitchBack(older) && !isSwitchBack(newer)) && !(free.has(newer.id) && free.has(older.id));
      if (
        (byPlanOrder && (itsAncestors.has(older.id) || ancestors(older.id).has(newer.id))) ||
        stepsConflict(newer.step, older.step)
      ) {
        before.get(older.id)!.push(newer.id);
      }
    }
  }
  const cycle = findCycle(before);
  if (cycle) {
    // Without undoAfter every constraint goes from a newer to an older step; a reversal can close a loop through
    // a step between the pair (O, then X after O, then N after X with undoAfter O: O waits for X, X for N, N for
    // O). That plan asked for the impossible: say so instead of leaving those undos never started.
    throw new BugError(
      `rollback's undo order has a cycle (a plan's undoAfter reverses an order other steps keep): ${cycle.join(" waits for ")}`,
    );
  }
  return before;
}

/** A cycle in "undone only after" (each id waits for the ones it maps to), as ids ending where it began. */
function findCycle(before: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const at = onPath.indexOf(id);
    if (at >= 0) return [...onPath.slice(at), id];
    if (done.has(id)) return undefined;
    onPath.push(id);
    for (const p of before.get(id) ?? []) {
      const found = visit(p);
      if (found) return found;
    }
    onPath.pop();
    done.add(id);
    return undefined;
  };
  for (const id of before.keys()) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;

export async function rollbackJournal(o: RollbackOptions): Promise<RollbackResult> {
  const { journal, registry } = o;
  const state = journal.state();
  if (state.finalized) {
    throw new UserError(
      "ROLLBACK_FINALIZED",
      `This migration was finalized at ${state.finalizedAt}: finalize removed what rollback needs (the old controller's role, temporary keys, the compute pin), so rollback is refused.`,
      {
        nextSteps: [
          "To go back, plan a new migration from the current controller to the old release's host.",
        ],
      },
    );
  }
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UserError(
      "BAD_CONCURRENCY",
      `Concurrency must be a whole number of at least 1, not ${concurrency}.`,
    );
  }
  const now = o.now ?? (() => new Date());
  const signal = o.signal ?? new AbortController().signal;
  // A renderer failure is journaled (once), never thrown into a step.
  const emit = safeEmit(o.emit, (message) => o.journal.append({ type: "note", level: "warn", message }));
  const at = (): string => now().toISOString();
  const deps = { journal, hosts: o.hosts, signal, now, emit };

  const todo = rollbackCandidates(state);
  // Fail before touching anything if an undo we need is missing.
  for (const s of todo) {
    if (TOUCHED.has(s.status) && s.step.irreversible === undefined && !registry.get(s.step.kind)?.undo) {
      throw new BugError(`step ${s.id}: kind ${s.step.kind} has no undo and is not declared irreversible`);
    }
  }

  // The newest irreversible step that was touched blocks it and everything older (reverse completion).
  const blockIndex = todo.findIndex((s) => s.status !== "undone" && s.step.irreversible !== undefined);
  const blockedBy = blockIndex < 0 ? undefined : todo[blockIndex];
  const work = todo.filter((s, i) => s.status !== "undone" && (blockIndex < 0 || i < blockIndex));
  const orderFree = (s: StepState): boolean =>
    registry.get(s.step.kind)?.undoOrderFree?.(s.step.params) ?? false;
  const before = undoPredecessors(state, work, orderFree);
  // Asked once: the pump below looks at every queued step each time an undo ends.
  const freeIds = new Set(work.filter(orderFree).map((s) => s.id));

  // The switch-back, and everything that must be undone before it, goes first.
  const switchBack = work.filter(isSwitchBack);
  const urgent = new Set<string>();
  const mark = (id: string): void => {
    if (urgent.has(id)) return;
    urgent.add(id);
    for (const p of before.get(id) ?? []) mark(p);
  };
  for (const s of switchBack) mark(s.id);
  // Ready steps are started in this order: urgent first, then newest first.
  const queue = [...work].sort(
    (a, b) => Number(urgent.has(b.id)) - Number(urgent.has(a.id)) || orderKey(b) - orderKey(a),
  );

  const startedAt = now().getTime();
  journal.append({ type: "rollback-start" });
  const results = new Map<string, { outcome: UndoOutcomeKind; message?: string }>();
  /** Undos that returned or failed: either way, the steps waiting for them may go (see the header). */
  const settled = new Set<string>();
  const running = new Set<string>();
  let fatal: unknown;
  let interrupted = false;
  let servingAgain: number | undefined;
  let switchBackSettled = false;

  /** Journaled and shown: the report and the bench read the time the old controller served again. */
  function milestone(level: "info" | "warn", message: string): void {
    journal.append({ type: "note", level, message });
    emit({ type: "log", at: at(), level, message });
  }

  function checkSwitchBack(): void {
    if (switchBack.length === 0 || switchBackSettled) return;
    if (!switchBack.every((s) => settled.has(s.id))) return;
    switchBackSettled = true;
    const failed = switchBack.filter((s) => results.get(s.id)?.outcome !== "undone").map((s) => s.id);
    if (failed.length > 0) {
      milestone(
        "warn",
        `the switch back to the old controller is incomplete: the undo of ${failed.join(", ")} failed, so the old controller may not be serving`,
      );
      return;
    }
    servingAgain = seconds(now().getTime() - startedAt);
    milestone(
      "info",
      `${SERVING_AGAIN_PREFIX}${servingAgain} s (its addresses and the services handover stopped there are back); undoing the rest on new`,
    );
  }

  async function undoOne(s: StepState): Promise<void> {
    const impl = registry.get(s.step.kind)!;
    journal.append({ type: "undo-start", stepId: s.id });
    emit({ type: "undo-start", stepId: s.id, at: at() });
    try {
      const { ctx } = buildContext(s.step, deps, undefined, true);
      if (s.status !== "done" && impl.awaitEarlierAttempt) {
        // What the unfinished attempt started may still run on the hosts (a killed handover does not kill it): an
        // undo under it races it (rabbitmq stopped and purged under its own `service rabbitmq-server start`).
        try {
          await impl.awaitEarlierAttempt(ctx, s.step.params, s.undoData ?? {});
        } catch (e) {
          throw new UserError(
            "UNDO_EARLIER_ATTEMPT",
            `could not make sure its interrupted attempt has ended, so it was not undone: ${errorMessage(e)}`,
            { cause: e },
          );
        }
      }
      await impl.undo!(ctx, s.step.params, s.undoData ?? {});
    } catch (e) {
      const message = journal.redactText(errorMessage(e));
      journal.append({ type: "undo-failed", stepId: s.id, message });
      emit({ type: "undo-failed", stepId: s.id, at: at(), message });
      results.set(s.id, { outcome: "failed", message });
      return;
    }
    journal.append({ type: "undo-done", stepId: s.id });
    emit({ type: "undo-done", stepId: s.id, at: at() });
    results.set(s.id, { outcome: "undone" });
  }

  let limited = 0; // running undos that count against `concurrency`
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (fatal === undefined && !signal.aborted) {
        for (let i = 0; i < queue.length;) {
          const s = queue[i]!;
          // Order-free undos do not take one of the `concurrency` slots (see the header).
          const free = freeIds.has(s.id);
          if ((!free && limited >= concurrency) || !before.get(s.id)!.every((p) => settled.has(p))) {
            i++;
            continue;
          }
          queue.splice(i, 1);
          running.add(s.id);
          if (!free) limited++;
          undoOne(s)
            .then(() => {
              settled.add(s.id);
              checkSwitchBack();
            })
            .catch((e: unknown) => {
              // The journal itself failed (disk full, I/O error): stop starting undos, report it as it is.
              fatal ??= e;
            })
            .finally(() => {
              running.delete(s.id);
              if (!free) limited--;
              pump();
            });
        }
      }
      if (running.size === 0) resolve();
    };
    pump();
  });
  if (fatal !== undefined) throw fatal instanceof Error ? fatal : new BugError(errorMessage(fatal));
  if (queue.length > 0) {
    if (!signal.aborted) {
      // Cannot happen: the constraints have no cycle (undoPredecessors checked; see the header).
      throw new BugError(`rollback stopped with undos never started: ${queue.map((s) => s.id).join(", ")}`);
    }
    interrupted = true;
    for (const s of queue) results.set(s.id, { outcome: "not-attempted", message: "stopped on request" });
  }

  const outcomes: UndoOutcome[] = todo.map((s, i) => {
    const r =
      s.status === "undone"
        ? { outcome: "already-undone" as const }
        : blockedBy && i > blockIndex
          ? { outcome: "blocked" as const, message: `older than irreversible step ${blockedBy.id}` }
          : blockedBy && i === blockIndex
            ? {
                outcome: "blocked" as const,
                message: `irreversible (${s.step.irreversible}); it ${s.status === "done" ? "was done" : "started and may have taken effect"}`,
              }
            : results.get(s.id);
    if (!r) throw new BugError(`rollback has no outcome for step ${s.id}`);
    return {
      stepId: s.id,
      title: s.step.title,
      hosts: s.step.hosts,
      outcome: r.outcome,
      ...(r.message === undefined ? {} : { message: r.message }),
    };
  });

  const failed = outcomes.filter((x) => x.outcome === "failed");
  const undone = outcomes.filter((x) => x.outcome === "undone").length;
  const complete = outcomes.every((x) => x.outcome === "undone" || x.outcome === "already-undone");
  const nextSteps: string[] = [];
  let message: string;
  if (complete) {
    message = `Rollback complete: ${undone} step(s) undone${outcomes.length > undone ? `, ${outcomes.length - undone} already undone earlier` : ""}.`;
  } else {
    const parts = [`${undone} undone`];
    if (failed.length > 0) parts.push(`${failed.length} failed (${failed.map((f) => f.stepId).join(", ")})`);
    if (blockedBy) parts.push(`blocked at irreversible step ${blockedBy.id}: ${blockedBy.step.irreversible}`);
    if (interrupted) parts.push("stopped on request before the rest");
    message = `Rollback incomplete: ${parts.join("; ")}.`;
    if (failed.length > 0 || interrupted) {
      nextSteps.push(
        "Fix what the failed undos report, then run `handover rollback` again: it retries what is not undone.",
      );
    }
    if (blockedBy) {
      nextSteps.push(
        `Steps older than ${blockedBy.id} cannot be undone automatically; restore them by hand or continue with \`handover run\`.`,
      );
    }
  }
  journal.append({ type: "rollback-end", complete, message });
  return {
    complete,
    interrupted,
    outcomes,
    message,
    nextSteps,
    seconds: seconds(now().getTime() - startedAt),
    ...(servingAgain !== undefined ? { servingAgainSeconds: servingAgain } : {}),
  };
}
