import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  commentOutOption,
  getValue,
  getValues,
  parseIni,
  removeOption,
  sectionNames,
  serializeIni,
  setMulti,
  setOption,
} from "../../../src/config/oslo-ini.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/config/${name}`, import.meta.url), "utf8");

/** Applies an edit and returns the new text. */
const edit = (text: string, f: (d: ReturnType<typeof parseIni>) => ReturnType<typeof parseIni>): string =>
  serializeIni(f(parseIni(text)));

describe("parseIni reads what oslo.config reads", () => {
  it("keeps values with =, ;, # and spaces whole (oslo has no inline comments)", () => {
    const d = parseIni("[a]\nx = a=b ; c # d  \ny=  spaced value\t\n");
    expect(getValue(d, "a", "x")).toBe("a=b ; c # d");
    expect(getValue(d, "a", "y")).toBe("spaced value");
  });

  it("splits on the first of = and :", () => {
    const d = parseIni("[a]\nurl: http://h:5000/v3\nk = v:w\n");
    expect(getValue(d, "a", "url")).toBe("http://h:5000/v3");
    expect(getValue(d, "a", "k")).toBe("v:w");
  });

  it("removes one pair of matching quotes", () => {
    const d = parseIni(`[a]\nq = "[instance: %(uuid)s] "\nr = 'x"\ns = ''x''\n`);
    expect(getValue(d, "a", "q")).toBe("[instance: %(uuid)s] ");
    expect(getValue(d, "a", "r")).toBe(`'x"`);
    expect(getValue(d, "a", "s")).toBe("'x'");
  });

  it("joins continuation lines and ends them at a blank line or comment", () => {
    const d = parseIni("[a]\nk = one\n  two\n\tthree\n\n  orphan\nm = x\n# c\n  orphan2\n");
    expect(getValue(d, "a", "k")).toBe("one\ntwo\nthree");
    expect(getValue(d, "a", "m")).toBe("x");
    expect(d.problems.map((p) => p.line)).toEqual([5, 8]);
  });

  it("returns every value of a repeated key and merges repeated sections", () => {
    const d = parseIni("[DEFAULT]\nd = 1\n[filters]\nf = a\nf = b\n[other]\nf = z\n[FILTERS]\nf = c\n");
    expect(getValues(d, "filters", "f")).toEqual(["a", "b", "c"]);
    expect(getValue(d, "filters", "f")).toBe("c");
    expect(sectionNames(d)).toEqual(["DEFAULT", "filters", "other"]);
    // DEFAULT is the one group name oslo does not lower-case.
    expect(getValues(d, "default", "d")).toEqual([]);
  });

  it("does not strip section names, as oslo does not", () => {
    const d = parseIni("[ database ]\nconnection = a\n[ ]\nk = v\n");
    expect(getValues(d, "database", "connection")).toEqual([]);
    expect(getValues(d, " database ", "connection")).toEqual(["a"]);
    expect(getValues(d, " ", "k")).toEqual(["v"]);
  });

  it("keeps keys before any section out of every section, and reports them", () => {
    const d = parseIni("orphan = 1\n[DEFAULT]\nx = 2\n");
    expect(getValues(d, "DEFAULT", "orphan")).toEqual([]);
    expect(d.problems).toHaveLength(1);
  });

  it("strips whitespace as Python does, not as JavaScript does", () => {
    const d = parseIni("[a]\nk = v\x1c\nm = \uFEFFv\n");
    expect(getValue(d, "a", "k")).toBe("v");
    expect(getValue(d, "a", "m")).toBe("\uFEFFv");
    for (const v of ["v\x1c", "\x85v", "\uFEFF"]) {
      expect(getValue(parseIni(serializeIni(setOption(parseIni(""), "a", "k", v))), "a", "k")).toBe(v);
    }
  });

  it("reports a byte order mark, which oslo reads as part of the first line", () => {
    const d = parseIni("\uFEFF[DEFAULT]\nk = v\n");
    expect(d.problems.map((p) => p.line)).toEqual([0, 1]);
    expect(getValues(d, "DEFAULT", "k")).toEqual([]);
  });

  it("sees no active connection in Debian's packaged keystone.conf", () => {
    const d = parseIni(fixture("keystone-debian.conf"));
    expect(getValues(d, "database", "connection")).toEqual([]);
    expect(getValue(d, "DEFAULT", "log_dir")).toBe("/var/log/keystone");
    expect(d.problems).toEqual([]);
  });
});

describe("serializeIni", () => {
  it.each([
    "",
    "no newline at end",
    "[a]\r\nk = v\r\n",
    "[a]\nk = v\r\nmixed = yes\rlone-cr = too",
    "\uFEFF[DEFAULT]\nk=v\n\n\n",
    "  indented junk\n[x\n[]\n=\n",
  ])("gives back %j byte for byte", (text) => {
    expect(serializeIni(parseIni(text))).toBe(text);
  });

  it.each([
    "keystone-debian.conf",
    "keystone-upstream-juno-excerpt.conf",
    "nova-controller.conf",
    "cinder-controller.conf",
  ])("gives back the fixture %s byte for byte", (name) => {
    const text = fixture(name);
    expect(serializeIni(parseIni(text))).toBe(text);
  });
});

