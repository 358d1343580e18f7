import { describe, expect, it } from "vitest";
import {
  canonicalHost,
  hostMap,
  maskUrlPasswords,
  parseUrl,
  rewriteBareHost,
  rewriteHostList,
  rewriteUrl,
} from "../../../src/config/url-hosts.js";

const map = hostMap([
  ["198.51.100.10", "198.51.100.20"],
  ["ctl-old", "ctl-new"],
  ["2001:db8::10", "2001:db8::20"],
]);

describe("canonicalHost", () => {
  it("normalises case and IPv6 spellings, rejects host:port", () => {
    expect(canonicalHost("CTL-Old")).toBe("ctl-old");
    expect(canonicalHost("2001:DB8:0:0::10")).toBe("[2001:db8::10]");
    expect(canonicalHost("[2001:db8::10]")).toBe("[2001:db8::10]");
    expect(canonicalHost("h:5000")).toBeUndefined();
    expect(canonicalHost("")).toBeUndefined();
  });
});

describe("rewriteUrl", () => {
  it("replaces only the host of a SQLAlchemy URL, keeping an encoded password, path and query", () => {
    const r = rewriteUrl("mysql+pymysql://user:p%40ss@198.51.100.10/db?charset=utf8", map);
    expect(r.value).toBe("mysql+pymysql://user:p%40ss@198.51.100.20/db?charset=utf8");
    expect(r.hosts).toEqual([{ from: "198.51.100.10", to: "198.51.100.20" }]);
  });

  it("reads raw #, ; and / in a SQLAlchemy password as SQLAlchemy does (up to the @)", () => {
    const v = "mysql+pymysql://nova:N0va;db#pa/ss@ctl-old:3306/nova_api?charset=utf8";
    expect(rewriteUrl(v, map).value).toBe(
      "mysql+pymysql://nova:N0va;db#pa/ss@ctl-new:3306/nova_api?charset=utf8",
    );
  });

  it("replaces every mapped host of a multi-host transport URL", () => {
    const v =
      "rabbit://openstack:R%2Fp@198.51.100.10:5672,openstack:R%2Fp@other:5672,openstack:R%2Fp@CTL-OLD/vhost?ssl=1";
    expect(rewriteUrl(v, map).value).toBe(
      "rabbit://openstack:R%2Fp@198.51.100.20:5672,openstack:R%2Fp@other:5672,openstack:R%2Fp@ctl-new/vhost?ssl=1",
    );
  });

  it("brackets IPv6 replacements and keeps unmapped URLs identical", () => {
    expect(rewriteUrl("http://[2001:db8:0::10]:5000/v3", map).value).toBe("http://[2001:db8::20]:5000/v3");
    expect(rewriteUrl("http://keystone.example:5000/v3", map)).toEqual({
      value: "http://keystone.example:5000/v3",
      hosts: [],
      credentialsChanged: false,
    });
    expect(rewriteUrl("rabbit://", map).value).toBe("rabbit://");
  });

  it("changes credentials, percent-encoding them, on every host", () => {
    const r = rewriteUrl("rabbit://old:x@198.51.100.10:5672,old:x@h2:5672/", map, { password: "n:w@/p#!" });
    expect(r.value).toBe(
      "rabbit://old:n%3Aw%40%2Fp%23%21@198.51.100.20:5672,old:n%3Aw%40%2Fp%23%21@h2:5672/",
    );
    expect(r.credentialsChanged).toBe(true);
    expect(rewriteUrl("mysql://h/db", map, { username: "u", password: "p" }).value).toBe("mysql://u:p@h/db");
  });

  it("reads an @ after the authority of an http URL as part of the path", () => {
    expect(rewriteUrl("http://ctl-old:5000/a@b?c=d@e", map).value).toBe("http://ctl-new:5000/a@b?c=d@e");
    expect(rewriteUrl("http://u:p@ctl-old/a@b", map).value).toBe("http://u:p@ctl-new/a@b");
  });

  it("takes a transport URL's userinfo up to the last @ of each host, as oslo.messaging does", () => {
    expect(rewriteUrl("rabbit://u:p@x@ctl-old:5672,v:q@198.51.100.10/", map).value).toBe(
      "rabbit://u:p@x@ctl-new:5672,v:q@198.51.100.20/",
    );
  });

  it("parses the authority of the odd cases", () => {
    const v = "mysql://u@h";
    const p = parseUrl(v);
    expect(p?.netlocs).toHaveLength(1);
    expect(v.slice(p!.netlocs[0]!.hostStart, p!.netlocs[0]!.hostEnd)).toBe("h");
    expect(parseUrl("not a url")).toBeUndefined();
  });
});

describe("host lists and bare hosts", () => {
  it("rewrites memcached lists with inet6 prefixes and ports", () => {
    expect(rewriteHostList("198.51.100.10:11211, inet6:[2001:db8::10]:11211,other:11211", map).value).toBe(
      "198.51.100.20:11211, inet6:[2001:db8::20]:11211,other:11211",
    );
  });

  it("rewrites URL lists and bare IPv6 entries", () => {
    expect(rewriteHostList("http://ctl-old:9292,ctl-old:9292,2001:db8::10", map).value).toBe(
      "http://ctl-new:9292,ctl-new:9292,2001:db8::20",
    );
  });

  it("rewrites a bare host only when it is mapped", () => {
    expect(rewriteBareHost("198.51.100.10", map).value).toBe("198.51.100.20");
    expect(rewriteBareHost("$my_ip", map).value).toBe("$my_ip");
  });
});

describe("maskUrlPasswords", () => {
  it("masks every password of a transport URL and a raw SQLAlchemy password", () => {
    expect(maskUrlPasswords("rabbit://u:p1@h1,u:p2@h2/")).toBe("rabbit://u:***@h1,u:***@h2/");
    expect(maskUrlPasswords("mysql+pymysql://nova:N0va;db#pass@h/nova")).toBe(
      "mysql+pymysql://nova:***@h/nova",
    );
    expect(maskUrlPasswords("x = 'http://a:b@h/', http://c:d@k")).toBe(
      "x = 'http://a:***@h/', http://c:***@k",
    );
    expect(maskUrlPasswords("http://h:5000/v3")).toBe("http://h:5000/v3");
  });
});
