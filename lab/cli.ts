/**
 * `npm run lab -- <command>`: up | reset | down | status | shell HOST | exec HOST -- CMD... | answers | build | prune.
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 not root / preflight refused.
 */
import { existsSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { withBuildLock } from "./build-lock.js";
import { ensureCaches, pruneCaches } from "./caches.js";
import { down } from "./down.js";
import { findHost, spawnIn } from "./enter.js";
import { tcpOpen } from "./host-services.js";
import { ANSWERS_FILE } from "./paths.js";
import { labHosts, sshAddress } from "./plan.js";
import { PreflightError, requireRoot } from "./preflight.js";
import { isAlive, readState } from "./state.js";
import { up } from "./up.js";

function computesOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number from 1");
  return n;
}

async function status(): Promise<void> {
  const state = readState();
  if (!state) {
    process.stdout.write("lab: down\n");
    return;
  }
  process.stdout.write(`lab: ${state.phase} since ${state.createdAt} (scenario ${state.scenario ?? "-"})\n`);
  for (const h of labHosts(state.computes)) {
    const rec = state.hosts.find((r) => r.name === h.name);
    const pid1 = state.pids.find((p) => p.pid === rec?.initPid);
    const alive = pid1 ? isAlive(pid1) : false;
    const ssh = alive ? await tcpOpen(sshAddress(h), 22) : false;
    process.stdout.write(
      `  ${h.name.padEnd(10)} ${alive ? "running" : "STOPPED"}  ssh ${sshAddress(h)}:22 ${ssh ? "open" : "closed"}  ` +
        `mgmt ${h.mgmt.join(",")} storage ${h.storage.join(",")}\n`,
    );
  }
  const mirror = state.pids.find((p) => p.what === "mirror http.server");
  process.stdout.write(`  mirror     ${mirror && isAlive(mirror) ? "serving" : "STOPPED"}\n`);
  if (existsSync(ANSWERS_FILE)) process.stdout.write(`  answers    ${ANSWERS_FILE}\n`);
}

export function labProgram(setCode: (code: number) => void): Command {
  const program = new Command("lab").description(
    "the handover lab: Victoria controller, bare Zed target, computes",
  );
  program
    .command("up")
    .description("bring the lab up (building caches if needed) and print the answer file's path")
    .option("--scenario <dir>", "scenario directory (default test/lab/scenarios/basic)")
    .option("--computes <n>", "number of compute hosts", computesOption, 1)
    .option("--force", "re-create the lab if it is already up")
    .action(async (o: { scenario?: string; computes: number; force?: boolean }) => {
      requireRoot();
      const answers = await up({ computes: o.computes, scenario: o.scenario, force: o.force });
      process.stdout.write(`${answers}\n`);
    });
  program
    .command("reset")
    .description("back to the freshly seeded state: re-create the running lab with its computes and scenario")
    .action(async () => {
      requireRoot();
      const state = readState();
      if (!state) throw new Error("the lab is not up (run `npm run lab -- up`)");
      const answers = await up({ computes: state.computes, scenario: state.scenario, force: true });
      process.stdout.write(`${answers}\n`);
    });
  program
    .command("down")
    .description("remove every namespace, mount, veth, route and process the lab made")
    .action(async () => {
      requireRoot();
      const problems = await down();
      for (const p of problems) process.stderr.write(`lab down: ${p}\n`);
      setCode(problems.length ? 1 : 0);
    });
  program
    .command("status")
    .description("show the lab's hosts")
    .action(async () => {
      await status();
    });
  program
    .command("build")
    .description("build the rootfs caches and the Zed mirror without starting anything")
    .option("--computes <n>", "number of compute hosts the old controller is seeded for", computesOption, 1)
    .action(async (o: { computes: number }) => {
      requireRoot();
      await ensureCaches(o.computes);
    });
  program
    .command("prune")
    .description("remove cache entries the current lab inputs no longer use")
    .option("--computes <n>", "keep old's rootfs seeded for this many computes", computesOption, 1)
    .action(async (o: { computes: number }) => {
      requireRoot();
      const inUse = (readState()?.hosts ?? []).flatMap((h) => h.lower.split(":"));
      const removed = await withBuildLock(() => Promise.resolve(pruneCaches(o.computes, inUse)));
      for (const r of removed) process.stdout.write(`removed ${r}\n`);
      if (removed.length === 0) process.stdout.write("nothing to prune\n");
    });
  program
    .command("answers")
    .description("print the path of the running lab's answer file")
    .action(() => {
      if (!existsSync(ANSWERS_FILE)) {
        process.stderr.write("lab: no answer file (is the lab up? `npm run lab -- up`)\n");
        setCode(1);
        return;
      }
      process.stdout.write(`${ANSWERS_FILE}\n`);
    });
  program
    .command("shell")
    .argument("<host>", "old, new, compute1, ...")
    .description("interactive root shell inside a host")
    .action(async (name: string) => {
      requireRoot();
      setCode(await spawnIn(findHost(name), ["/bin/bash", "-l"], "inherit"));
    });
  program
    .command("exec")
    .argument("<host>")
    .argument("<cmd...>", "command and arguments (after --)")
    .description("run a command inside a host")
    .action(async (name: string, cmd: string[]) => {
      requireRoot();
      setCode(await spawnIn(findHost(name), cmd, "inherit"));
    });
  return program;
}

async function main(): Promise<void> {
  let code = 0;
  try {
    await labProgram((c) => (code = c)).parseAsync(process.argv);
  } catch (err) {
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    code = err instanceof PreflightError ? 3 : 1;
  }
  process.exitCode = code;
}

await main();
