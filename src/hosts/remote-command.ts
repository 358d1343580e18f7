/**
 * Builds the command string sent over SSH for an argv, with optional cwd, environment and sudo. Kept apart from
 * SshHost so it is unit-tested without a server. Everything goes through quoteArgv: no caller ever builds a shell
 * string by hand.
 */
import { BugError } from "../lib/errors.js";
import { quoteArg, quoteArgv } from "./quote.js";

export interface RemoteCommandOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Prefix `sudo -n --` (non-interactive: fails instead of prompting for a password). */
  readonly sudo?: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function remoteCommand(argv: readonly string[], options: RemoteCommandOptions = {}): string {
  if (argv.length === 0) throw new BugError("remoteCommand: empty argv");
  const env = Object.entries(options.env ?? {});
  for (const [name] of env) {
    if (!ENV_NAME.test(name))
      throw new BugError(`remoteCommand: invalid environment variable name ${JSON.stringify(name)}`);
  }
  if (env.length === 0 && options.cwd === undefined) {
    return options.sudo ? `sudo -n -- ${quoteArgv(argv)}` : quoteArgv(argv);
  }
  // `export` and `cd` need a shell; under sudo that shell must run as root, so wrap it in sh -c.
  // `exec` replaces the shell, so signals and the exit code are the command's own. Environment values appear in
  // the remote shell's command line: never put a secret in env, pass it on stdin.
  const exports =
    env.length === 0 ? "" : `export ${env.map(([k, v]) => `${k}=${quoteArg(v)}`).join(" ")} && `;
  const cd = options.cwd === undefined ? "" : `cd -- ${quoteArg(options.cwd)} && `;
  const inner = `${cd}${exports}exec ${quoteArgv(argv)}`;
  return options.sudo ? `sudo -n -- sh -c ${quoteArg(inner)}` : inner;
}
