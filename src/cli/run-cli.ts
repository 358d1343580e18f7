import { CommanderError } from "commander";
import "./commands/index.js";
import type { CliIo } from "./io.js";
import { buildProgram } from "./program.js";
import { exitCodeFor, renderError } from "./render-error.js";

/** Runs handover with argv (without node and script), returning the exit code. Used by main and by tests. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  let code = 0;
  // Commands set their exit code through this hook rather than process.exit, so tests can run them in-process.
  program.hook("postAction", (_this, action) => {
    const c = (action as unknown as { exitCodeResult?: number }).exitCodeResult;
    if (typeof c === "number") code = c;
  });
  // `handover` alone: the wizard on a terminal; without one, the help (exit 2) and where to go instead.
  const bare = argv.every((a) => a === "--debug");
  if (bare && !io.isTTY) {
    io.stderr("No command given. Without a terminal use an answer file: handover run -f answers.yaml\n");
  }
  try {
    await program.parseAsync(bare && io.isTTY ? [...argv, "wizard"] : [...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    io.stderr(renderError(e, argv.includes("--debug")));
    return exitCodeFor(e);
  }
}
