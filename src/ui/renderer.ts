/**
 * What the commands hand engine events to. Implementations: plain lines (plain.ts), listr2 on a terminal
 * (listr.ts), and a minimal ANSI view (tty.ts). Callers await start/suspend/resume/end: a live renderer may need to
 * set up or tear down its hold on the terminal.
 */
import type { EngineEvent } from "../engine/step.js";

export interface ProgressRenderer {
  /** Called once before the first event. */
  start?(): Promise<void>;
  handle(e: EngineEvent): void;
  /** Stop drawing while something else owns the terminal (a confirmation prompt). */
  suspend(): void | Promise<void>;
  resume(): void | Promise<void>;
  /** Final draw; the renderer is not used afterwards. */
  end(): void | Promise<void>;
}
