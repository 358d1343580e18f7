/**
 * Live progress on a terminal with listr2's DefaultRenderer: one listr2 task per phase, one subtask per step,
 * concurrent steps spinning side by side, byte progress in the step's output bar, durations as suffixes, failures
 * shown with their message.
 *
 * listr2 normally schedules its own tasks (a task "runs" from the moment listr2 calls its function), but here the
 * engine decides what runs when. So the tasks are never run by listr2: their functions are no-ops and their state
 * is set from EngineEvents through listr2's public setters (`state$`, `message$`, `output$`), which emit the
 * refresh events the renderer listens to. listr2 only draws. The engine knows nothing of it.
 *
 * listr2 hijacks the output stream while drawing, so a confirmation prompt must not appear under it: suspend()
 * ends the renderer (its last frame stays in the scrollback) and resume() starts a fresh one.
 */
import {
  DefaultRenderer,
  Listr,
  ListrEventManager,
  ListrEventType,
  ListrLogger,
  ListrTaskState,
  PRESET_TIMER,
  ProcessOutput,
  type ListrTaskObject,
  type ListrDefaultRendererOptions,
} from "listr2";
import type { EngineEvent, Phase, Plan } from "../engine/step.js";
import { describeBytes } from "./format.js";
import { RunModel, type StepView } from "./model.js";
import { bytesOf } from "./plain.js";
import type { ProgressRenderer } from "./renderer.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- listr2's Task is generic over renderer classes we never name
type Task = ListrTaskObject<object, any, any>;

/**
 * A step's progress line. listr2's renderer drops a task's output buffer once the task is finalized but keeps its
 * output listener, so output for a task that runs again in the same run (undone and redone by a covered redo)
 * throws inside listr2 (`Cannot read properties of undefined (reading 'write')`, seen on the lab). A progress line
 * is not worth failing a step for: that line is dropped; the task's state still shows.
 */
function setOutput(t: Task, text: string): void {
  try {
    t.output$ = text;
  } catch {
    // see above
  }
}

export interface ListrViewOptions {
  /** The terminal. @default process.stdout */
  readonly stdout?: NodeJS.WriteStream;
  /** No spinner animation (tests). @default false */
  readonly lazy?: boolean;
  /** @default () => Date.now() */
  readonly nowMs?: () => number;
}

export class ListrView implements ProgressRenderer {
  private readonly model: RunModel;
  private readonly root: Listr<object, "default", "default">;
  private readonly steps = new Map<string, Task>();
  private readonly phases = new Map<Phase, Task>();
  private renderer: DefaultRenderer | undefined;
  /** Forwards the tasks' refresh events to the current renderer only (an ended renderer keeps its listener). */
  private relay: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private readonly nowMs: () => number;

  constructor(
    plan: Pick<Plan, "steps">,
    private readonly o: ListrViewOptions = {},
  ) {
    this.model = new RunModel(plan);
    this.nowMs = o.nowMs ?? Date.now;
    const noop = (): void => undefined;
    // registerSignalListeners: false: Ctrl-C belongs to the command (it aborts the engine), not to listr2.
    const options = { registerSignalListeners: false, exitOnError: false } as const;
    this.root = new Listr<object, "default", "default">(
      this.model.phases.map((p) => ({ title: p, task: noop })),
      options,
    );
    this.model.phases.forEach((phase, i) => {
      const pt = this.root.tasks[i]!;
      this.phases.set(phase, pt);
      const views = [...this.model.steps.values()].filter((s) => s.phase === phase);
      const sub = new Listr<object, "default", "default">(
        views.map((s) => ({ title: `${s.id}  ${s.title}`, task: noop })),
        options,
        pt,
      );
      pt.subtasks = sub.tasks;
      views.forEach((s, j) => this.steps.set(s.id, sub.tasks[j]!));
    });
  }

  /** Enables the tasks (listr2 draws only checked ones) and starts drawing. */
  async start(): Promise<void> {
    const all = [...this.phases.values(), ...this.steps.values()];
    await Promise.all(all.map((t) => t.check({})));
    await this.startRenderer();
  }