describe("setOption", () => {
  it("puts the active line right after the commented default (Debian keystone.conf)", () => {
    const before = fixture("keystone-debian.conf");
    const after = edit(before, (d) =>
      setOption(d, "database", "connection", "mysql+pymysql://keystone:pw@db/keystone"),
    );
    const a = after.split("\n");
    const i = a.indexOf("#connection = <None>");
    expect(i).toBeGreaterThan(0);
    expect(a[i + 1]).toBe("connection = mysql+pymysql://keystone:pw@db/keystone");
    // Exactly one line added, nothing else moved.
    expect([...a.slice(0, i + 1), ...a.slice(i + 2)]).toEqual(before.split("\n"));
    expect(getValue(parseIni(after), "database", "connection")).toBe(
      "mysql+pymysql://keystone:pw@db/keystone",
    );
  });

  it("follows the commented default's spacing in old-style generated files", () => {
    const after = edit(fixture("keystone-upstream-juno-excerpt.conf"), (d) =>
      setOption(d, "database", "connection", "sqlite://"),
    );
    expect(after).toContain("#connection=<None>\nconnection=sqlite://\n");
  });

  it("replaces the last active occurrence and keeps its spacing", () => {
    const text = "[a]\nk=1\nother = x\nk=2\n";
    expect(edit(text, (d) => setOption(d, "a", "k", "3"))).toBe("[a]\nk=1\nother = x\nk=3\n");
    expect(edit("[a]\nk :  1\n", (d) => setOption(d, "a", "k", "2"))).toBe("[a]\nk :  2\n");
    expect(edit("[a]\nk =\n", (d) => setOption(d, "a", "k", "2"))).toBe("[a]\nk = 2\n");
  });

  it("replaces a multi-line value with its continuation lines", () => {
    expect(edit("[a]\nk = one\n  two\nz = 1\n", (d) => setOption(d, "a", "k", "new"))).toBe(
      "[a]\nk = new\nz = 1\n",
    );
  });

  it("appends at the end of the section, before its trailing blank lines", () => {
    const text = "[a]\nx = 1\n# trailing comment\n\n\n[b]\ny = 2\n";
    expect(edit(text, (d) => setOption(d, "a", "k", "v"))).toBe(
      "[a]\nx = 1\n# trailing comment\nk = v\n\n\n[b]\ny = 2\n",
    );
  });

  it("adds a missing section at the end, after a blank line", () => {
    expect(edit("[a]\nx = 1\n", (d) => setOption(d, "upgrade_levels", "compute", "auto"))).toBe(
      "[a]\nx = 1\n\n[upgrade_levels]\ncompute = auto\n",
    );
    expect(edit("", (d) => setOption(d, "a", "k", "v"))).toBe("[a]\nk = v\n");
  });

  it("keeps CRLF and a missing final newline", () => {
    expect(edit("[a]\r\nx = 1", (d) => setOption(d, "a", "k", "v"))).toBe("[a]\r\nx = 1\r\nk = v");
    expect(edit("[a]\r\nx = 1", (d) => setOption(d, "b", "k", "v"))).toBe("[a]\r\nx = 1\r\n\r\n[b]\r\nk = v");
    expect(edit("[a]\nx = 1", (d) => setOption(d, "a", "x", "2"))).toBe("[a]\nx = 2");
  });

  it("quotes values oslo would otherwise strip, so they read back the same", () => {
    for (const v of [" lead", "trail ", '"quoted"', "'", '"', "a=b;c#d", ""]) {
      const d = setOption(parseIni("[a]\n"), "a", "k", v);
      expect(getValue(parseIni(serializeIni(d)), "a", "k")).toBe(v);
    }
  });

  it("does not let an indented line after the commented default become a continuation", () => {
    const text = "[a]\n#k = <None>\n  stray\nx = 1\n";
    const out = edit(text, (d) => setOption(d, "a", "k", "v"));
    expect(getValue(parseIni(out), "a", "k")).toBe("v");
  });

  it("refuses names that cannot be written back", () => {
    const d = parseIni("");
    expect(() => setOption(d, "a", "k=x", "v")).toThrow(/option name/);
    expect(() => setOption(d, "a", "#k", "v")).toThrow(/option name/);
    expect(() => setOption(d, "a\nb", "k", "v")).toThrow(/section name/);
    expect(() => setOption(d, "a", "k", "x\n  y")).toThrow(/cannot read back/);
  });
});

describe("setMulti, removeOption, commentOutOption", () => {
  it("writes one line per value in place of the first occurrence, removing the others", () => {
    const text = "[f]\n# filters\nf = a\nx = 1\nf = b\n";
    const out = edit(text, (d) => setMulti(d, "f", "f", ["p", "q", "r"]));
    expect(out).toBe("[f]\n# filters\nf = p\nf = q\nf = r\nx = 1\n");
    expect(getValues(parseIni(out), "f", "f")).toEqual(["p", "q", "r"]);
  });

  it("inserts after the commented default when unset", () => {
    expect(edit("[f]\n#f = <None>\n\n", (d) => setMulti(d, "f", "f", ["a", "b"]))).toBe(
      "[f]\n#f = <None>\nf = a\nf = b\n\n",
    );
  });

  it("removes every occurrence with its continuation lines, keeping comments", () => {
    const text = "[a]\n#k = 0\nk = 1\n  more\nz = 2\n[a]\nk = 3";
    expect(edit(text, (d) => removeOption(d, "a", "k"))).toBe("[a]\n#k = 0\nz = 2\n[a]");
    expect(edit(text, (d) => setMulti(d, "a", "k", []))).toBe("[a]\n#k = 0\nz = 2\n[a]");
  });

  it("comments out every line of every occurrence", () => {
    const out = edit("[lvm]\niscsi_ip_address = 1.2.3.4\n  x\n", (d) =>
      commentOutOption(d, "lvm", "iscsi_ip_address"),
    );
    expect(out).toBe("[lvm]\n#iscsi_ip_address = 1.2.3.4\n#  x\n");
    expect(getValues(parseIni(out), "lvm", "iscsi_ip_address")).toEqual([]);
  });

  it("returns the same document when there is nothing to remove", () => {
    const d = parseIni("[a]\n");
    expect(removeOption(d, "a", "k")).toBe(d);
  });
});
