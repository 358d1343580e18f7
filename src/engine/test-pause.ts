/**
 * TEST HOOK, not an operator feature: pause the engine at a known point of one step, so a crash test can SIGKILL
 * handover there deterministically instead of guessing a time offset (under load a step may finish before a timed
 * kill lands, and the test then proves nothing about that position).
 *
 *   HANDOVER_TEST_PAUSE=<stepId>:<point>     point: `before-run` (step-start journaled, run() not called yet) or
 *                                            `after-run` (run() returned; verify not run, step-done not journaled)
 *   HANDOVER_TEST_PAUSE_FILE=<absolute path> optional marker, written atomically when the pause is reached
 *
 * When the running step matches exactly, the engine journals a note, writes `handover: test pause at <id>:<point>`
 * to stderr, writes the marker, starts no further step, and waits forever (until the test kills it). Unset or
 * empty: nothing happens. Anything else that does not name a step of the plan and a known point exactly is
 * ignored with a warning, so a typo can never pause a real migration.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const TEST_PAUSE_VAR = "HANDOVER_TEST_PAUSE";
export const TEST_PAUSE_FILE_VAR = "HANDOVER_TEST_PAUSE_FILE";

export const PAUSE_POINTS = ["before-run", "after-run"] as const;
export type PausePoint = (typeof PAUSE_POINTS)[number];

export interface TestPause {
  readonly stepId: string;
  readonly point: PausePoint;
  /** Absolute path of the marker file, when asked for. */
  readonly markerFile?: string;
}

export type PauseEnv = Readonly<Record<string, string | undefined>>;

/** The pause the environment asks for, or a warning saying why it is ignored; neither when unset. */
export function parseTestPause(
  env: PauseEnv,
  stepIds: ReadonlySet<string>,
): { pause?: TestPause; warning?: string } {
  const raw = env[TEST_PAUSE_VAR];
  const file = env[TEST_PAUSE_FILE_VAR];
  if (raw === undefined || raw === "") {
    return file ? { warning: `${TEST_PAUSE_FILE_VAR} is set without ${TEST_PAUSE_VAR}; ignored` } : {};
  }
  const ignored = (why: string): { warning: string } => ({
    warning: `${TEST_PAUSE_VAR}=${JSON.stringify(raw.slice(0, 200))} ignored: ${why}`,
  });
  // Step ids contain no colon today, but split at the LAST one so an id with a colon still parses.
  const colon = raw.lastIndexOf(":");
  if (colon <= 0) return ignored(`expected <stepId>:<${PAUSE_POINTS.join("|")}>`);
  const stepId = raw.slice(0, colon);
  const point = raw.slice(colon + 1);
  if (!(PAUSE_POINTS as readonly string[]).includes(point)) {
    return ignored(`the point must be one of ${PAUSE_POINTS.join(", ")}`);
  }
  if (!stepIds.has(stepId)) return ignored(`no step of this plan has the id ${JSON.stringify(stepId)}`);
  if (file !== undefined && file !== "" && !path.isAbsolute(file)) {
    return ignored(`${TEST_PAUSE_FILE_VAR} must be an absolute path`);
  }
  return { pause: { stepId, point: point as PausePoint, ...(file ? { markerFile: file } : {}) } };
}

/** What a pause does to the outside world; injectable so unit tests can observe it without hanging. */
export interface PauseIo {
  stderr(text: string): void;
  /** Write the marker atomically (a reader never sees it half-written). */
  writeMarker(file: string, content: string): void;
  /** Never settles. */
  wait(): Promise<never>;
}

export const nodePauseIo: PauseIo = {
  stderr(text) {
    process.stderr.write(text);
  },
  writeMarker(file, content) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
  },
  wait() {
    // A pending promise alone does not keep node alive (an idle event loop exits): hold a timer until killed.
    return new Promise<never>(() => {
      setInterval(() => undefined, 2 ** 30);
    });
  },
};
