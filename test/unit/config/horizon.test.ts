import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getPythonString, rewriteHorizon, setPythonString } from "../../../src/config/horizon.js";

const fixture = readFileSync(new URL("../../fixtures/config/local_settings.py", import.meta.url), "utf8");

/** Lines that differ between two texts of the same length in lines. */
function changedLines(a: string, b: string): string[] {
  const la = a.split("\n");
  const lb = b.split("\n");
  expect(lb).toHaveLength(la.length);
  return lb.filter((l, i) => l !== la[i]);
}

describe("rewriteHorizon on Debian/Ubuntu local_settings.py", () => {
  const r = rewriteHorizon(fixture, {
    openstackHost: "198.51.100.20",
    defaultRole: "member",
    hosts: { "198.51.100.10": "198.51.100.20" },
  });

  it("changes exactly the lines naming the old host and the default role", () => {
    expect(changedLines(fixture, r.text)).toEqual([
      "ALLOWED_HOSTS = ['*', '198.51.100.20']",
      "         'LOCATION': '198.51.100.20:11211',",
      'OPENSTACK_HOST = "198.51.100.20"  # the controller; "#" in a comment',
      "OPENSTACK_KEYSTONE_DEFAULT_ROLE = 'member'",
    ]);
  });

  it("leaves commented examples and assignments inside blocks alone", () => {
    expect(r.text).toContain("#        'LOCATION': '127.0.0.1:11211',");
    expect(r.text).toContain('    OPENSTACK_HOST = "127.0.0.1"');
  });

  it("reports what it changed", () => {
    expect(r.changes).toEqual([
      { name: "host in a string", before: "198.51.100.10", after: "198.51.100.20" },
      { name: "host in a string", before: "198.51.100.10", after: "198.51.100.20" },
      // OPENSTACK_HOST was moved by the host map already, so setting it is no change.
      { name: "host in a string", before: "198.51.100.10", after: "198.51.100.20" },
      { name: "OPENSTACK_KEYSTONE_DEFAULT_ROLE", before: "_member_", after: "member" },
    ]);
  });

  it("is idempotent", () => {
    const again = rewriteHorizon(r.text, {
      openstackHost: "198.51.100.20",
      defaultRole: "member",
      hosts: { "198.51.100.10": "198.51.100.20" },
    });
    expect(again.text).toBe(r.text);
    expect(again.changes).toEqual([]);
  });
});

describe("setPythonString / getPythonString", () => {
  it("keeps single quotes, escapes what needs escaping", () => {
    const out = setPythonString("A = 'x'\n", "A", "it's \\ here");
    expect(out).toBe("A = 'it\\'s \\\\ here'\n");
  });

  it("reads plain literals only", () => {
    expect(getPythonString("A = 'x'  # c\n", "A")).toBe("x");
    expect(getPythonString("A = 'x' + y\n", "A")).toBeUndefined();
    expect(getPythonString("AB = 'x'\n", "A")).toBeUndefined();
    expect(getPythonString("A == 'x'\n", "A")).toBeUndefined();
  });

  it("replaces a non-literal right-hand side whole, including continuation lines", () => {
    expect(setPythonString("A = os.environ.get(\n    'X',\n    'y')\nB = 1\n", "A", "v")).toBe(
      'A = "v"\nB = 1\n',
    );
    expect(setPythonString("A = 1 + \\\n    2\nB = 1\n", "A", "v")).toBe('A = "v"\nB = 1\n');
  });

  it("sets every top-level assignment so readers in between agree", () => {
    expect(setPythonString('H = "a"\nU = H\nH = "b"\n', "H", "c")).toBe('H = "c"\nU = H\nH = "c"\n');
  });

  it("appends when absent, adding a newline to a file without one, keeping CRLF", () => {
    expect(setPythonString("DEBUG = False", "OPENSTACK_HOST", "h")).toBe(
      'DEBUG = False\nOPENSTACK_HOST = "h"\n',
    );
    expect(setPythonString("DEBUG = False\r\n", "OPENSTACK_HOST", "h")).toBe(
      'DEBUG = False\r\nOPENSTACK_HOST = "h"\r\n',
    );
    expect(setPythonString("", "X", "h")).toBe('X = "h"\n');
  });

  it("does not take an assignment inside a docstring or a dict for a setting", () => {
    const src = '"""\nA = "doc"\n"""\nD = {\nA = 1,\n}\n';
    expect(getPythonString(src, "A")).toBeUndefined();
    expect(setPythonString(src, "A", "v")).toBe(`${src}A = "v"\n`);
  });
});

describe("rewriteHorizon without a host map", () => {
  it("sets OPENSTACK_HOST itself", () => {
    const r = rewriteHorizon(fixture, { openstackHost: "ctl-new" });
    expect(getPythonString(r.text, "OPENSTACK_HOST")).toBe("ctl-new");
    expect(r.changes).toEqual([{ name: "OPENSTACK_HOST", before: "198.51.100.10", after: "ctl-new" }]);
    expect(changedLines(fixture, r.text)).toEqual([
      'OPENSTACK_HOST = "ctl-new"  # the controller; "#" in a comment',
    ]);
  });
});
