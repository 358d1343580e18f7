/** Picks the renderer: listr2 on a terminal, plain lines otherwise (CI, pipes, `--plain`, TERM=dumb). */
import type { Plan } from "../engine/step.js";
import { ListrView } from "./listr.js";
import { PlainRenderer } from "./plain.js";
import type { ProgressRenderer } from "./renderer.js";

export type { ProgressRenderer } from "./renderer.js";
export { PlainRenderer } from "./plain.js";
export { ListrView } from "./listr.js";

export interface RendererChoice {
  readonly plan: Pick<Plan, "steps" | "sourceRelease" | "targetRelease">;
  readonly plain: boolean;
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Plain lines go here. */
  readonly writeLine: (line: string) => void;
  /** The terminal, for the live view; without it the plain renderer is used. */
  readonly tty?: NodeJS.WriteStream;
}

export function createRenderer(c: RendererChoice): ProgressRenderer {
  // listr2 wraps lines to the terminal's width; a terminal that reports none (some ptys) gets plain lines.
  const live = !c.plain && c.isTTY && (c.tty?.columns ?? 0) >= 40 && c.env["TERM"] !== "dumb" && !c.env["CI"];
  if (live && c.tty) return new ListrView(c.plan, { stdout: c.tty });
  return new PlainRenderer(c.plan, { write: c.writeLine });
}
