/**
 * Differential test: generated files are read by oslo.config's own ConfigParser (the Python library the services
 * use) and by our parser, and must agree on every value and on which files are broken; files we edit must read
 * back in oslo as we meant. Needs a Python with oslo_config (Debian: `apt-get install python3-oslo.config`);
 * without one the test is skipped, saying so.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  normalizeSection,
  parseIni,
  serializeIni,
  setMulti,
  setOption,
} from "../../../src/config/oslo-ini.js";

const PY_CANDIDATES = ["/usr/bin/python3", "python3"];
const python = PY_CANDIDATES.find(
  (p) => spawnSync(p, ["-c", "import oslo_config.cfg"], { stdio: "ignore" }).status === 0,
);

// Reads each file with oslo's ConfigParser; prints, per file, null when oslo rejects it, else its normalised
// sections {group: {key: [values]}}.
const READER = `
import json, sys
from oslo_config import cfg
out = []
for path in json.load(sys.stdin):
    p = cfg.ConfigParser(path, {})
    norm = {}
    p._add_normalized(norm)
    try:
        p.parse()
        out.append(norm)
    except cfg.ParseError:
        out.append(None)
json.dump(out, sys.stdout)
`;

type Sections = Record<string, Record<string, string[]>>;

const dir = mkdtempSync(join(tmpdir(), "handover-oslo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function osloRead(texts: readonly string[]): (Sections | null)[] {
  const paths = texts.map((t, i) => {
    const p = join(dir, `${i}.conf`);
    writeFileSync(p, t);
    return p;
  });
  const out = execFileSync(python!, ["-c", READER], {
    input: JSON.stringify(paths),
    env: { ...process.env, PYTHONUTF8: "1" },
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out.toString()) as (Sections | null)[];
}

/** Our view in oslo's shape: sections normalised, values per key in order. */
function ours(text: string): Sections | null {
  const d = parseIni(text);
  if (d.problems.length > 0) return null;
  const s: Sections = {};
  for (const b of d.blocks) if (b.name !== null) s[normalizeSection(b.name)] ??= {};
  for (const o of d.options) {
    const sec = (s[normalizeSection(o.section ?? "")] ??= {});
    (sec[o.key] ??= []).push(o.value);
  }
  return s;
}

const ODD = "abcXYZ019 =;#:'\"%@/?&,[]\t.-_\x1c\x85\xa0\uFEFF";
const t = (chars: string, max = 20): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...chars.split("")), maxLength: max });
const line = fc.oneof(
  fc.constant(""),
  t(" \t", 3),
  t(ODD, 25),
  fc
    .tuple(fc.constantFrom("[a]", "[ b ]", "[DEFAULT]", "[A]", "[]", "[x", "[default]"), t(" ", 2))
    .map(([a, b]) => a + b),
  fc.tuple(fc.constantFrom("#", ";"), t(ODD)).map(([a, b]) => a + b),
  fc
    .tuple(fc.constantFrom("k", "key", "a b"), fc.constantFrom("=", " = ", ":", " : "), t(ODD))
    .map(([k, s, v]) => k + s + v),
  fc.tuple(fc.constantFrom("  ", "\t"), t(ODD)).map(([a, b]) => a + b),
);
const file = fc
  .array(fc.tuple(line, fc.constantFrom("\n", "\r\n", "\r")), { maxLength: 25 })
  .map((ls) => ls.map(([l, e]) => l + e).join(""));

describe.skipIf(python === undefined)(
  "our parser agrees with oslo.config's (Python) on generated files",
  () => {
    it("reads the same values and rejects the same files", () => {
      const files = fc.sample(file, { numRuns: 3000, seed: 20261122 });
      const theirs = osloRead(files);
      let accepted = 0;
      files.forEach((f, i) => {
        expect(ours(f), JSON.stringify(f)).toEqual(theirs[i]);
        if (theirs[i] !== null) accepted++;
      });
      // The generator must exercise both outcomes for the comparison to mean anything.
      expect(accepted).toBeGreaterThan(500);
      expect(files.length - accepted).toBeGreaterThan(500);
    });

    it("writes what oslo reads back", () => {
      const value = t(ODD + "  ", 20);
      const cases = fc
        .sample(
          fc.tuple(
            file,
            fc.constantFrom("a", "DEFAULT", "new"),
            fc.constantFrom("k", "key"),
            value,
            fc.array(value, { minLength: 1, maxLength: 3 }),
          ),
          {
            numRuns: 3000,
            seed: 7,
          },
        )
        .filter(([f]) => parseIni(f).problems.length === 0);
      const single = cases.map(([f, s, k, v]) => serializeIni(setOption(parseIni(f), s, k, v)));
      const multi = cases.map(([f, s, k, , vs]) => serializeIni(setMulti(parseIni(f), s, k, vs)));
      const read = osloRead([...single, ...multi]);
      cases.forEach(([, s, k, v, vs], i) => {
        expect(read[i]?.[normalizeSection(s)]?.[k]?.at(-1), single[i]).toBe(v);
        expect(read[cases.length + i]?.[normalizeSection(s)]?.[k], multi[i]).toEqual(vs);
      });
      expect(cases.length).toBeGreaterThan(300);
    });
  },
);

describe.skipIf(python !== undefined)("oslo.config differential test", () => {
  it.skip("skipped: no python3 with oslo_config here (Debian: apt-get install python3-oslo.config)", () => {});
});
