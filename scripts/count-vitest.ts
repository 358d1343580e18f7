// Prints "passed failed skipped" from vitest's JSON report, for .ci/run's closing line.
import { readFileSync } from "node:fs";

interface VitestJson {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: { status: string; assertionResults: unknown[] }[];
}

try {
  const r = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as VitestJson;
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that failed to load counts as a failure even though it reports no tests.
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === "failed" && f.assertionResults.length === 0,
  ).length;
  console.log(`${r.numPassedTests ?? 0} ${(r.numFailedTests ?? 0) + brokenFiles} ${skipped}`);
} catch {
  console.log("0 1 0");
}
