/**
 * `npm run demo`: the README's first quick-start command. Brings the lab up (building its caches with visible
 * progress the first time), then `handover check`, the whole migration with the address switch
 * (`handover run --yes --plain`), and `handover report` as one HTML file; prints where the report and the journal
 * are, and leaves the lab up for exploring (and for `handover rollback`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { ANSWERS_FILE, REPO_DIR } from "./paths.js";
import { requireRoot } from "./preflight.js";
import { say } from "./progress.js";
import { readState } from "./state.js";
import { up } from "./up.js";

/**
 * The demo's answer file: the lab's (switch: auto), with its own state dir. Mode 0600 like the original (it names
 * the password files).
 */
const DEMO_ANSWERS = "/run/handover-lab/demo-answers.yaml";
const DEMO_STATE_DIR = "/run/handover-lab/demo";
const DEMO_REPORT = `${DEMO_STATE_DIR}/report.html`;

function writeDemoAnswers(): void {
  const doc = YAML.parse(readFileSync(ANSWERS_FILE, "utf8")) as Record<string, unknown>;
  doc.state_dir = DEMO_STATE_DIR;
  doc.options = { ...(doc.options as Record<string, unknown>), switch: "auto" };
  writeFileSync(DEMO_ANSWERS, YAML.stringify(doc), { mode: 0o600 });
}

/** The handover commands the demo runs, in order, each only if its command module exists yet. */
const FLOW: { args: string[]; module: string; why: string }[] = [
  {
    args: ["check", "-f", DEMO_ANSWERS],
    module: "src/cli/commands/check.ts",
    why: "reach every host, read versions and services",
  },
  {
    args: ["run", "-f", DEMO_ANSWERS, "--yes", "--plain"],
    module: "src/cli/commands/run.ts",
    why: "migrate Victoria to Zed on the new controller, then move the addresses to it (a compute pings through the switch)",
  },
  {
    args: ["report", "-f", DEMO_ANSWERS, "--format", "html", "-o", DEMO_REPORT],
    module: "src/cli/commands/report.ts",
    why: "render the journal as one self-contained HTML report",
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
  // Always from the seeded snapshot: an earlier demo or test may have migrated (or rolled back) this lab, and
  // re-creating it from the cached rootfs takes seconds.
  if (state?.phase === "up") say("the lab is up: re-creating it from the seeded snapshot for a clean demo");
  await up({ force: state !== undefined });
  rmSync(DEMO_STATE_DIR, { recursive: true, force: true });

  writeDemoAnswers();
  let code = 0;
  for (const step of FLOW) {
    const command = step.args[0] ?? "";
    if (!existsSync(join(REPO_DIR, step.module))) {
      say(`note: \`handover ${command}\` is not written yet (${step.module} missing); skipping it`);
      continue;
    }
    say(`demo: handover ${command}: ${step.why}`);
    const c = handover(step.args);
    say(`demo: handover ${command} exited ${c}`);
    if (c !== 0) {
      code = c;
      break; // a failed check or run: what follows would only repeat the failure
    }
  }

  process.stderr.write(
    [
      "",
      "The lab is still up. Try:",
      "  npm run lab -- status            hosts and addresses",
      "  npm run lab -- shell old         a root shell on the Victoria controller (source /root/openrc)",
      "  npm run lab -- shell new         the migrated Zed controller",
      `Report (open it in a browser): ${DEMO_REPORT}`,
      `Journal of the migration: ${DEMO_STATE_DIR}/journal.jsonl (answer file ${DEMO_ANSWERS})`,
      `  npm run handover -- status -f ${DEMO_ANSWERS}     what ran, step by step`,
      `  npm run handover -- rollback -f ${DEMO_ANSWERS}   switch back and undo it (old serves again)`,
      "  npm run lab -- reset             back to the seeded lab, to run the demo again",
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
