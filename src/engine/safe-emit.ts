/**
 * The engine's events go to a renderer, which only draws them. A renderer that throws (a UI library's bug, a closed
 * terminal) must never fail the step that emitted the event: a migration step is worth more than a progress line.
 * The first such failure is reported once (the engine journals it as a warning); the run carries on.
 */
import type { EngineEvent } from "./step.js";

export function safeEmit(
  emit: ((e: EngineEvent) => void) | undefined,
  report: (message: string) => void,
): (e: EngineEvent) => void {
  if (!emit) return () => undefined;
  let reported = false;
  return (e) => {
    try {
      emit(e);
    } catch (err) {
      if (reported) return;
      reported = true;
      report(
        `handover: the progress display failed (${err instanceof Error ? err.message : String(err)}); the run goes on, the journal is complete.`,
      );
    }
  };
}
