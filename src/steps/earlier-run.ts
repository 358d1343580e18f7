/**
 * Finding a remote command started by an earlier, interrupted attempt of the same step. Killing handover
 * (SIGKILL, a lost jump host) does not kill what it started on the controllers: a migration or an import carries
 * on. A step's commands carry a per-step token in their environment (journaled before they start), so a redo can
 * wait until that earlier command is gone instead of running a second one beside it.
 */
import type { StepContext } from "../engine/step.js";
import type { Host } from "../hosts/host.js";
import { UserError } from "../lib/errors.js";
import type { StepDeps } from "./deps.js";

export const TOKEN_VAR = "HANDOVER_STEP_TOKEN";
/** Exit 0 when some process on the host carries `$1` (VAR=value) in its environment. */
export const FIND_TOKEN_SCRIPT =
  'for f in /proc/[0-9]*/environ; do grep -qzx "$1" "$f" 2>/dev/null && exit 0; done; exit 1';
const POLL_MS = 2000;

export function tokenEnv(token: string): Record<string, string> {
  return { [TOKEN_VAR]: token };
}

export async function waitForEarlierRun(
  deps: StepDeps,
  ctx: StepContext,
  host: Host,
  token: string,
  what: string,
  limitMs: number,
): Promise<void> {
  for (let waited = 0; ; waited += POLL_MS) {
    const r = await host.exec(["sh", "-c", FIND_TOKEN_SCRIPT, "sh", `${TOKEN_VAR}=${token}`]);
    if (r.exitCode !== 0) return;
    if (waited >= limitMs) {
      throw new UserError(
        "STEP_STILL_RUNNING",
        `${what} from an earlier, interrupted attempt is still running on ${host.name}`,
        { nextSteps: [`Wait for it to finish (or stop it) on ${host.name}, then re-run.`] },
      );
    }
    if (waited === 0) {
      ctx.emit({
        type: "log",
        level: "warn",
        message: `${what} from the interrupted attempt is still running on ${host.name}; waiting for it to end`,
      });
    }
    await deps.sleep(POLL_MS, ctx.signal);
  }
}
