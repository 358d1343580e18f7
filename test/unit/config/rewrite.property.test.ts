/**
 * Property tests for the host rewrite: generated configs whose values are DB URLs (raw or percent-encoded
 * passwords with `;`, `#`, `/`), multi-host transport URLs, endpoint URLs, memcached lists and bare addresses,
 * among comments and unrelated options.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getValue, parseIni } from "../../../src/config/oslo-ini.js";
import { remainingOldHosts, rewriteConfig } from "../../../src/config/rewrite.js";
import { maskUrlPasswords, rewriteUrl, hostMap } from "../../../src/config/url-hosts.js";

// Old hosts (mapped) and other hosts (not mapped), all in canonical spelling so a reverse map restores them.
const OLD = ["198.51.100.10", "198.51.100.11", "ctl-old", "2001:db8::10"];
const NEW = ["198.51.100.20", "198.51.100.21", "ctl-new", "2001:db8::20"];
const OTHER = ["198.51.100.99", "keystone.example", "2001:db8::99", "localhost"];
const forward = Object.fromEntries(OLD.map((o, i) => [o, NEW[i]!]));
const backward = Object.fromEntries(NEW.map((n, i) => [n, OLD[i]!]));

const inUrl = (h: string): string => (h.includes(":") ? `[${h}]` : h);
const hostArb = fc.constantFrom(...OLD, ...OTHER);
const word = (chars: string, min = 1, max = 10): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...chars.split("")), minLength: min, maxLength: max });
const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const portArb = fc.option(
  fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`),
  { nil: "" },
);

// SQLAlchemy allows anything but `@` in a raw password; percent-encoded ones are common too.
// Upper-case "PW" marks passwords so they cannot occur by chance elsewhere in a (lower-case) URL.
const dbPassword = fc
  .oneof(
    word(ALNUM + ";#/?%=&!*", 3, 12),
    word(ALNUM, 2, 6).map((w) => `${w}%40${w}%2F`),
  )
  .map((p) => `PW${p}`);
const dbUrlArb = fc
  .tuple(
    word(ALNUM),
    dbPassword,
    hostArb,
    portArb,
    word(ALNUM),
    fc.constantFrom("", "?charset=utf8", "?charset=utf8&plugin=x"),
  )
  .map(([u, p, h, port, db, q]) => ({
    url: `mysql+pymysql://${u}:${p}@${inUrl(h)}${port}/${db}${q}`,
    password: p,
  }));

// oslo.messaging splits on `,` before userinfo: passwords there are percent-encoded.
const mqPassword = word(ALNUM, 3, 8).map((w) => `PW${w}%2C%40`);
const transportArb = fc
  .tuple(
    word(ALNUM),
    mqPassword,
    fc.array(fc.tuple(hostArb, portArb), { minLength: 1, maxLength: 3 }),
    fc.constantFrom("/", "//", "/vh"),
  )
  .map(([u, p, hs, vh]) => ({
    url: `rabbit://${hs.map(([h, port]) => `${u}:${p}@${inUrl(h)}${port}`).join(",")}${vh}`,
    password: p,
  }));

const endpointArb = fc
  .tuple(
    fc.constantFrom("http", "https"),
    hostArb,
    portArb,
    fc.constantFrom("", "/", "/v3", "/identity/v3?x=1"),
  )
  .map(([s, h, port, path]) => `${s}://${inUrl(h)}${port}${path}`);

const memcacheArb = fc
  .array(fc.tuple(hostArb, portArb), { minLength: 1, maxLength: 3 })
  .map((hs) =>
    hs.map(([h, port]) => (h.includes(":") ? `inet6:[${h}]${port || ":11211"}` : `${h}${port}`)).join(","),
  );

/** A generated config and the secrets in it. */
const configArb = fc
  .tuple(
    dbUrlArb,
    transportArb,
    fc.array(endpointArb, { minLength: 1, maxLength: 3 }),
    memcacheArb,
    fc.constantFrom(...OLD.filter((h) => !h.includes("-")), ...OTHER.filter((h) => /^[\d.:a-f]+$/.test(h))),
    fc.constantFrom("\n", "\r\n"),
  )
  .map(([db, mq, endpoints, memcache, ip, eol]) => ({
    text: [
      "[DEFAULT]",
      "# The controller's address. (string value)",
      "#my_ip = <host_ipv4>",
      `my_ip = ${ip}`,
      "host = ctl-old",
      `transport_url = ${mq.url}`,
      "",
      "[database]",
      "#connection = <None>",
      `connection = ${db.url}`,
      "",
      "[keystone_authtoken]",
      `www_authenticate_uri = ${endpoints[0]!}`,
      `memcached_servers = ${memcache}`,
      "password = ks;pa#ss",
      "",
      "[glance]",
      `api_servers = ${endpoints.join(",")}`,
      "",
    ].join(eol),
    passwords: [db.password, mq.password],
  }));

describe("rewriteConfig properties", () => {
  it("leaves no mapped host in any value, and the reverse map restores the file byte for byte", () => {
    fc.assert(
      fc.property(configArb, ({ text }) => {
        const there = rewriteConfig(text, { hosts: forward, renameIscsiOptions: false });
        expect(remainingOldHosts(there.text, forward)).toEqual([]);
        // Independent of the parser under test: no old host left as text on an active line but the identity.
        for (const line of there.text.split(/\r?\n/)) {
          if (line.startsWith("#") || line.startsWith("host = ")) continue;
          for (const h of OLD) expect(line, line).not.toContain(h);
        }
        const back = rewriteConfig(there.text, { hosts: backward, renameIscsiOptions: false });
        expect(back.text).toBe(text);
        // The service's identity is never a host to move.
        expect(getValue(parseIni(there.text), "DEFAULT", "host")).toBe("ctl-old");
      }),
      { numRuns: 500 },
    );
  });

  it("never puts a password into the change list", () => {
    fc.assert(
      fc.property(configArb, ({ text, passwords }) => {
        const changes = JSON.stringify(rewriteConfig(text, { hosts: forward }).changes);
        for (const p of [...passwords, "ks;pa#ss"]) expect(changes).not.toContain(p);
      }),
      { numRuns: 500 },
    );
  });

  it("changes only the host of an http URL, as the WHATWG parser sees it", () => {
    const userinfo = fc.option(
      fc
        .tuple(word(ALNUM), word(ALNUM + "%2F"))
        .map(([u, p]) => `${u}:${p.replace(/%(?![0-9A-F]{2})/g, "")}@`),
      { nil: "" },
    );
    fc.assert(
      fc.property(
        userinfo,
        hostArb,
        portArb,
        fc.constantFrom("", "/", "/a/b", "/v3?x=1&y=%20#frag"),
        (ui, h, port, rest) => {
          const url = `http://${ui}${inUrl(h)}${port}${rest}`;
          const out = rewriteUrl(url, hostMap(Object.entries(forward))).value;
          const a = new URL(url);
          const b = new URL(out);
          for (const part of ["username", "password", "port", "pathname", "search", "hash"] as const)
            expect(b[part]).toBe(a[part]);
          const i = OLD.indexOf(h);
          expect(b.hostname).toBe(i >= 0 ? new URL(`http://${inUrl(NEW[i]!)}/`).hostname : a.hostname);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("masks every password of generated DB and transport URLs", () => {
    fc.assert(
      fc.property(fc.oneof(dbUrlArb, transportArb), ({ url, password }) => {
        expect(maskUrlPasswords(url)).not.toContain(password);
      }),
      { numRuns: 500 },
    );
  });
});
