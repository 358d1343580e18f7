/**
 * Live progress on a terminal: phases with their counts, the steps running right now side by side (each with its
 * elapsed time and byte progress), failures and warnings printed once above the live block so they stay in the
 * scrollback. Driven only by EngineEvents.
 *
 * Why not listr2: listr2 owns scheduling. A listr2 task is "running" from the moment listr2 calls its function,
 * and its tasks start in listr2's order; here the engine decides what starts when (dependencies, resource
 * conflicts, a concurrency limit, resume skips). Mirroring that in listr2 means either every not-yet-started step
 * shows as spinning, or setting the private state of Task objects and calling its renderer by hand. listr2 also
 * hijacks process.stdout while rendering, which fights the confirmation prompt a run may show mid-way. This
 * renderer is ~150 lines, draws exactly the engine's state, and pauses cleanly for a prompt.
 */
import type { EngineEvent, Plan } from "../engine/step.js";
import { describeBytes, formatDuration } from "./format.js";
import { RunModel, type StepView } from "./model.js";
import { bytesOf } from "./plain.js";
import type { ProgressRenderer } from "./renderer.js";

export interface TtyStream {
  write(text: string): unknown;
  readonly columns?: number;
}

export interface TtyRendererOptions {
  readonly stream: TtyStream;
  /** Wall clock for elapsed times. @default Date.now */
  readonly nowMs?: () => number;
  /** Redraw on a timer (spinner, elapsed times). Off in tests: then every event redraws at once. @default true */
  readonly animate?: boolean;
  /** A heading above the live block, e.g. "victoria → zed". */
  readonly heading?: string;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const ESC = "\u001b[";

export class TtyRenderer implements ProgressRenderer {
  private readonly model: RunModel;
  private readonly nowMs: () => number;
  private drawn = 0;
  private tick = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private suspended = false;
  private readonly startMs: number;

  constructor(
    plan: Pick<Plan, "steps">,
    private readonly o: TtyRendererOptions,
  ) {
    this.model = new RunModel(plan);
    this.nowMs = o.nowMs ?? Date.now;
    this.startMs = this.nowMs();
    if (o.animate ?? true) {
      this.timer = setInterval(() => {
        this.tick++;
        this.draw();
      }, 100);
      // A renderer must never keep the process alive on its own.
      this.timer.unref();
    }
  }

  handle(e: EngineEvent): void {
    const s = this.model.apply(e);
    if (e.type === "step-failed" && s) this.above(`✗ ${s.id}  ${s.title}: ${e.message}`);
    else if (e.type === "undo-failed" && s) this.above(`✗ ${s.id}  undo failed: ${e.message}`);
    else if (e.type === "log" && e.level === "warn")
      this.above(`! ${e.stepId ? `${e.stepId}  ` : ""}${e.message}`);
    if (!this.timer) this.draw();
  }

  suspend(): void {
    this.clear();
    this.suspended = true;
  }

  resume(): void {
    this.suspended = false;
    this.draw();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.suspended = false;
    this.draw();
  }

  /** The live block as lines (exported for tests through TtyRenderer.prototype.frame). */
  frame(nowMs = this.nowMs()): string[] {
    const spin = SPINNER[this.tick % SPINNER.length]!;
    const all = this.model.counts();
    const lines: string[] = [];
    lines.push(
      `${this.o.heading ? `${this.o.heading}  ` : ""}${all.finished}/${all.total} steps` +
        `${all.running > 0 ? `, ${all.running} running` : ""}${all.failed > 0 ? `, ${all.failed} failed` : ""}` +
        `  ${formatDuration(nowMs - this.startMs)}`,
    );
    for (const phase of this.model.phases) {
      const c = this.model.counts(phase);
      const icon = c.failed > 0 ? "✗" : c.running > 0 ? spin : c.finished === c.total ? "✓" : "·";
      lines.push(`${icon} ${phase}  ${c.finished}/${c.total}`);
      for (const s of this.model.steps.values()) {
        if (s.phase !== phase) continue;
        if (s.status === "running" || s.status === "undoing") lines.push(`    ${spin} ${stepLine(s, nowMs)}`);
      }
    }
    return lines;
  }

  private above(text: string): void {
    if (this.suspended) {
      this.o.stream.write(`${text}\n`);
      return;
    }
    this.clear();
    this.o.stream.write(`${this.fit(text)}\n`);
    this.draw();
  }

  private clear(): void {
    if (this.drawn > 0) this.o.stream.write(`${ESC}${this.drawn}A\r${ESC}J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (this.suspended) return;
    const lines = this.frame().map((l) => this.fit(l));
    this.clear();
    this.o.stream.write(`${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }

  /** Never wrap: a wrapped line would break the count of lines to move up over. */
  private fit(line: string): string {
    const cols = this.o.stream.columns ?? 80;
    return line.length < cols ? line : `${line.slice(0, Math.max(0, cols - 2))}…`;
  }
}

function stepLine(s: StepView, nowMs: number): string {
  const parts = [s.id, s.status === "undoing" ? `undo: ${s.title}` : s.title];
  if (s.bytes !== undefined) parts.push(describeBytes(bytesOf(s, nowMs)));
  if (s.message !== undefined) parts.push(s.message);
  if (s.startedAtMs !== undefined) parts.push(formatDuration(nowMs - s.startedAtMs));
  return parts.join("  ");
}
