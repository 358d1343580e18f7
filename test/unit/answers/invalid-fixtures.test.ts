/**
 * Every file in test/fixtures/answers/invalid/ is a realistic answer file with one mistake. Its header says
 * which field path the error must name and a fragment of the message; the line that must be reported carries
 * the comment `# <-- error`. The expectations live in the fixtures, not in the code under test.
 */
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../../src/answers/diagnostics.js";
import { parseAnswersFile } from "../../../src/answers/load.js";

const dir = fileURLToPath(new URL("../../fixtures/answers/invalid/", import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

interface Expectation {
  readonly path: string;
  readonly message: string;
  readonly errors: number | undefined;
  readonly line: number;
}

function expectationOf(text: string, name: string): Expectation {
  const header = (key: string) => new RegExp(`^# ${key}: (.*)$`, "m").exec(text)?.[1];
  const lines = text.split("\n");
  const marked = lines.flatMap((l, i) => (l.includes("# <-- error") ? [i + 1] : []));
  const path = header("expect-path");
  const message = header("expect-message");
  if (marked.length !== 1 || marked[0] === undefined || path === undefined || message === undefined) {
    throw new Error(`${name}: fixture needs one "# <-- error" line and expect-path / expect-message headers`);
  }
  const errors = header("expect-errors");
  return { path, message, errors: errors === undefined ? undefined : Number(errors), line: marked[0] };
}

describe("invalid answer files", () => {
  it("has at least 40 distinct fixtures", () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    const bodies = new Set(files.map((f) => readFileSync(dir + f, "utf8").replace(/^#.*\n/gm, "")));
    expect(bodies.size).toBe(files.length);
  });

  it.each(files)("%s: names the file, line and field", async (name) => {
    const text = readFileSync(dir + name, "utf8");
    const want = expectationOf(text, name);
    const display = `test/fixtures/answers/invalid/${name}`;
    const result = await parseAnswersFile(dir + name, { displayName: display });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.errors.map(formatDiagnostic);
    const hit = messages.find(
      (m) =>
        m.startsWith(`${display}:${want.line}:`) && m.includes(` ${want.path}: `) && m.includes(want.message),
    );
    expect(
      hit,
      `wanted line ${want.line}, ${want.path}, "${want.message}" in:\n${messages.join("\n")}`,
    ).toBeDefined();
    if (want.errors !== undefined)
      expect(messages, "one mistake should give one error").toHaveLength(want.errors);
  });
});
