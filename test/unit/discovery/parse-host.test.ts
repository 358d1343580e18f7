import { describe, expect, it } from "vitest";
import {
  diskFacts,
  parseDf,
  parseDpkgQuery,
  parseHostname,
  parseIpAddrJson,
  parseOsRelease,
  parseRpmQuery,
  parseServiceStatusAll,
  parseSystemctlUnits,
} from "../../../src/discovery/parse-host.js";
import {
  DPKG_BULLSEYE_VICTORIA,
  IP_J_NEW,
  IP_J_OLD,
  OS_RELEASE_BOOKWORM,
  OS_RELEASE_BULLSEYE,
  OS_RELEASE_ROCKY9,
  STATUS_ALL_OLD,
  SYSTEMCTL_RDO,
  dfOutput,
} from "./fixtures/outputs.js";

describe("parseOsRelease", () => {
  it("reads Debian 11 and 12", () => {
    expect(parseOsRelease(OS_RELEASE_BULLSEYE)).toEqual({
      id: "debian",
      versionId: "11",
      codename: "bullseye",
    });
    expect(parseOsRelease(OS_RELEASE_BOOKWORM)).toEqual({
      id: "debian",
      versionId: "12",
      codename: "bookworm",
    });
  });
  it("reads quoted RHEL-family values without a codename", () => {
    expect(parseOsRelease(OS_RELEASE_ROCKY9)).toEqual({ id: "rocky", versionId: "9.3", codename: "" });
  });
  it("falls back to UBUNTU_CODENAME and unescapes double-quoted values", () => {
    const text = 'ID=ubuntu\nVERSION_ID="22.04"\nUBUNTU_CODENAME=jammy\nNAME="A \\"quoted\\" name"\n';
    expect(parseOsRelease(text)).toEqual({ id: "ubuntu", versionId: "22.04", codename: "jammy" });
  });
  it("returns empty fields for an empty file", () => {
    expect(parseOsRelease("")).toEqual({ id: "", versionId: "", codename: "" });
  });
});

describe("parseHostname", () => {
  it("takes the first line trimmed", () => {
    expect(parseHostname("old\n")).toBe("old");
    expect(parseHostname("  ctl-1.example  \nextra\n")).toBe("ctl-1.example");
  });
});

describe("parseDpkgQuery", () => {
  const pkgs = parseDpkgQuery(DPKG_BULLSEYE_VICTORIA);
  it("lists installed packages with their versions", () => {
    expect(pkgs.get("nova-api")).toBe("2:22.0.1-2");
    expect(pkgs.get("keystone")).toBe("2:18.0.0-3");
    expect(pkgs.get("placement-api")).toBe("4.0.0-3");
    expect(pkgs.get("libc6:amd64")).toBe("2.31-13+deb11u11");
  });
  it("leaves out removed packages whose configs remain (rc)", () => {
    expect(pkgs.has("nova-compute")).toBe(false);
  });
  it("counts trigger-pending states as installed and half-installed ones not", () => {
    const p = parseDpkgQuery("iW  a 1.0\nit  b 2.0\niU  c 3.0\niF  d 4.0\nun  e <none>\n");
    expect([...p.keys()]).toEqual(["a", "b"]);
  });
  it("skips garbage lines", () => {
    expect(parseDpkgQuery("dpkg-query: no packages found matching x\n\n").size).toBe(0);
  });
});

describe("parseRpmQuery", () => {
  it("drops a zero epoch and keeps others", () => {
    const p = parseRpmQuery(
      "openstack-nova-api 1:26.2.1-1.el9s\nmariadb-server 3:10.5.22-1.el9_2\nrpm 0:4.16.1.3-25.el9\n(none) garbage\n",
    );
    expect(Object.fromEntries(p)).toEqual({
      "openstack-nova-api": "1:26.2.1-1.el9s",
      "mariadb-server": "3:10.5.22-1.el9_2",
      rpm: "4.16.1.3-25.el9",
    });
  });
});

describe("parseDf / diskFacts", () => {
  it("reads the row under the header", () => {
    expect(parseDf(dfOutput("/", 8589934592, 21474836480))).toEqual({
      mount: "/",
      freeBytes: 8589934592,
      totalBytes: 21474836480,
    });
  });
  it("keeps a mount point with spaces whole", () => {
    expect(parseDf("Mounted on  Avail  1B-blocks\n/mnt/my disk  100  200\n")?.mount).toBe("/mnt/my disk");
  });
  it("labels the facts with the path asked about, not the mount point", () => {
    expect(diskFacts("/var/lib/mysql", dfOutput("/", 5, 10))).toEqual({
      path: "/var/lib/mysql",
      freeBytes: 5,
      totalBytes: 10,
    });
  });
  it("returns undefined without a data row", () => {
    expect(parseDf("Mounted on  Avail  1B-blocks\n")).toBeUndefined();
    expect(diskFacts("/", "df: /x: No such file or directory\n")).toBeUndefined();
  });
});

describe("parseIpAddrJson", () => {
  it("lists non-loopback interfaces with every global address and its prefix", () => {
    expect(parseIpAddrJson(IP_J_OLD)).toEqual([
      { name: "eth0", addresses: ["198.51.100.3/24", "198.51.100.4/24"] },
      { name: "eth1", addresses: ["198.18.0.4/24"] },
    ]);
  });
  it("keeps interfaces without addresses", () => {
    expect(parseIpAddrJson(IP_J_NEW)).toEqual([
      { name: "eth0", addresses: ["198.51.100.5/24"] },
      { name: "eth1", addresses: [] },
    ]);
  });
  it("keeps global IPv6 and drops link-local", () => {
    const text = JSON.stringify([
      {
        ifname: "ens3",
        flags: ["UP"],
        addr_info: [
          { family: "inet6", local: "2001:db8::4", prefixlen: 64, scope: "global" },
          { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
        ],
      },
    ]);
    expect(parseIpAddrJson(text)).toEqual([{ name: "ens3", addresses: ["2001:db8::4/64"] }]);
  });
  it("returns nothing for output that is not JSON", () => {
    expect(parseIpAddrJson('Option "-j" is unknown')).toEqual([]);
  });
});

describe("unit listings", () => {
  it("parses service --status-all: + running, - stopped, ? not running", () => {
    const units = parseServiceStatusAll(STATUS_ALL_OLD);
    expect(units.find((u) => u.name === "nova-api")).toEqual({ name: "nova-api", active: true });
    expect(units.find((u) => u.name === "nova-novncproxy")).toEqual({
      name: "nova-novncproxy",
      active: false,
    });
    expect(units.find((u) => u.name === "hwclock.sh")).toEqual({ name: "hwclock.sh", active: false });
    expect(units).toHaveLength(22);
  });
  it("parses systemctl list-units and skips not-found units", () => {
    const units = parseSystemctlUnits(SYSTEMCTL_RDO);
    expect(units).toContainEqual({ name: "openstack-nova-api", active: true });
    expect(units).toContainEqual({ name: "openstack-nova-scheduler", active: false });
    expect(units.some((u) => u.name === "ntpd")).toBe(false);
    expect(units).toHaveLength(7);
  });
});
