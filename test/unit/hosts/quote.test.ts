import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quoteArg, quoteArgv } from "../../../src/hosts/quote.js";

/** Have a real /bin/sh parse the quoted command and print each argument back, NUL-terminated. */
function roundTrip(args: readonly string[]): string[] {
  const script = `printf '%s\\0' ${quoteArgv(args)}`;
  const r = spawnSync("/bin/sh", ["-c", script], { encoding: "buffer" });
  expect(r.status).toBe(0);
  const parts = r.stdout.toString("latin1").split("\0");
  parts.pop();
  return parts;
}

// Bytes 1..255 as JS chars (latin1): NUL cannot be in an argv at all (C strings), every other byte can.
const nasty = fc.constantFrom(
  "",
  "'",
  "''",
  "\\'",
  "$HOME",
  "`id`",
  "$(id)",
  "-n",
  "--",
  "a\nb",
  "*",
  "~",
  "!",
  "\\",
  '"',
  "%s",
);
const arg = fc.oneof(nasty, fc.string());

describe("quoteArgv", () => {
  it("fixed examples", () => {
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArgv(["a", ""])).toBe(`'a' ''`);
    expect(roundTrip(["", "-e", "it's", "$x", "`y`", "a\nb"])).toEqual([
      "",
      "-e",
      "it's",
      "$x",
      "`y`",
      "a\nb",
    ]);
  });

  it("any byte string (1..255, including non-UTF-8 sequences) survives a real sh round trip", () => {
    const bytes = fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 40 }).map((c) => Buffer.from(c));
    const nastyBytes = nasty.map((s) => Buffer.from(s, "utf8"));
    fc.assert(
      fc.property(fc.array(fc.oneof(bytes, nastyBytes), { minLength: 1, maxLength: 6 }), (sent) => {
        const back = roundTripBytes(sent);
        expect(back.map((b) => b.toString("hex"))).toEqual(sent.map((b) => b.toString("hex")));
      }),
      { numRuns: 300 },
    );
  });

  it("any JS string survives /bin/sh -c (UTF-8 on the wire, as ssh2 sends it)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(arg, fc.string({ unit: "grapheme" })), { minLength: 1, maxLength: 6 }),
        (args) => {
          const clean = args
            .map((a) => a.replaceAll("\0", ""))
            .map((a) => a.replaceAll(String.fromCharCode(0), ""));
          expect(roundTrip(clean)).toEqual(clean.map((a) => Buffer.from(a, "utf8").toString("latin1")));
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Byte-exact round trip: the script is built from raw bytes so non-UTF-8 sequences reach sh unchanged. */
function roundTripBytes(args: readonly Buffer[]): Buffer[] {
  const quoted = args.map((b) => Buffer.concat([Buffer.from("'"), quoteBytesInner(b), Buffer.from("'")]));
  const script = Buffer.concat([
    Buffer.from("printf '%s\\0'"),
    ...quoted.flatMap((q) => [Buffer.from(" "), q]),
  ]);
  // spawn's argv must be strings; pass the script on stdin instead so its bytes are exact.
  const r = spawnSync("/bin/sh", ["-s"], { input: script, encoding: "buffer" });
  expect(r.status).toBe(0);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < r.stdout.length; i++) {
    if (r.stdout[i] === 0) {
      out.push(r.stdout.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** The inside of quoteArg applied to bytes (single quote is 0x27 in every ASCII-compatible encoding). */
function quoteBytesInner(b: Buffer): Buffer {
  const s = quoteArg(b.toString("latin1"));
  return Buffer.from(s.slice(1, -1), "latin1");
}