  private startRenderer(): Promise<void> {
    const out = this.o.stdout ?? process.stdout;
    const options: ListrDefaultRendererOptions = {
      ...DefaultRenderer.rendererOptions,
      collapseSubtasks: true,
      collapseErrors: true,
      showErrorMessage: true,
      collapseSkips: true,
      showSkipMessage: true,
      lazy: this.o.lazy ?? false,
      // Steps get a duration when done; phases have none, and listr2 would print "undefined" for them.
      timer: { ...PRESET_TIMER, condition: (duration?: number) => duration !== undefined },
      logger: new ListrLogger({ processOutput: new ProcessOutput(out, out), useIcons: true }),
    };
    const events = new ListrEventManager();
    this.relay = () => events.emit(ListrEventType.SHOULD_REFRESH_RENDER);
    this.root.events.on(ListrEventType.SHOULD_REFRESH_RENDER, this.relay);
    const r = new DefaultRenderer(this.root.tasks, options, events);
    this.renderer = r;
    this.starting = r.render();
    return this.starting;
  }

  handle(e: EngineEvent): void {
    const s = this.model.apply(e);
    if (!s) {
      // A run-wide warning (Ctrl-C received, a redo decided): a line written beside the live view would be drawn
      // over, so it goes into the titles of the phases still running, where it stays until they end.
      if (e.type === "log" && e.level === "warn") this.notice(e.message);
      return;
    }
    const t = this.steps.get(s.id);
    if (!t) return;
    switch (e.type) {
      case "step-start":
        setOutput(t, "");
        t.state$ = ListrTaskState.STARTED;
        break;
      case "step-done":
        t.message$ = { duration: (s.endedAtMs ?? 0) - (s.startedAtMs ?? 0) };
        t.state$ = ListrTaskState.COMPLETED;
        break;
      case "step-skip":
        t.message$ = { skip: `${s.id}  skipped: ${e.reason}` };
        t.state$ = ListrTaskState.SKIPPED;
        break;
      case "step-failed":
        t.message$ = { error: `${s.id}  ${s.title}: ${e.message}` };
        t.state$ = ListrTaskState.FAILED;
        break;
      case "step-progress":
        setOutput(t, progressText(s, this.nowMs()));
        break;
      case "undo-start":
        t.state$ = ListrTaskState.ROLLING_BACK;
        break;
      case "undo-done":
        t.state$ = ListrTaskState.ROLLED_BACK;
        break;
      case "undo-failed":
        t.message$ = { error: `${s.id}  undo failed: ${e.message}` };
        t.state$ = ListrTaskState.FAILED;
        break;
      case "log":
        if (e.level === "warn") setOutput(t, `! ${e.message}`);
        break;
    }
    this.updatePhase(s.phase);
  }

  private notice(message: string): void {
    for (const [phase, pt] of this.phases) {
      if (this.model.counts(phase).running > 0) pt.title$ = `${phase}  ! ${message}`;
    }
  }

  /** A phase spins while any of its steps runs; it is failed only once none runs (listr2 fails a failed task's running subtasks). */
  private updatePhase(phase: Phase): void {
    const pt = this.phases.get(phase);
    if (!pt) return;
    const c = this.model.counts(phase);
    const undoing = [...this.model.steps.values()].some((s) => s.phase === phase && s.status === "undoing");
    const next =
      c.running > 0
        ? undoing
          ? ListrTaskState.ROLLING_BACK
          : ListrTaskState.STARTED
        : c.failed > 0
          ? ListrTaskState.FAILED
          : c.finished === c.total
            ? ListrTaskState.COMPLETED
            : ListrTaskState.WAITING;
    if (pt.state !== next) pt.state$ = next;
  }

  async suspend(): Promise<void> {
    await this.stopRenderer();
  }

  private async stopRenderer(): Promise<void> {
    await this.starting;
    if (this.relay) this.root.events.off(ListrEventType.SHOULD_REFRESH_RENDER, this.relay);
    this.relay = undefined;
    this.renderer?.end();
    this.renderer = undefined;
  }

  async resume(): Promise<void> {
    if (!this.renderer) await this.startRenderer();
  }

  async end(): Promise<void> {
    await this.stopRenderer();
  }

  /** The current frame as text (tests). */
  frame(): string {
    return this.renderer?.create({ prompt: false }) ?? "";
  }
}

function progressText(s: StepView, nowMs: number): string {
  const parts: string[] = [];
  if (s.bytes !== undefined) parts.push(describeBytes(bytesOf(s, nowMs)));
  if (s.message !== undefined) parts.push(s.message);
  return parts.join("  ");
}
