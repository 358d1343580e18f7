/**
 * `lab up`: preflight, caches (built with progress if needed), network, hosts with sshd, each kind's start.sh,
 * the scenario, the answer file. Everything created is recorded in state.json before it is created; if `up` fails
 * half-way it tears down what it made (set HANDOVER_LAB_KEEP_FAILED=1 to keep it for inspection).
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { servicesOn, labAnswers, writeAnswers } from "./answers.js";
import { ensureCaches } from "./caches.js";
import { down } from "./down.js";
import { startHost, prepareNsDir } from "./host-ns.js";
import { runStartScript, startSshd } from "./host-services.js";
import { generateKeys, writeKnownHosts } from "./keys.js";
import { mirrorSummary, serveMirror } from "./mirror.js";
import { createBridges, createHostNetwork, createJump } from "./network.js";
import { KEYS_DIR, NEW_MYSQL_PASS_FILE, OLD_MYSQL_PASS_FILE, STATE_DIR } from "./paths.js";
import { labEnv, labHosts, type LabHost, type RootfsKind } from "./plan.js";
import { preflight } from "./preflight.js";
import { phase, say } from "./progress.js";
import type { Rootfs } from "./rootfs-cache.js";
import { applyScenarioSql, resolveScenario, scenarioFiles } from "./scenario.js";
import { emptyState, readState, saveState, type HostRecord, type LabState } from "./state.js";

export interface UpOptions {
  readonly computes?: number;
  readonly scenario?: string;
  /** Re-create a lab that is already up. */
  readonly force?: boolean;
}

export class AlreadyUpError extends Error {}

export async function up(opts: UpOptions = {}): Promise<string> {
  const computes = opts.computes ?? 1;
  const hosts = labHosts(computes);
  const scenario = resolveScenario(opts.scenario);
  const existing = readState();
  if (existing) {
    if (!opts.force) {
      throw new AlreadyUpError(
        `a lab is already ${existing.phase === "up" ? "up" : "half-up"} (since ${existing.createdAt}); ` +
          "use `--force` to re-create it or `npm run lab -- down` first",
      );
    }
    await phase("down (re-creating the lab)", async () => {
      const problems = await down();
      if (problems.length) throw new Error(`could not bring the old lab down:\n  ${problems.join("\n  ")}`);
    });
  }
  await phase("preflight", () => preflight());
  const t0 = Date.now();
  const { lowers, mirror } = await ensureCaches(computes);
  say(`caches ready (${((Date.now() - t0) / 1000).toFixed(1)} s); mirror: ${mirrorSummary(mirror)}`);

  const state = emptyState(computes, scenario);
  state.dirs.push(STATE_DIR);
  saveState(state);
  try {
    await bringUp(state, hosts, lowers, mirror, scenario);
  } catch (err) {
    if (process.env.HANDOVER_LAB_KEEP_FAILED === "1") {
      say("up failed; HANDOVER_LAB_KEEP_FAILED=1: leaving what was made (`npm run lab -- down` removes it)");
    } else {
      say("up failed; removing what was made");
      const problems = await down();
      for (const p of problems) say(`  down: ${p}`);
    }
    throw err;
  }
  return join(STATE_DIR, "answers.yaml");
}

async function bringUp(
  state: LabState,
  hosts: readonly LabHost[],
  lowers: Record<RootfsKind, Rootfs>,
  mirror: string,
  scenario: string,
): Promise<void> {
  await phase("keys and network", () => {
    mkdirSync(KEYS_DIR, { recursive: true, mode: 0o700 });
    generateKeys(hosts);
    writeKnownHosts(hosts);
    createBridges(state);
    for (const h of hosts) createHostNetwork(state, h);
    createJump(state, hosts);
  });
  await phase("package mirror on the jump", () => serveMirror(state, mirror));
  prepareNsDir(state);
  const records = new Map<string, HostRecord>();
  await phase(`hosts (${hosts.map((h) => h.name).join(", ")}): namespaces and sshd`, async () => {
    for (const h of hosts) {
      const rec = await startHost(
        state,
        h,
        hosts,
        lowers[h.kind].layers.join(":"),
        scenarioFiles(scenario, h.name),
      );
      records.set(h.name, rec);
    }
    await Promise.all(hosts.map((h) => startSshd(records.get(h.name)!, h)));
  });

  const oldPass = join(lowers.old.dir, "mysql-root.pass");
  if (existsSync(oldPass)) copyFileSync(oldPass, OLD_MYSQL_PASS_FILE);
  else writeFileSync(OLD_MYSQL_PASS_FILE, "", { mode: 0o600 });
  writeFileSync(NEW_MYSQL_PASS_FILE, randomBytes(18).toString("base64url"), { mode: 0o600 });
  const oldPassword = readFileSync(OLD_MYSQL_PASS_FILE, "utf8");

  await phase("start.sh on each host", async () => {
    // No password here: daemons started by start.sh would inherit it in their environment (old's build.sh left
    // /root/.my.cnf for local clients).
    const env = labEnv(hosts.filter((h) => h.kind === "compute").length);
    const ran = await Promise.all(
      hosts.map(async (h) => ((await runStartScript(records.get(h.name)!, h, env)) ? h.name : undefined)),
    );
    const names = ran.filter(Boolean);
    say(names.length ? `  start.sh ran on: ${names.join(", ")}` : "  no start.sh yet for any kind (skipped)");
  });
  await phase(`scenario ${scenario}`, () => {
    applyScenarioSql(scenario, records.get("old")!, oldPassword);
  });
  const answers = writeAnswers(
    labAnswers(hosts, servicesOn(lowers.old.layers)),
    join(scenario, "answers.yaml"),
  );
  state.phase = "up";
  saveState(state);
  say(`lab is up; answer file: ${answers}`);
}
