/**
 * UserErrors raised by Host implementations (SshHost, LocalHost, and the FakeHost used in unit tests), so every
 * implementation says the same thing for the same failure and callers can match on a stable code.
 */
import { UserError } from "../lib/errors.js";
import { redact } from "../lib/redact.js";
import type { ExecResult } from "./host.js";

export const HostErrorCode = {
  unreachable: "HOST_UNREACHABLE",
  authFailed: "HOST_AUTH_FAILED",
  keyUnknown: "HOST_KEY_UNKNOWN",
  keyChanged: "HOST_KEY_CHANGED",
  keyRevoked: "HOST_KEY_REVOKED",
  commandFailed: "HOST_COMMAND_FAILED",
  commandTimeout: "HOST_COMMAND_TIMEOUT",
  fileNotFound: "HOST_FILE_NOT_FOUND",
  fileError: "HOST_FILE_ERROR",
} as const;

/** How many trailing characters of stderr a failure message shows: enough for the real error, not a wall. */
const STDERR_TAIL_CHARS = 2000;

export function tail(text: string, chars = STDERR_TAIL_CHARS): string {
  const t = text.trimEnd();
  return t.length <= chars ? t : `…${t.slice(t.length - chars)}`;
}

/** A command as shown to the operator: argv joined with spaces, secrets removed. */
export function displayCommand(argv: readonly string[], secrets?: readonly string[]): string {
  return redact(argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" "), secrets);
}

/** The error `run` throws on a non-zero exit (or a signal). */
export function commandFailedError(
  hostName: string,
  argv: readonly string[],
  result: ExecResult,
  secrets?: readonly string[],
): UserError {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  const stderr = tail(redact(result.stderr, secrets));
  const stdout = stderr === "" ? tail(redact(result.stdout, secrets), 500) : "";
  const detail =
    stderr !== "" ? `\nstderr:\n${stderr}` : stdout !== "" ? `\nstdout:\n${stdout}` : " (no output)";
  return new UserError(
    HostErrorCode.commandFailed,
    `on ${hostName}: \`${displayCommand(argv, secrets)}\` ${how}${detail}`,
    {
      nextSteps: [`Run the command by hand on ${hostName} to see why it fails, fix the cause, then re-run.`],
    },
  );
}

export function commandTimeoutError(
  hostName: string,
  argv: readonly string[],
  timeoutMs: number,
  secrets?: readonly string[],
): UserError {
  return new UserError(
    HostErrorCode.commandTimeout,
    `on ${hostName}: \`${displayCommand(argv, secrets)}\` did not finish within ${timeoutMs} ms and was stopped`,
    { nextSteps: [`Check what the command waits for on ${hostName} (a lock, the network, a prompt).`] },
  );
}

export function fileNotFoundError(hostName: string, path: string): UserError {
  return new UserError(HostErrorCode.fileNotFound, `on ${hostName}: ${path} does not exist`, {
    nextSteps: [`Check the path on ${hostName}.`],
  });
}
