/**
 * What the engine commands (run, rollback, finalize) share beyond the session: the operator interaction (one
 * place decides whether to ask, take --yes, or refuse without a terminal), Ctrl-C wiring, the progress renderer,
 * and the commands to print next.
 */
import { confirm as inquirerConfirm } from "@inquirer/prompts";
import type { Command } from "commander";
import { deriveState, readJournal, type Journal, type JournalState } from "../engine/journal.js";
import { openStateForWrite, type OpenState, type OpenStateOptions } from "../engine/state-dir.js";
import type { EngineEvent, JsonObject, Plan, StepImpl, StepRegistry } from "../engine/step.js";
import type { Host } from "../hosts/host.js";
import { BugError, UserError } from "../lib/errors.js";
import { createRenderer, type ProgressRenderer } from "../ui/index.js";
import { setExitCode } from "./exit.js";
import type { CliIo } from "./io.js";
import {
  realSessionDeps,
  withOverrides,
  type EngineSession,
  type LoadedRun,
  type SessionDeps,
} from "./session.js";

/** The options every engine command takes (`-f`, `--yes`, `--plain`). */
export interface EngineCommandOptions {
  readonly file: string;
  readonly yes?: boolean;
  readonly plain?: boolean;
}

export interface EngineCommandDeps extends SessionDeps {
  /** Asks a yes/no question on the terminal; only called when io.isTTY. */
  confirm(message: string, signal: AbortSignal): Promise<boolean>;
  /**
   * Aborted on Ctrl-C (the engine stops at a step boundary). The real action wires it to SIGINT; tests pass their
   * own and abort it. @default a fresh signal that is never aborted
   */
  readonly signal?: AbortSignal;
  /** The terminal for the live progress view (process.stdout in real use). */
  readonly tty?: NodeJS.WriteStream;
  /** Lock details (tests: pid, liveness). */
  readonly lock?: OpenStateOptions["lock"];
}

export const realEngineDeps: EngineCommandDeps = {
  ...realSessionDeps,
  confirm: async (message, signal) => {
    try {
      return await inquirerConfirm({ message, default: false }, { signal });
    } catch {
      // Ctrl-C or Ctrl-D at the prompt: a refusal, never a yes.
      return false;
    }
  },
  tty: process.stdout,
};

/**
 * The single rule for confirmations: `--yes` answers yes; on a terminal the operator is asked; without one, and
 * without --yes, refuse naming the flag (never hang waiting for input nobody can give).
 */
export async function confirmOrRefuse(o: {
  readonly io: CliIo;
  readonly deps: Pick<EngineCommandDeps, "confirm">;
  readonly yes: boolean;
  readonly question: string;
  readonly signal: AbortSignal;
  /** Code and message when refused without a terminal. */
  readonly noTtyCode: string;
  readonly noTtyMessage: string;
  readonly renderer?: ProgressRenderer;
}): Promise<boolean> {
  if (o.yes) return true;
  if (!o.io.isTTY) {
    throw new UserError(o.noTtyCode, o.noTtyMessage, {
      nextSteps: ["Run it on a terminal to be asked, or pass --yes to confirm without one."],
    });
  }
  await o.renderer?.suspend();
  try {
    return await o.deps.confirm(o.question, o.signal);
  } finally {
    await o.renderer?.resume();
  }
}

/** The renderer for this command's output, started. */
export async function startRenderer(
  plan: Pick<Plan, "steps" | "sourceRelease" | "targetRelease">,
  io: CliIo,
  deps: Pick<EngineCommandDeps, "tty">,
  plain: boolean,
): Promise<ProgressRenderer> {
  const r = createRenderer({
    plan,
    plain,
    isTTY: io.isTTY,
    env: io.env,
    writeLine: (l) => io.stdout(l),
    ...(deps.tty ? { tty: deps.tty } : {}),
  });
  await r.start?.();
  return r;
}

/**
 * The journal's state, read before any host is contacted; JOURNAL_MISSING when nothing has run in the state dir.
 * `why` completes "There is no journal in <dir>: ".
 */
export function requireJournal(run: LoadedRun, why: string, nextSteps: readonly string[]): JournalState {
  const read = readJournal(run.stateDir);
  if (!read) {
    throw new UserError("JOURNAL_MISSING", `There is no journal in ${run.stateDir}: ${why}`, { nextSteps });
  }
  return deriveState(read.records);
}

