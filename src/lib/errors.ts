/**
 * Typed errors. Everything the operator can fix is a UserError with a stable code, the message, and what to do
 * next; everything that is our fault is a BugError. They are rendered in exactly one place (src/cli/render-error.ts),
 * and stack traces appear only with --debug.
 */

export interface UserErrorOptions {
  /** What the operator should do next, one imperative sentence each. */
  readonly nextSteps?: readonly string[];
  /** The underlying error, kept for --debug. */
  readonly cause?: unknown;
}

export class UserError extends Error {
  override readonly name = "UserError";
  readonly code: string;
  readonly nextSteps: readonly string[];

  constructor(code: string, message: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.nextSteps = options.nextSteps ?? [];
  }
}

/** A defect in handover itself: the message should help us, the rendering asks the operator to report it. */
export class BugError extends Error {
  override readonly name = "BugError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
