/**
 * Builds the commander program. Each command lives in src/cli/commands/<name>.ts and exports
 * `register(program, io)`; actions return an exit code (or throw, and main renders the error once).
 */
import { Command } from "commander";
import type { CliIo } from "./io.js";

export type Register = (program: Command, io: CliIo) => void;

const registrations: Register[] = [];

/** Called once per command module (see commands/index.ts). */
export function addCommand(register: Register): void {
  registrations.push(register);
}

export function buildProgram(io: CliIo): Command {
  const program = new Command("handover")
    .description("Upgrade an OpenStack cloud by replacing its controller.")
    .option("--debug", "show stack traces and internal detail on errors")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  for (const register of registrations) register(program, io);
  return program;
}