/**
 * What a command holds while its session is open: the journal once opened and the renderer while the engine runs.
 * Mutable because the gate step (confirmGate) reads them through getters at the moment it asks.
 */
export interface EngineScope {
  readonly session: EngineSession;
  state: OpenState | undefined;
  renderer: ProgressRenderer | undefined;
}

/**
 * Opens the session, runs `body`, and always closes in reverse order (renderer, journal lock, hosts), whether
 * `body` returned, refused or failed.
 */
export async function withEngineSession<T>(
  run: LoadedRun,
  io: CliIo,
  deps: Pick<SessionDeps, "openSession">,
  body: (scope: EngineScope) => Promise<T>,
): Promise<T> {
  const session = await deps.openSession(run, io);
  const scope: EngineScope = { session, state: undefined, renderer: undefined };
  try {
    return await body(scope);
  } finally {
    await scope.renderer?.end();
    scope.state?.close();
    await session.close();
  }
}

/**
 * Takes the state dir's lock and opens the journal for `command`, with the session's secrets and the deps' clock
 * and lock details (`plan` and `acceptPlanChange` for a run); the scope holds it, so withEngineSession closes it.
 */
export function openScopeState(
  scope: EngineScope,
  run: LoadedRun,
  deps: Pick<EngineCommandDeps, "now" | "lock">,
  command: "run" | "rollback" | "finalize",
  o: { readonly plan?: Plan; readonly acceptPlanChange?: boolean } = {},
): OpenState {
  const state = openStateForWrite({
    stateDir: run.stateDir,
    command,
    secrets: scope.session.secrets,
    now: deps.now,
    ...(deps.lock ? { lock: deps.lock } : {}),
    ...o,
  });
  scope.state = state;
  return state;
}

/**
 * What runPlan and rollbackJournal both take from an open scope: the session's hosts, the journal the scope
 * holds (openScopeState first), the command's Ctrl-C signal, the deps' clock and the renderer's event sink.
 */
export function engineWiring(
  scope: EngineScope,
  deps: Pick<EngineCommandDeps, "now">,
  signal: AbortSignal,
  emit: (e: EngineEvent) => void,
): {
  hosts: ReadonlyMap<string, Host>;
  journal: Journal;
  signal: AbortSignal;
  now: () => Date;
  emit: (e: EngineEvent) => void;
} {
  if (!scope.state) throw new BugError("the engine was started before the state dir was opened");
  return { hosts: scope.session.hosts, journal: scope.state.journal, signal, now: deps.now, emit };
}

/** The session's registry with gate.confirm replaced by the commands' own step, which asks the operator. */
export function registryWithGate(
  scope: EngineScope,
  o: {
    readonly io: CliIo;
    readonly deps: EngineCommandDeps;
    readonly yes: boolean;
    readonly signal: AbortSignal;
    readonly plan: Plan;
  },
): StepRegistry {
  return withOverrides(scope.session.registry, [
    confirmGate({ ...o, journal: () => scope.state?.journal, renderer: () => scope.renderer }),
  ]);
}

/**
 * Runs the engine (`body`, given the renderer's event sink) under a started renderer, and ends the renderer
 * before returning or throwing, so what the command prints next is not drawn over.
 */
export async function withRenderer<T>(
  scope: EngineScope,
  plan: Pick<Plan, "steps" | "sourceRelease" | "targetRelease">,
  io: CliIo,
  deps: Pick<EngineCommandDeps, "tty" | "signal">,
  plain: boolean,
  body: (emit: (e: EngineEvent) => void) => Promise<T>,
): Promise<T> {
  const renderer = await startRenderer(plan, io, deps, plain);
  scope.renderer = renderer;
  // withSigint's "stopping" line goes to stderr, which a live view draws over: tell the view too.
  const onAbort = (): void =>
    renderer.handle({ type: "log", level: "warn", at: new Date().toISOString(), message: STOPPING });
  const live = io.isTTY && !plain;
  if (live) deps.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Through the scope: events after the end (none expected) are dropped rather than drawn.
    return await body((e) => scope.renderer?.handle(e));
  } finally {
    deps.signal?.removeEventListener("abort", onAbort);
    await renderer.end();
    scope.renderer = undefined;
  }
}

/**
 * Declares an engine command with the options they all share (-f, -y, --plain, in that order); the caller adds
 * its own options and then calls `engineAction`.
 */
