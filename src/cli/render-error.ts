/**
 * The one place errors become text for the operator. UserErrors show their code, message and next steps;
 * anything else is a bug in handover and says so. Stack traces only with --debug.
 */
import { BugError, UserError, errorMessage } from "../lib/errors.js";

export function renderError(e: unknown, debug: boolean): string {
  const lines: string[] = [];
  if (e instanceof UserError) {
    lines.push(`error [${e.code}]: ${e.message}`);
    for (const step of e.nextSteps) lines.push(`  → ${step}`);
  } else {
    const what = e instanceof BugError ? e.message : errorMessage(e);
    lines.push(`internal error: ${what}`);
    lines.push("  → This is a bug in handover. Re-run with --debug and report the output.");
  }
  if (debug && e instanceof Error) {
    lines.push("", e.stack ?? "(no stack)");
    let cause: unknown = e.cause;
    while (cause instanceof Error) {
      lines.push(`caused by: ${cause.stack ?? cause.message}`);
      cause = cause.cause;
    }
  }
  return lines.join("\n");
}

/** Exit codes: 0 ok, 1 the operator's input or the hosts said no, 2 usage, 70 internal error (EX_SOFTWARE). */
export function exitCodeFor(e: unknown): number {
  return e instanceof UserError ? 1 : 70;
}
