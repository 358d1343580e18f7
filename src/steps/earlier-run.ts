/**
 * Finding a remote command started by an earlier, interrupted attempt of the same step. Killing handover
 * (SIGKILL, a lost jump host) does not kill what it started on the controllers: a migration or an import carries
 * on. A step's commands carry a per-step token (journaled before they start), so a redo can wait until that
 * earlier command is gone instead of running a second one beside it.
 *
 * Two ways to carry it:
 * - In the environment (tokenEnv, waitForEarlierRun): for tools that start no daemon (svc.manage). Every child
 *   inherits it, so the whole tree is found, for as long as any of it runs.
 * - As an argv word of a wrapper shell (markedArgv, settleEarlierMarked): for `service X start` and the like. A
 *   daemon started by an init script inherits the script's environment, so an environment token would be found
 *   for as long as the daemon runs, i.e. forever; an argv word is carried by the wrapper alone (children get
 *   argvs of their own), so it marks the command exactly while it runs. The wrapper's children (the init script,
 *   its `rabbitmqctl wait`) are found from it through their parent PIDs when they must be ended.
 */
import { randomBytes } from "node:crypto";
import type { StepContext } from "../engine/step.js";
import type { Host } from "../hosts/host.js";
import { BugError, UserError } from "../lib/errors.js";
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

/** Prefix of the wrapper's marking argv word; the token after it is hex (not a secret: it only names a command). */
export const MARK_PREFIX = "handover-";
const TOKEN = /^[0-9a-f]{8,64}$/;

/** A fresh per-attempt token. */
export function newToken(): string {
  return randomBytes(12).toString("hex");
}

/**
 * `"$@"` runs the command as the wrapper's child; the `exit $?` after it keeps the shell from exec'ing the
 * command in its place (dash and bash exec the LAST simple command of a `-c` string, which would drop the mark).
 * The mark is `$0`, so it changes nothing the command sees.
 */
export const MARK_WRAPPER = '"$@"; exit $?';

/** The argv that runs `argv` under a wrapper shell marked with `token` (see the header). */
export function markedArgv(token: string, argv: readonly string[]): string[] {
  return ["sh", "-c", MARK_WRAPPER, `${MARK_PREFIX}${checkToken(token)}`, ...argv];
}

/**
 * Exit 0 when some process has the argv word `handover-$1` (a whole word: grep -z reads /proc's NUL-separated
 * cmdline, -x matches one word entire). The pattern is written `handover[-]$1` so that neither this script's argv
 * nor grep's own ever holds the word it looks for.
 */
export const FIND_MARKED_SCRIPT =
  'for f in /proc/[0-9]*/cmdline; do grep -qzx -- "handover[-]$1" "$f" 2>/dev/null && exit 0; done; exit 1';

/**
 * SIGKILLs, by PID, the processes marked `handover-$1` and their descendants in the same session, and prints the
 * PIDs. Descendants, because the init script and what it waits in carry no mark; the same session, because a
 * daemon detaches with setsid() (start-stop-daemon --background does): what the command left behind is not ended.
 * One `ps` snapshot, one `kill`: the tree is listed before any of it dies, so no child is orphaned (reparented
 * away from the tree) before its PID is known. KILL, not TERM: this runs only for a command that outlived its
 * bound, such as an init script waiting for a daemon that was stopped under it, which TERM may not end.
 */
export const KILL_MARKED_SCRIPT = [
  'roots=""',
  'for f in /proc/[0-9]*/cmdline; do if grep -qzx -- "handover[-]$1" "$f" 2>/dev/null; then p=${f#/proc/}; roots="$roots ${p%/cmdline}"; fi; done',
  '[ -n "$roots" ] || exit 0',
  // Without ps the descendants are unknown: killing the wrapper alone would orphan its init script out of reach.
  'command -v ps >/dev/null 2>&1 || { echo "ps (procps) is needed to end the command and its children" >&2; exit 2; }',
  'pids=$(ps -e -o pid= -o ppid= -o sid= | awk -v roots="$roots" \'BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 } { par[$1] = $2; sid[$1] = $3 } END { do { more = 0; for (p in par) if (!(p in keep) && (par[p] in keep) && sid[p] == sid[par[p]]) { keep[p] = 1; more = 1 } } while (more); for (p in keep) if (p in par) print p }\')',
  '[ -z "$pids" ] || kill -KILL $pids 2>/dev/null',
  "echo $pids",
].join("\n");

function checkToken(token: string): string {
  if (!TOKEN.test(token)) throw new BugError(`not a step token: ${JSON.stringify(token)}`);
  return token;
}

/** True while a process marked with `token` runs on the host. */
export async function markedRunning(host: Host, token: string): Promise<boolean> {
  const r = await host.exec(["sh", "-c", FIND_MARKED_SCRIPT, "sh", checkToken(token)]);
  return r.exitCode === 0;
}

/** How many times the kill is tried (each a fresh snapshot) before the step gives up. */
const KILL_TRIES = 3;

/**
 * Waits, up to `limitMs`, for the command an earlier attempt marked with `token` to end; past that, ends it (see
 * KILL_MARKED_SCRIPT) and says so in a warning. Returns at once when nothing carries the mark. Fails only when
 * the command survives the kill (it would then still run beside whatever the caller does next).
 */
export async function settleEarlierMarked(
  deps: StepDeps,
  ctx: StepContext,
  host: Host,
  token: string,
  what: string,
  limitMs: number,
): Promise<void> {
  for (let waited = 0; ;) {
    if (!(await markedRunning(host, token))) return;
    if (waited >= limitMs) break;
    if (waited === 0) {
      ctx.emit({
        type: "log",
        level: "warn",
        message: `${what} from the interrupted attempt is still running on ${host.name}; waiting up to ${secs(limitMs)} s for it to end`,
      });
    }
    const step = Math.min(POLL_MS, limitMs - waited);
    await deps.sleep(step, ctx.signal);
    waited += step;
  }
  const killed: string[] = [];
  for (let i = 0; i < KILL_TRIES; i++) {
    const r = await host.exec(["sh", "-c", KILL_MARKED_SCRIPT, "sh", token]);
    if (r.exitCode !== 0) {
      throw new UserError(
        "STEP_STILL_RUNNING",
        `${what} from an earlier, interrupted attempt is still running on ${host.name}, and ending it failed (exit ${r.exitCode}): ${r.stderr.trim()}`,
        {
          nextSteps: [
            `Stop it on ${host.name} by hand (its wrapper's argv has ${MARK_PREFIX}${token}), then re-run.`,
          ],
        },
      );
    }
    killed.push(...r.stdout.split(/\s+/).filter((x) => x !== ""));
    if (!(await markedRunning(host, token))) {
      ctx.emit({
        type: "log",
        level: "warn",
        message: `${what} from the interrupted attempt was still running on ${host.name} when its time was up (waited ${secs(limitMs)} s); ended it (killed PID${killed.length === 1 ? "" : "s"} ${killed.join(", ") || "none left"})`,
      });
      return;
    }
    await deps.sleep(POLL_MS, ctx.signal);
  }
  throw new UserError(
    "STEP_STILL_RUNNING",
    `${what} from an earlier, interrupted attempt is still running on ${host.name} although it was killed (PIDs ${killed.join(", ")})`,
    {
      nextSteps: [
        `Stop it on ${host.name} by hand (its wrapper's argv has ${MARK_PREFIX}${token}), then re-run.`,
      ],
    },
  );
}

function secs(ms: number): number {
  return Math.round(ms / 1000);
}
