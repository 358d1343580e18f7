/**
 * `npm run demo`: the README's first quick-start command. Brings the lab up (building its caches with visible
 * progress the first time), then runs the most complete handover flow that exists against it, and leaves the lab
 * up for exploring. Later issues extend the flow to the whole migration.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ANSWERS_FILE, REPO_DIR } from "./paths.js";
import { requireRoot } from "./preflight.js";
import { say } from "./progress.js";
import { readState } from "./state.js";
import { up } from "./up.js";

/** The handover commands the demo runs, in order, each only if its command module exists yet. */
const FLOW: { command: string; module: string; why: string }[] = [
  {
    command: "check",
    module: "src/cli/commands/check.ts",
    why: "reach every host, read versions and services",
  },
];

function handover(args: readonly string[]): number {
  say(`$ handover ${args.join(" ")}`);
  const res = spawnSync("npx", ["tsx", join(REPO_DIR, "src/cli/main.ts"), ...args], {
    stdio: "inherit",
    cwd: REPO_DIR,
  });
  return res.status ?? 1;
}

async function main(): Promise<number> {
  requireRoot();
  const state = readState();
  if (state?.phase === "up")
    say("the lab is already up: using it (`npm run lab -- up --force` re-creates it)");
  else await up({ force: state !== undefined });

  let code = 0;
  for (const step of FLOW) {
    if (!existsSync(join(REPO_DIR, step.module))) {
      say(`note: \`handover ${step.command}\` is not written yet (${step.module} missing); skipping it`);
      continue;
    }
    say(`demo: handover ${step.command}: ${step.why}`);
    const c = handover([step.command, "-f", ANSWERS_FILE]);
    say(`demo: handover ${step.command} exited ${c}`);
    if (c !== 0) code = c;
  }

  process.stderr.write(
    [
      "",
      "The lab is still up. Try:",
      "  npm run lab -- status            hosts and addresses",
      "  npm run lab -- shell old         a root shell on the Victoria controller (source /root/openrc)",
      `  npm run handover -- check -f ${ANSWERS_FILE}`,
      "Bring it down (removes every namespace, mount, veth, route and process it made):",
      "  npm run lab -- down",
      "",
    ].join("\n"),
  );
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
