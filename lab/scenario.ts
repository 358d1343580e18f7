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
import { unseeded } from "./rootfs-cache.js";
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

const CNF = "/run/handover-lab-mysql.cnf";

/**
 * Run `fn` with a MySQL root defaults file on old: the password travels in a 0600 file on old's tmpfs /run
 * (written through stdin), removed afterwards; never in an argv.
 */
function withRootCnf<T>(old: HostRecord, password: string, fn: () => T): T {
  const write = execIn(old, ["sh", "-c", `umask 077; cat > ${CNF}`], {
    input: `[client]\nuser=root\npassword="${password.replace(/["\\]/g, "\\$&")}"\n`,
  });
  if (write.code !== 0) throw new Error(`could not write ${CNF} on old: ${write.stderr}`);
  try {
    return fn();
  } finally {
    execIn(old, ["rm", "-f", CNF]);
  }
}

function mysqlArgs(password: string): string[] {
  // An empty password (rootfs not seeded with one) means socket authentication as root.
  return password ? ["mysql", `--defaults-extra-file=${CNF}`] : ["mysql"];
}

/** One query on old as MySQL root; stdout is mysql -N -B output. */
export function queryOld(
  old: HostRecord,
  password: string,
  database: string,
  query: string,
): { code: number; stdout: string; stderr: string } {
  return withRootCnf(old, password, () =>
    execIn(old, [...mysqlArgs(password), "-N", "-B", database], { input: query }),
  );
}

/** Apply the scenario's SQL on old (after its start.sh); returns how many files were applied. */
export function applyScenarioSql(scenario: string, old: HostRecord, rootPassword: string): number {
  const items = scenarioSql(scenario);
  if (items.length === 0) return 0;
  if (unseeded("old") || execIn(old, ["sh", "-c", "command -v mysql"]).code !== 0) {
    say(`scenario: old is not seeded (no MariaDB to seed): ${items.length} SQL file(s) NOT applied`);
    return 0;
  }
  withRootCnf(old, rootPassword, () => {
    for (const { database, file } of items) {
      const res = execIn(old, [...mysqlArgs(rootPassword), database], { input: readFileSync(file, "utf8") });
      if (res.code !== 0)
        throw new Error(`scenario SQL ${file} on database ${database} failed: ${res.stderr.trim()}`);
      say(`scenario: applied ${file.slice(scenario.length + 1)} to ${database}`);
    }
  });
  return items.length;
}
