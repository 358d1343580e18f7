/**
 * Differential test of host replacement in DB connection URLs against SQLAlchemy's own `make_url` (what every
 * service uses to read `[database] connection`): after the rewrite SQLAlchemy must see the same user, password,
 * port, database and query, and the new host. Needs a Python with SQLAlchemy (Debian: python3-sqlalchemy);
 * skipped without one, saying so.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostMap, rewriteUrl } from "../../../src/config/url-hosts.js";

const python = ["/usr/bin/python3", "python3"].find(
  (p) => spawnSync(p, ["-c", "from sqlalchemy.engine import make_url"], { stdio: "ignore" }).status === 0,
);

const READER = `
import json, sys
from sqlalchemy.engine import make_url
out = []
for s in json.load(sys.stdin):
    try:
        u = make_url(s)
        out.append([u.username, u.password, u.host, u.port, u.database, sorted((k, str(v)) for k, v in u.query.items())])
    except Exception as e:
        out.append(None)
json.dump(out, sys.stdout)
`;

type Parsed =
  [string | null, string | null, string | null, number | null, string | null, [string, string][]] | null;

function sqlalchemyRead(urls: readonly string[]): Parsed[] {
  const out = execFileSync(python!, ["-c", READER], {
    input: JSON.stringify(urls),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString()) as Parsed[];
}

const OLD = ["198.51.100.10", "ctl-old", "2001:db8::10"];
const NEW = ["198.51.100.20", "ctl-new", "2001:db8::20"];
const map = hostMap(OLD.map((o, i) => [o, NEW[i]!] as const));
const inUrl = (h: string): string => (h.includes(":") ? `[${h}]` : h);
const w = (chars: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...chars.split("")), minLength: min, maxLength: max });
const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

const urlArb = fc
  .tuple(
    fc.constantFrom("mysql+pymysql", "mysql", "postgresql"),
    fc.option(
      fc.tuple(w(ALNUM + "._-?#,@", 1, 8), fc.option(w(ALNUM + ";#/?=&!*$:%", 0, 12), { nil: undefined })),
      { nil: undefined },
    ),
    fc.constantFrom(...OLD, "198.51.100.99", "db.example"),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    w(ALNUM + "_", 1, 10),
    fc.constantFrom("", "?charset=utf8", "?charset=utf8&read_default_file=/etc/my.cnf"),
  )
  .map(([scheme, ui, host, port, db, q]) => {
    // SQLAlchemy decodes %XX in passwords: keep only valid escapes so both sides read the same thing.
    const pass = ui?.[1]?.replace(/%(?![0-9A-Fa-f]{2})/g, "");
    const userinfo = ui ? `${ui[0]}${pass === undefined ? "" : `:${pass}`}@` : "";
    return `${scheme}://${userinfo}${inUrl(host)}${port === undefined ? "" : `:${port}`}/${db}${q}`;
  });

describe.skipIf(python === undefined)("DB URL host replacement agrees with SQLAlchemy's make_url", () => {
  it("changes the host SQLAlchemy sees and nothing else", () => {
    const urls = fc.sample(urlArb, { numRuns: 2000, seed: 42 });
    const rewritten = urls.map((u) => rewriteUrl(u, map).value);
    const before = sqlalchemyRead(urls);
    const after = sqlalchemyRead(rewritten);
    let moved = 0;
    urls.forEach((u, i) => {
      const b = before[i];
      const a = after[i];
      expect(b, u).not.toBeNull();
      expect(a, rewritten[i]).not.toBeNull();
      const [bu, bp, bh, bport, bdb, bq] = b!;
      const [au, ap, ah, aport, adb, aq] = a!;
      expect([au, ap, aport, adb, aq], `${u} -> ${rewritten[i]}`).toEqual([bu, bp, bport, bdb, bq]);
      const k = OLD.indexOf(bh ?? "");
      expect(ah, u).toBe(k >= 0 ? NEW[k] : bh);
      if (k >= 0) moved++;
    });
    expect(moved).toBeGreaterThan(500);
  });
});

describe.skipIf(python !== undefined)("SQLAlchemy differential test", () => {
  it.skip("skipped: no python3 with SQLAlchemy here (Debian: apt-get install python3-sqlalchemy)", () => {});
});
