// Prints "passed failed skipped" from vitest's JSON report (for .ci/run's closing line).
import { readFileSync } from "node:fs";

try {
  const r = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that failed to load counts as a failure even though it has no tests.
  const brokenSuites = (r.testResults ?? []).filter(
    (f) => f.status === "failed" && f.assertionResults.length === 0,
  ).length;
  console.log(`${r.numPassedTests ?? 0} ${(r.numFailedTests ?? 0) + brokenSuites} ${skipped}`);
} catch {
  console.log("0 1 0");
}
