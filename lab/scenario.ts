/**
 * Scenarios (format: test/lab/scenarios/README.md): a directory with
 *   files/<host>/...      copied over that host's rootfs before it starts
 *   sql/<database>.sql    applied on old with its mysql client, in file-name order, after start.sh (the base seed)
 *   answers.yaml          deep-merged over the generated answer file
 *   expectations.yaml     read by tests (see expectations.ts)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execIn } from "./enter.js";
import { REPO_DIR } from "./paths.js";
import { say } from "./progress.js";
import type { HostRecord } from "./state.js";

export const DEFAULT_SCENARIO = join(REPO_DIR, "test/lab/scenarios/basic");

export function resolveScenario(dir: string | undefined): string {
  const full = resolve(dir ?? DEFAULT_SCENARIO);
  if (!existsSync(full)) throw new Error(`scenario directory ${full} does not exist`);
  return full;
}

export function scenarioFiles(scenario: string, host: string): string | undefined {
  const dir = join(scenario, "files", host);
  return existsSync(dir) ? dir : undefined;
}

export function scenarioSql(scenario: string): { database: string; file: string }[] {
  const dir = join(scenario, "sql");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => ({ database: f.replace(/\.sql$/, "").replace(/^\d+[-_]/, ""), file: join(dir, f) }));
}

/**
 * Apply the scenario's SQL on old. The MySQL root password travels in a 0600 defaults file on old's tmpfs /run,
 * removed afterwards (never in argv).
 */
export function applyScenarioSql(scenario: string, old: HostRecord, rootPassword: string): number {
  const items = scenarioSql(scenario);
  if (items.length === 0) return 0;
  if (execIn(old, ["sh", "-c", "command -v mysql"]).code !== 0) {
    say(
      `scenario: old has no mysql client yet (rootfs not seeded?): ${items.length} SQL file(s) NOT applied`,
    );
    return 0;
  }
  const cnf = "/run/handover-lab-scenario.cnf";
  const write = execIn(old, ["sh", "-c", `umask 077; cat > ${cnf}`], {
    input: `[client]\nuser=root\npassword="${rootPassword.replace(/["\\]/g, "\\$&")}"\n`,
  });
  if (write.code !== 0) throw new Error(`scenario: could not write ${cnf} on old: ${write.stderr}`);
  try {
    for (const { database, file } of items) {
      const res = execIn(old, ["mysql", `--defaults-extra-file=${cnf}`, database], {
        input: readFileSync(file, "utf8"),
      });
      if (res.code !== 0)
        throw new Error(`scenario SQL ${file} on database ${database} failed: ${res.stderr.trim()}`);
      say(`scenario: applied ${file.slice(scenario.length + 1)} to ${database}`);
    }
  } finally {
    execIn(old, ["rm", "-f", cnf]);
  }
  return items.length;
}
