import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getValue, getValues, parseIni } from "../../../src/config/oslo-ini.js";
import { remainingOldHosts, rewriteConfig } from "../../../src/config/rewrite.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/config/${name}`, import.meta.url), "utf8");

const hosts = {
  "198.51.100.10": "198.51.100.20",
  "198.51.100.11": "198.51.100.21",
  "ctl-old": "ctl-new",
  "2001:db8::10": "2001:db8::20",
  "198.18.0.10": "198.18.0.20",
};

/** Lines of `after` not in `before` and vice versa (multiset difference, order ignored). */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const count = (ls: string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of ls) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const b = count(before.split("\n"));
  const a = count(after.split("\n"));
  const removed: string[] = [];
  const added: string[] = [];
  for (const [l, n] of b) for (let i = a.get(l) ?? 0; i < n; i++) removed.push(l);
  for (const [l, n] of a) for (let i = b.get(l) ?? 0; i < n; i++) added.push(l);
  return { removed, added };
}

describe("rewriteConfig on nova.conf", () => {
  const before = fixture("nova-controller.conf");
  const { text, changes, problems } = rewriteConfig(before, { hosts });
  const d = parseIni(text);

  it("moves every DB connection, keeping passwords with ; and # and the query", () => {
    expect(getValue(d, "database", "connection")).toBe(
      "mysql+pymysql://nova:N0va;db#pass@198.51.100.20/nova?charset=utf8",
    );
    expect(getValue(d, "api_database", "connection")).toBe(
      "mysql+pymysql://nova:N0va;db#pass@198.51.100.20/nova_api?charset=utf8",
    );
    expect(getValue(d, "placement_database", "connection")).toBe(
      "mysql+pymysql://placement:pl%40cedb@198.51.100.20/placement",
    );
  });

  it("moves both hosts of the transport URL and the endpoints", () => {
    expect(getValue(d, "DEFAULT", "transport_url")).toBe(
      "rabbit://openstack:R4bb1t%2Fpa%3Ass@198.51.100.20:5672,openstack:R4bb1t%2Fpa%3Ass@198.51.100.21:5672/",
    );
    expect(getValue(d, "keystone_authtoken", "www_authenticate_uri")).toBe("http://198.51.100.20:5000/");
    expect(getValue(d, "keystone_authtoken", "auth_url")).toBe("http://198.51.100.20:5000/");
    expect(getValue(d, "keystone_authtoken", "memcached_servers")).toBe(
      "198.51.100.20:11211,inet6:[2001:db8::20]:11211",
    );
    expect(getValue(d, "glance", "api_servers")).toBe("http://198.51.100.20:9292,http://ctl-new:9292");
    expect(getValue(d, "neutron", "auth_url")).toBe("http://198.51.100.20:5000");
    expect(getValue(d, "placement", "auth_url")).toBe("http://198.51.100.20:5000/v3");
    expect(getValue(d, "vnc", "novncproxy_base_url")).toBe("http://198.51.100.20:6080/vnc_auto.html");
    expect(getValue(d, "DEFAULT", "my_ip")).toBe("198.51.100.20");
  });

  it("leaves the service identity, references and secrets alone", () => {
    expect(getValue(d, "DEFAULT", "host")).toBe("ctl-old");
    expect(getValue(d, "vnc", "server_listen")).toBe("$my_ip");
    expect(getValue(d, "neutron", "password")).toBe("neutr0n-secret");
  });

  it("changes only the lines holding old hosts, and leaves none behind", () => {
    const { removed, added } = lineDiff(before, text);
    expect(removed).toHaveLength(12);
    expect(added).toHaveLength(12);
    for (const l of removed) expect(l).toMatch(/198\.51\.100\.1[01]|ctl-old|2001:db8::10/);
    expect(remainingOldHosts(text, hosts)).toEqual([]);
    expect(remainingOldHosts(before, hosts).length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("lists every change with passwords masked", () => {
    expect(changes).toHaveLength(12);
    const db = changes.find((c) => c.section === "database");
    expect(db).toMatchObject({
      key: "connection",
      before: "mysql+pymysql://nova:***@198.51.100.10/nova?charset=utf8",
      after: "mysql+pymysql://nova:***@198.51.100.20/nova?charset=utf8",
    });
    const all = JSON.stringify(changes);
    for (const secret of ["N0va;db#pass", "R4bb1t", "pl%40cedb", "neutr0n-secret", "n0va-k5-secret"]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe("rewriteConfig credentials and settings", () => {
  it("sets new DB credentials in the URL and masks them in the change list", () => {
    const r = rewriteConfig(fixture("nova-controller.conf"), {
      hosts,
      credentials: [{ section: "database", key: "connection", username: "nova2", password: "s3cr3t@/#" }],
      set: [{ section: "keystone_authtoken", key: "password", value: "new-ks-pass" }],
    });
    const d = parseIni(r.text);
    expect(getValue(d, "database", "connection")).toBe(
      "mysql+pymysql://nova2:s3cr3t%40%2F%23@198.51.100.20/nova?charset=utf8",
    );
    // Only [database]: [api_database] keeps its credentials.
    expect(getValue(d, "api_database", "connection")).toContain("nova:N0va;db#pass@");
    expect(getValue(d, "keystone_authtoken", "password")).toBe("new-ks-pass");
    const all = JSON.stringify(r.changes);
    expect(all).not.toContain("s3cr3t");
    expect(all).not.toContain("new-ks-pass");
    expect(r.changes.find((c) => c.key === "password")).toMatchObject({
      before: "***",
      after: "***",
      action: "changed",
    });
  });

  it("adds a connection to Debian's packaged keystone.conf next to the commented default", () => {
    const before = fixture("keystone-debian.conf");
    const r = rewriteConfig(before, {
      hosts,
      set: [
        {
          section: "database",
          key: "connection",
          value: "mysql+pymysql://keystone:k@198.51.100.20/keystone",
        },
      ],
    });
    expect(r.text).toContain(
      "#connection = <None>\nconnection = mysql+pymysql://keystone:k@198.51.100.20/keystone\n",
    );
    expect(r.changes).toEqual([
      {
        section: "database",
        key: "connection",
        action: "added",
        after: "mysql+pymysql://keystone:***@198.51.100.20/keystone",
        hosts: [],
      },
    ]);
    expect(lineDiff(before, r.text)).toEqual({
      removed: [],
      added: ["connection = mysql+pymysql://keystone:k@198.51.100.20/keystone"],
    });
  });

  it("changes nothing when no host is mapped", () => {
    const before = fixture("nova-controller.conf");
    const r = rewriteConfig(before, { hosts: { "203.0.113.99": "198.51.100.99" } });
    expect(r.text).toBe(before);
    expect(r.changes).toEqual([]);
  });
});

describe("rewriteConfig on cinder.conf", () => {
  const before = fixture("cinder-controller.conf");
  const r = rewriteConfig(before, { hosts });
  const d = parseIni(r.text);

  it("renames iscsi_ip_address to target_ip_address with the new storage address, old line commented", () => {
    expect(getValues(d, "lvm", "iscsi_ip_address")).toEqual([]);
    expect(getValue(d, "lvm", "target_ip_address")).toBe("198.18.0.20");
    expect(r.text).toContain("#iscsi_ip_address = 198.18.0.10\ntarget_ip_address = 198.18.0.20\n");
    expect(getValue(d, "lvm", "target_helper")).toBe("tgtadm");
    expect(getValue(d, "DEFAULT", "target_helper")).toBe("tgtadm");
    expect(r.changes.filter((c) => c.action === "renamed").map((c) => `${c.section}/${c.key}`)).toEqual([
      "lvm/target_ip_address",
      "DEFAULT/target_helper",
      "lvm/target_helper",
      "lvm/target_protocol",
    ]);
  });

  it("moves the single-host transport URL, glance_api_servers and my_ip", () => {
    expect(getValue(d, "DEFAULT", "transport_url")).toBe("rabbit://openstack:rabbitpass@198.51.100.20");
    expect(getValue(d, "DEFAULT", "glance_api_servers")).toBe("http://198.51.100.20:9292");
    expect(getValue(d, "DEFAULT", "my_ip")).toBe("198.51.100.20");
    expect(remainingOldHosts(r.text, hosts)).toEqual([]);
  });

  it("keeps the old names when told the target release predates the rename", () => {
    const old = rewriteConfig(before, { hosts, renameIscsiOptions: false });
    expect(getValue(parseIni(old.text), "lvm", "iscsi_ip_address")).toBe("198.18.0.20");
    expect(old.changes.some((c) => c.action === "renamed")).toBe(false);
  });

  it("sets target_ip_address where it already exists and comments out the old name", () => {
    const both = "[lvm]\ntarget_ip_address = 198.18.0.10\niscsi_ip_address = 198.18.0.10\n";
    const out = rewriteConfig(both, { hosts });
    expect(out.text).toBe("[lvm]\ntarget_ip_address = 198.18.0.20\n#iscsi_ip_address = 198.18.0.10\n");
  });
});

describe("rewriteConfig edge cases", () => {
  it("renames once across repeated sections in different case", () => {
    const r = rewriteConfig("[lvm]\niscsi_ip_address = 198.18.0.10\n[LVM]\nx = 1\n", { hosts });
    expect(r.changes.filter((c) => c.action === "renamed")).toHaveLength(1);
    expect(getValue(parseIni(r.text), "lvm", "target_ip_address")).toBe("198.18.0.20");
  });

  it("rewrites every value of a repeated key and keeps CRLF", () => {
    const r = rewriteConfig("[a]\r\nauth_url = http://ctl-old/\r\nauth_url = http://ctl-old:5000/\r\n", {
      hosts,
    });
    expect(r.text).toBe("[a]\r\nauth_url = http://ctl-new/\r\nauth_url = http://ctl-new:5000/\r\n");
  });

  it("never rewrites a secret option's value, even one that looks like a mapped address", () => {
    const text = "[keystone_authtoken]\npassword = 198.51.100.10\n";
    expect(rewriteConfig(text, { hosts })).toEqual({ text, changes: [], problems: [] });
  });

  it("reports lines oslo would reject", () => {
    expect(rewriteConfig("[a]\nnot an option\n", { hosts }).problems).toEqual([
      "line 2: line is neither a comment nor key = value",
    ]);
  });
});

describe("rewriteConfig on neutron's configs", () => {
  it("moves OVN northbound/southbound connections, metadata host and the tunnel address", () => {
    const text = [
      "[ovn]",
      "ovn_nb_connection = tcp:198.51.100.10:6641,ssl:[2001:db8::10]:6641",
      "ovn_sb_connection = tcp:198.51.100.99:6642",
      "[ovs]",
      "ovsdb_connection = tcp:127.0.0.1:6640",
      "local_ip = 198.18.0.10",
      "[DEFAULT]",
      "nova_metadata_host = ctl-old",
      "",
    ].join("\n");
    const r = rewriteConfig(text, { hosts });
    const d = parseIni(r.text);
    expect(getValue(d, "ovn", "ovn_nb_connection")).toBe("tcp:198.51.100.20:6641,ssl:[2001:db8::20]:6641");
    expect(getValue(d, "ovn", "ovn_sb_connection")).toBe("tcp:198.51.100.99:6642");
    expect(getValue(d, "ovs", "ovsdb_connection")).toBe("tcp:127.0.0.1:6640");
    expect(getValue(d, "ovs", "local_ip")).toBe("198.18.0.20");
    expect(getValue(d, "DEFAULT", "nova_metadata_host")).toBe("ctl-new");
    expect(r.changes).toHaveLength(3);
  });
});
