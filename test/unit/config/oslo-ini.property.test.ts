/**
 * Property tests for the INI editor: generated files mixing sections (repeated, odd case), comments, commented
 * defaults, keys with odd values, continuation lines, stray lines oslo would reject, blank lines, CRLF, LF and
 * lone CR endings, and files without a final newline.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  getValue,
  getValues,
  parseIni,
  removeOption,
  serializeIni,
  setMulti,
  setOption,
} from "../../../src/config/oslo-ini.js";

const SECTIONS = ["DEFAULT", "database", "Database", "keystone_authtoken", "api_database", "x"];
const KEYS = ["connection", "transport_url", "k", "auth_url", "enabled_filters"];

const text = (chars: string, maxLength = 20): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...chars.split("")), maxLength });

// Values deliberately full of the characters that break naive INI handling (including whitespace on which
// Python and JavaScript disagree: U+001C and U+0085 are Python whitespace, U+FEFF is only JavaScript's).
const ODD = "abcXYZ019 =;#:'\"%@/?&,[]\t.-_\x1c\x85\xa0\uFEFF";
const valueArb = fc.oneof(
  text(ODD),
  fc.constantFrom(
    "mysql+pymysql://nova:p%40ss;w#rd@10.0.0.1/nova?charset=utf8",
    "rabbit://u:p@h1:5672,u:p@h2:5672/",
    "<None>",
    '"quoted"',
    "",
  ),
);

const lineArb: fc.Arbitrary<string> = fc.oneof(
  fc.constant(""),
  text(" \t", 3),
  fc.tuple(fc.constantFrom("#", ";", "# "), text(ODD)).map(([c, t]) => c + t),
  fc
    .tuple(fc.constantFrom("#", "# "), fc.constantFrom(...KEYS), fc.constantFrom(" = ", "=", ": "), valueArb)
    .map(([c, k, s, v]) => `${c}${k}${s}${v}`),
  fc.tuple(fc.constantFrom(...SECTIONS), fc.constantFrom("", " ")).map(([s, pad]) => `[${pad}${s}${pad}]`),
  fc
    .tuple(fc.constantFrom(...KEYS), fc.constantFrom(" = ", "=", " =", ": ", " : "), valueArb, text(" \t", 2))
    .map(([k, s, v, trail]) => `${k}${s}${v}${trail}`),
  fc.tuple(fc.constantFrom("  ", "\t", "    "), text(ODD)).map(([i, t]) => i + t), // continuation or stray
  text(ODD, 30), // anything at all
);

const eolArb = fc.constantFrom("\n", "\n", "\n", "\r\n", "\r");

/** A whole file: lines with their endings; the last line may lack one. */
const fileArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.tuple(lineArb, eolArb), { maxLength: 40 }), fc.boolean())
  .map(([lines, finalNewline]) => {
    const out = lines.map(([l, e]) => l + e).join("");
    return finalNewline || lines.length === 0 ? out : out.replace(/(\r\n|\n|\r)$/, "");
  });

// Values setOption must be able to write and read back exactly (no line breaks: those are a separate rule).
const settableArb = fc.oneof(text(ODD + "  ", 25), fc.constantFrom(" x", "x ", "'", '"', '"a"', "'b'", ""));

const keyArb = fc.constantFrom(...KEYS);
const sectionArb = fc.constantFrom(...SECTIONS, "new_section");

/** Line texts without their endings, so an ending added to a former last line does not count as a change. */
const texts = (s: string): string[] => parseIni(s).lines.map((l) => l.text);

/** The lines that differ: [start, endBefore) in the old lines and [start, endAfter) in the new. */
function changedRange(a: string[], b: string[]): { start: number; endA: number; endB: number } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return { start, endA, endB };
}

/** Line indices that belong to an active occurrence of section/key. */
function linesOf(text: string, section: string, key: string): Set<number> {
  const d = parseIni(text);
  const set = new Set<number>();
  const norm = (s: string): string => (s === "DEFAULT" ? s : s.toLowerCase());
  for (const o of d.options) {
    if (o.key === key && o.section !== null && norm(o.section) === norm(section)) {
      for (let i = o.first; i <= o.last; i++) set.add(i);
    }
  }
  return set;
}

describe("oslo INI editor properties", () => {
  it("gives back any file byte for byte when nothing is edited", () => {
    fc.assert(
      fc.property(fileArb, (f) => {
        expect(serializeIni(parseIni(f))).toBe(f);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads back what setOption wrote, before and after a round trip through text", () => {
    fc.assert(
      fc.property(fileArb, sectionArb, keyArb, settableArb, (f, section, key, value) => {
        const edited = setOption(parseIni(f), section, key, value);
        expect(getValue(edited, section, key)).toBe(value);
        expect(getValue(parseIni(serializeIni(edited)), section, key)).toBe(value);
      }),
      { numRuns: 1500 },
    );
  });

  it("changes only the lines of the key it sets", () => {
    fc.assert(
      fc.property(fileArb, sectionArb, keyArb, settableArb, (f, section, key, value) => {
        const out = serializeIni(setOption(parseIni(f), section, key, value));
        const a = texts(f);
        const b = texts(out);
        const { start, endA, endB } = changedRange(a, b);
        const oldKeyLines = linesOf(f, section, key);
        for (let i = start; i < endA; i++)
          expect(oldKeyLines.has(i), `removed line ${i}: ${a[i]}`).toBe(true);
        const newKeyLines = linesOf(out, section, key);
        const sectionAdded = !parseIni(f).blocks.some(
          (bl) =>
            bl.name !== null &&
            (bl.name === section ||
              (section !== "DEFAULT" && bl.name.toLowerCase() === section.toLowerCase())),
        );
        for (let i = start; i < endB; i++) {
          const isOwn = newKeyLines.has(i);
          const isNewHeader = sectionAdded && (b[i] === `[${section}]` || b[i] === "");
          expect(isOwn || isNewHeader, `added line ${i}: ${b[i]}`).toBe(true);
        }
        // Every other option keeps its value.
        const before = parseIni(f).options.filter((o) => !(o.key === key && oldKeyLines.has(o.first)));
        const after = parseIni(out).options.filter((o) => !newKeyLines.has(o.first));
        expect(after.map((o) => [o.section, o.key, o.value])).toEqual(
          before.map((o) => [o.section, o.key, o.value]),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it("setMulti then getValues returns exactly the values; removeOption leaves none", () => {
    fc.assert(
      fc.property(
        fileArb,
        sectionArb,
        keyArb,
        fc.array(settableArb, { maxLength: 4 }),
        (f, section, key, values) => {
          const out = parseIni(serializeIni(setMulti(parseIni(f), section, key, values)));
          expect(getValues(out, section, key)).toEqual(values);
          expect(getValues(removeOption(out, section, key), section, key)).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
