/** What the commands hand engine events to. Implementations: plain lines (plain.ts) and a live TTY view (tty.ts). */
import type { EngineEvent } from "../engine/step.js";

export interface ProgressRenderer {
  handle(e: EngineEvent): void;
  /** Stop drawing while something else owns the terminal (a confirmation prompt). */
  suspend(): void;
  resume(): void;
  /** Final draw; the renderer is not used afterwards. */
  end(): void;
}
