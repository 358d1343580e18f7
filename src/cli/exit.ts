import type { Command } from "commander";

/** Record a command's exit code (see run-cli.ts): actions call this instead of process.exit. */
export function setExitCode(command: Command, code: number): void {
  (command as unknown as { exitCodeResult?: number }).exitCodeResult = code;
}
