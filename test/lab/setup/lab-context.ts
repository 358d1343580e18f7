/**
 * For lab test files: `labDescribe` is `describe`, or `describe.skip` with the reason in its title when the lab
 * cannot run here (not root), so the report says why every lab test was skipped.
 */
import { describe, inject } from "vitest";

export const labSkipReason = inject("labSkipReason");

export function labDescribe(name: string, fn: () => void): void {
  if (labSkipReason) describe.skip(`${name} [skipped: ${labSkipReason}]`, fn);
  else describe(name, fn);
}

export function labAnswersPath(): string {
  return inject("labAnswers");
}
