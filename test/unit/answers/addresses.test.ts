import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inCidr, parseAddress, parseCidr, parseIp, parsePortal } from "../../../src/answers/addresses.js";
import { didYouMean, editDistance } from "../../../src/answers/diagnostics.js";

describe("addresses", () => {
  it("accepts every four-part decimal IPv4", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (parts) => {
        const text = parts.join(".");
        const parsed = parseIp(text);
        return parsed.kind === "ip" && parsed.normalised === text;
      }),
    );
  });

  it("rejects IPv4 with fewer or more than four parts, which inet_aton would accept", () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 })
          .filter((p) => p.length !== 4),
        (parts) => parseAddress(parts.join(".")).kind === "invalid",
      ),
    );
  });

  it.each([
    "10.1",
    "10.0.1",
    "0x0a.0.0.1",
    "010.0.0.1",
    "1.2.3.256",
    "1.2.3.4.5",
    "1.2.3.",
    "1.2.3.4/24",
    "-1.2.3.4",
  ])("rejects %s as an address", (text) => {
    expect(parseAddress(text).kind).toBe("invalid");
  });

  it.each([
    ["controller", "hostname"],
    ["ctl-01.example.org", "hostname"],
    ["ctl-01.example.org.", "hostname"],
    ["2001:db8::1", "ip"],
    ["::ffff:198.51.100.1", "ip"],
    ["198.51.100.1", "ip"],
  ])("accepts %s as %s", (text, kind) => {
    expect(parseAddress(text).kind).toBe(kind);
  });

  it.each(["ctl_01", "-ctl", "ctl-", "a..b", "[2001:db8::1]", "2001:db8:::1", "host name", "x".repeat(64)])(
    "rejects %s",
    (text) => {
      expect(parseAddress(text).kind).toBe("invalid");
    },
  );

  it("parses CIDRs strictly and notices host bits", () => {
    expect(parseCidr("198.51.100.0/24")).toMatchObject({ kind: "cidr", prefix: 24, hostBitsSet: false });
    expect(parseCidr("198.51.100.7/24")).toMatchObject({
      kind: "cidr",
      hostBitsSet: true,
      canonical: "198.51.100.0/24",
    });
    expect(parseCidr("2001:db8::/64")).toMatchObject({ kind: "cidr", prefix: 64 });
    for (const bad of [
      "198.51.100.0",
      "198.51.100/24",
      "198.51.100.0/33",
      "198.51.100.0/024",
      "2001:db8::/129",
      "x/8",
      "10.0.0.0/",
    ]) {
      expect(parseCidr(bad).kind, bad).toBe("invalid");
    }
  });

  it("knows which addresses are inside a network", () => {
    const net = parseCidr("198.51.100.0/25");
    if (net.kind !== "cidr") throw new Error("bad cidr");
    const ip = (t: string) => {
      const p = parseIp(t);
      if (p.kind !== "ip") throw new Error(t);
      return p.ip;
    };
    expect(inCidr(ip("198.51.100.127"), net)).toBe(true);
    expect(inCidr(ip("198.51.100.128"), net)).toBe(false);
    expect(inCidr(ip("2001:db8::1"), net)).toBe(false);
  });

  it("parses iSCSI portals with and without ports", () => {
    expect(parsePortal("198.18.0.4")).toMatchObject({ kind: "portal", normalised: "198.18.0.4" });
    expect(parsePortal("198.18.0.4:3260")).toMatchObject({ kind: "portal", port: 3260 });
    expect(parsePortal("[2001:db8::4]:3260")).toMatchObject({ kind: "portal", port: 3260 });
    expect(parsePortal("2001:db8::4")).toMatchObject({ kind: "portal", normalised: "2001:db8::4" });
    for (const bad of [
      "198.18.0.4:0",
      "198.18.0.4:65536",
      "198.18.0.4:",
      "198.18.4:3260",
      "storage:3260",
      "[2001:db8::4]:x",
    ]) {
      expect(parsePortal(bad).kind, bad).toBe("invalid");
    }
  });
});

describe("did you mean", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("nwe", "new")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("suggests close keys and nothing for unrelated ones", () => {
    const keys = ["address", "port", "user", "key_file", "known_hosts"];
    expect(didYouMean("adress", keys)).toBe("address");
    expect(didYouMean("Key-File", keys)).toBe("key_file");
    expect(didYouMean("timeout", keys)).toBeUndefined();
  });
});