export function engineCommand(program: Command, name: string, description: string, yesHelp: string): Command {
  return program
    .command(name)
    .description(description)
    .requiredOption("-f, --file <path>", "the answer file (YAML)")
    .option("-y, --yes", yesHelp)
    .option("--plain", "plain timestamped lines instead of the live view");
}

/** The commander action of an engine command: real deps, Ctrl-C wired to the signal, exit code recorded. */
export function engineAction<O>(
  io: CliIo,
  command: (o: O, io: CliIo, deps: EngineCommandDeps) => Promise<number>,
): (options: O, cmd: Command) => Promise<void> {
  return async (options, cmd) => {
    const code = await withSigint(io, (signal) => command(options, io, { ...realEngineDeps, signal }));
    setExitCode(cmd, code);
  };
}

/**
 * Runs `body` with an AbortSignal that SIGINT aborts: the first Ctrl-C asks the engine to stop at a step boundary,
 * a second one leaves at once. Kept thin: the commands take the signal as a parameter and never see the process.
 */
const STOPPING = "Ctrl-C: stopping once the running steps reach a safe point (Ctrl-C again to quit at once)…";

export async function withSigint<T>(io: CliIo, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) {
      io.stderr(
        "Interrupted again: exiting now. The journal is intact; `handover status` shows where it stopped.",
      );
      // A live renderer hid the cursor; give it back before leaving.
      if (io.isTTY) process.stdout.write("\u001b[?25h");
      process.exit(130);
    }
    io.stderr(STOPPING);
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await body(ac.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export function resumeCommands(displayName: string): string[] {
  return [
    `To continue: \`handover run -f ${displayName}\` (re-verifies what is done, then carries on).`,
    `To go back: \`handover rollback -f ${displayName}\` (undoes every completed step, newest first).`,
  ];
}

/**
 * gate.confirm: a point in the plan where the operator must agree before the run goes on (the switch). Its
 * verify cannot look at a host; it passes when confirmed in this process, or when the journal shows the gate was
 * passed earlier (so a resume after the switch does not ask again), and fails otherwise (so a refused gate is asked
 * again on the next run).
 */
export function confirmGate(o: {
  readonly io: CliIo;
  readonly deps: EngineCommandDeps;
  readonly yes: boolean;
  readonly signal: AbortSignal;
  readonly journal: () => Journal | undefined;
  readonly renderer: () => ProgressRenderer | undefined;
  readonly plan: Plan;
}): StepImpl {
  const confirmed = new Set<string>();
  let asking: Promise<unknown> = Promise.resolve();
  const key = (p: JsonObject): string => `${str(p["answerKey"])}\n${str(p["question"])}`;
  return {
    kind: "gate.confirm",
    async run(_ctx, params) {
      const question = str(params["question"]) || "Continue?";
      const answerKey = str(params["answerKey"]);
      // One prompt at a time, even if two gates become ready together.
      const turn = asking.then(() =>
        confirmOrRefuse({
          io: o.io,
          deps: o.deps,
          yes: o.yes,
          question,
          signal: o.signal,
          noTtyCode: "CONFIRMATION_NEEDED",
          noTtyMessage: `needs a confirmation ("${question}") and there is no terminal to ask on: pass --yes${answerKey ? `, or set options.${answerKey}: auto in the answer file and re-plan` : ""}. Nothing after this gate was started.`,
          ...(o.renderer() ? { renderer: o.renderer()! } : {}),
        }),
      );
      asking = turn.catch(() => undefined);
      const yes = await turn;
      if (!yes) {
        throw new UserError(
          "NOT_CONFIRMED",
          `not confirmed ("${question}"); stopped before it, nothing after it ran.`,
        );
      }
      confirmed.add(key(params));
    },
    verify(_ctx, params) {
      if (confirmed.has(key(params))) return Promise.resolve({ ok: true, detail: "confirmed now" });
      const state = o.journal()?.state();
      const passed = o.plan.steps.some(
        (s) =>
          s.kind === "gate.confirm" &&
          key(s.params) === key(params) &&
          state?.byId.get(s.id)?.status === "done",
      );
      return Promise.resolve(
        passed
          ? { ok: true, detail: "confirmed in an earlier run" }
          : { ok: false, detail: "not confirmed yet" },
      );
    },
    undo: () => Promise.resolve(),
  };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** `--concurrency N` of run and rollback (the answers' options.concurrency when absent). */
export function parseConcurrency(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UserError(
      "BAD_CONCURRENCY",
      `--concurrency must be a whole number from 1 to 64, not ${value}.`,
    );
  }
  return n;
}
