/**
 * The lab's pure helpers (no root needed): range overlap for the preflight, apt sources parsing (the registry is
 * read from the machine, never named in the repo), the answer overlay merge and the address plan.
 */
import { describe, expect, it } from "vitest";
import { deepMerge } from "../../../lab/answers.js";
import { debianMirror, parseAptSources, registryHosts } from "../../../lab/apt-sources.js";
import { overlaps } from "../../../lab/cidr.js";
import { labHosts } from "../../../lab/plan.js";

describe("lab helpers", () => {
  it("overlaps: addresses and prefixes against a lab range", () => {
    expect(overlaps("198.51.100.7", "198.51.100.0/24")).toBe(true);
    expect(overlaps("198.51.101.7", "198.51.100.0/24")).toBe(false);
    expect(overlaps("198.51.0.0/16", "198.51.100.0/24")).toBe(true); // a wider route covers the range
    expect(overlaps("198.51.100.128/25", "198.51.100.0/24")).toBe(true);
    expect(overlaps("192.0.2.2/24", "198.51.100.0/24")).toBe(false);
    expect(overlaps("0.0.0.0/0", "198.18.0.0/24")).toBe(true);
    expect(overlaps("fd00::2", "198.18.0.0/24")).toBe(false);
  });

  it("parses deb822 and one-line apt sources, skipping deb-src and disabled entries", () => {
    const deb822 = [
      "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
        "Types: deb\nURIs: http://security.invalid/debian-security\nSuites: bookworm-security\n\n" +
        "Types: deb-src\nURIs: http://src.invalid/debian\nSuites: bookworm\n\n" +
        "Enabled: no\nTypes: deb\nURIs: http://off.invalid/debian\nSuites: bookworm\n",
    ];
    const oneLine = ["# comment\ndeb [arch=amd64] http://other.invalid/debian bullseye main\n"];
    const sources = parseAptSources(deb822, oneLine);
    expect(sources.map((s) => s.uri)).toEqual([
      "http://mirror.invalid/debian",
      "http://security.invalid/debian-security",
      "http://other.invalid/debian",
    ]);
    expect(debianMirror(sources)).toBe("http://mirror.invalid/debian");
    expect(registryHosts(sources)).toEqual(["mirror.invalid", "security.invalid", "other.invalid"]);
    expect(() => debianMirror(parseAptSources([], []))).toThrow(/no Debian archive/);
  });

  it("deep-merges an answers overlay: mappings by key, lists and values replaced", () => {
    const base = { a: { b: 1, c: [1, 2] }, d: "x" };
    expect(deepMerge(base, { a: { c: [3] }, e: true })).toEqual({ a: { b: 1, c: [3] }, d: "x", e: true });
    expect(deepMerge(base, { a: null })).toEqual({ a: null, d: "x" });
  });

  it("plans addresses per LAB-ADDRESSES: old .3/.4, new .5, computeN .(9+N)", () => {
    const hosts = labHosts(2);
    expect(hosts.map((h) => [h.name, h.mgmt, h.storage])).toEqual([
      ["old", ["198.51.100.3", "198.51.100.4"], ["198.18.0.4"]],
      ["new", ["198.51.100.5"], ["198.18.0.5"]],
      ["compute1", ["198.51.100.10"], ["198.18.0.10"]],
      ["compute2", ["198.51.100.11"], ["198.18.0.11"]],
    ]);
    expect(() => labHosts(0)).toThrow();
  });
});
