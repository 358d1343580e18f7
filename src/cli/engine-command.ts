/**
 * What the engine commands (run, rollback, finalize) share beyond the session: the operator interaction (one
 * place decides whether to ask, take --yes, or refuse without a terminal), Ctrl-C wiring, the progress renderer,
 * and the commands to print next.
 */
import { confirm as inquirerConfirm } from "@inquirer/prompts";
import type { Journal } from "../engine/journal.js";
import type { JsonObject, Plan, StepImpl } from "../engine/step.js";
import type { OpenStateOptions } from "../engine/state-dir.js";
import { UserError } from "../lib/errors.js";
import { createRenderer, type ProgressRenderer } from "../ui/index.js";
import type { CliIo } from "./io.js";
import { realSessionDeps, type SessionDeps } from "./session.js";

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
 * Runs `body` with an AbortSignal that SIGINT aborts: the first Ctrl-C asks the engine to stop at a step boundary,
 * a second one leaves at once. Kept thin: the commands take the signal as a parameter and never see the process.
 */
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
    io.stderr("Ctrl-C: stopping once the running steps reach a safe point (Ctrl-C again to quit at once)…");
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
