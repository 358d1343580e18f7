/**
 * Checking a scenario's expectations.yaml against the running lab (format: test/lab/scenarios/README.md).
 * Returns the failures as sentences; an empty list means every expectation holds.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { execIn, findHost } from "./enter.js";
import { ANSWERS_FILE, OLD_MYSQL_PASS_FILE } from "./paths.js";
import { queryOld } from "./scenario.js";

interface Expectations {
  answers?: Record<string, unknown>;
  files?: { host: string; path: string; contains?: string }[];
  sql?: { database: string; query: string; equals: string }[];
}

function at(doc: unknown, dotted: string): unknown {
  return dotted
    .split(".")
    .reduce<unknown>(
      (v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
      doc,
    );
}

export function checkExpectations(scenario: string, file = "expectations.yaml"): string[] {
  const path = join(scenario, file);
  if (!existsSync(path)) return [];
  const exp = (parse(readFileSync(path, "utf8")) ?? {}) as Expectations;
  const failures: string[] = [];
  const answers: unknown = parse(readFileSync(ANSWERS_FILE, "utf8"));
  for (const [key, want] of Object.entries(exp.answers ?? {})) {
    const got = at(answers, key);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      failures.push(`answers ${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    }
  }
  for (const f of exp.files ?? []) {
    const res = execIn(findHost(f.host), ["cat", f.path]);
    if (res.code !== 0) failures.push(`${f.host}:${f.path}: cannot read (${res.stderr.trim()})`);
    else if (f.contains !== undefined && !res.stdout.includes(f.contains)) {
      failures.push(`${f.host}:${f.path}: does not contain ${JSON.stringify(f.contains)}`);
    }
  }
  if ((exp.sql ?? []).length > 0) {
    const old = findHost("old");
    const password = readFileSync(OLD_MYSQL_PASS_FILE, "utf8");
    for (const q of exp.sql ?? []) {
      const res = queryOld(old, password, q.database, q.query);
      if (res.code !== 0) failures.push(`sql ${q.database}: ${q.query}: failed: ${res.stderr.trim()}`);
      else if (res.stdout.trim() !== String(q.equals)) {
        failures.push(
          `sql ${q.database}: ${q.query}: expected ${JSON.stringify(q.equals)}, got ${JSON.stringify(res.stdout.trim())}`,
        );
      }
    }
  }
  return failures;
}
