/**
 * For tests that look at the UserError an operation ends with (its code, message, next steps). Anything else it
 * throws or rejects with fails the test as it is, and so does ending without an error.
 */
import { UserError } from "../../src/lib/errors.js";

/** The UserError `f` throws. */
export function thrownUserError(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError, but it returned");
}

/** The UserError `p` rejects with. */
export async function rejectedUserError(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError, but it resolved");
}
