import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  appendKnownHost,
  fingerprintSha256,
  hostLookupName,
  keyTypeOfBlob,
  knownKeyTypes,
  loadKnownHosts,
  parseKnownHosts,
  verifyHostKey,
} from "../../../src/hosts/known-hosts.js";

// Real keys from ssh-keygen, so the blobs, hashing and fingerprints are checked against OpenSSH itself.
let dir: string;
interface Key {
  line: string; // "type base64"
  blob: Buffer;
  pubPath: string;
}
const keys: Record<string, Key> = {};

function genKey(name: string, type: string): Key {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", path]);
  const [t, b64] = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/);
  return { line: `${t} ${b64}`, blob: Buffer.from(b64!, "base64"), pubPath: `${path}.pub` };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "handover-kh-"));
  keys.a = genKey("a", "ed25519");
  keys.b = genKey("b", "ed25519");
  keys.r = genKey("r", "ecdsa");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("known_hosts", () => {
  it("fingerprints match ssh-keygen -lf", () => {
    for (const k of Object.values(keys)) {
      const out = execFileSync("ssh-keygen", ["-lf", k.pubPath], { encoding: "utf8" });
      expect(out.split(" ")[1]).toBe(fingerprintSha256(k.blob));
    }
    expect(keyTypeOfBlob(keys.a!.blob)).toBe("ssh-ed25519");
    expect(keyTypeOfBlob(keys.r!.blob)).toBe("ecdsa-sha2-nistp256");
  });

  it("plain names, comma lists, [host]:port, comments and blank lines", () => {
    const text = [
      "# a comment",
      "",
      `old.example,198.51.100.3 ${keys.a!.line}`,
      `[198.51.100.5]:2222 ${keys.b!.line}`,
      "garbage line",
    ].join("\n");
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => e.line)).toEqual([3, 4]);
    expect(verifyHostKey(entries, "198.51.100.3", keys.a!.blob)).toMatchObject({
      kind: "match",
      entry: { line: 3 },
    });
    expect(verifyHostKey(entries, "old.example", keys.a!.blob).kind).toBe("match");
    expect(verifyHostKey(entries, hostLookupName("198.51.100.5", 2222), keys.b!.blob).kind).toBe("match");
    // Same host on port 22 is a different name: unknown.
    expect(verifyHostKey(entries, hostLookupName("198.51.100.5", 22), keys.b!.blob).kind).toBe("unknown");
    // A different key of the same type for a known host: changed, naming the line on record.
    const changed = verifyHostKey(entries, "198.51.100.3", keys.b!.blob);
    expect(changed).toMatchObject({ kind: "changed", entries: [{ line: 3 }] });
    // A key of another type when only ed25519 is on record: unknown, and we say which types are known.
    expect(verifyHostKey(entries, "198.51.100.3", keys.r!.blob)).toEqual({
      kind: "unknown",
      otherTypes: ["ssh-ed25519"],
    });
    expect(knownKeyTypes(entries, "198.51.100.3")).toEqual(["ssh-ed25519"]);
  });

  it("hashed names written by ssh-keygen -H match", () => {
    const file = join(dir, "kh-hashed");
    writeFileSync(file, `198.51.100.3 ${keys.a!.line}\n[198.51.100.9]:2200 ${keys.b!.line}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", file]);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("|1|");
    expect(text).not.toContain("198.51.100.3");
    const entries = parseKnownHosts(text);
    expect(verifyHostKey(entries, "198.51.100.3", keys.a!.blob).kind).toBe("match");
    expect(verifyHostKey(entries, "[198.51.100.9]:2200", keys.b!.blob).kind).toBe("match");
    expect(verifyHostKey(entries, "198.51.100.4", keys.a!.blob).kind).toBe("unknown");
    expect(verifyHostKey(entries, "198.51.100.3", keys.b!.blob).kind).toBe("changed");
  });

  it("@revoked wins over a good line; @cert-authority never matches a plain key", () => {
    const entries = parseKnownHosts(
      [`host1 ${keys.a!.line}`, `@revoked * ${keys.a!.line}`, `@cert-authority host2 ${keys.b!.line}`].join(
        "\n",
      ),
    );
    expect(verifyHostKey(entries, "host1", keys.a!.blob)).toMatchObject({
      kind: "revoked",
      entry: { line: 2 },
    });
    expect(verifyHostKey(entries, "host2", keys.b!.blob).kind).toBe("unknown");
  });

  it("wildcards and negation", () => {
    const entries = parseKnownHosts(`*.lab,!bad.lab ${keys.a!.line}`);
    expect(verifyHostKey(entries, "c1.lab", keys.a!.blob).kind).toBe("match");
    expect(verifyHostKey(entries, "bad.lab", keys.a!.blob).kind).toBe("unknown");
    expect(verifyHostKey(entries, "c1.lab.evil", keys.a!.blob).kind).toBe("unknown");
  });

  it("appendKnownHost creates the file 0600 and writes a line ssh-keygen -F finds", async () => {
    const file = join(dir, "sub", "known_hosts");
    await appendKnownHost(file, "[127.0.0.1]:2222", keys.a!.blob);
    writeFileSync(file, readFileSync(file, "utf8").trimEnd()); // no trailing newline: append must add one
    await appendKnownHost(file, "198.51.100.7", keys.b!.blob);
    const entries = await loadKnownHosts(file);
    expect(entries).toHaveLength(2);
    expect(verifyHostKey(entries, "[127.0.0.1]:2222", keys.a!.blob).kind).toBe("match");
    const found = execFileSync("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", file], { encoding: "utf8" });
    expect(found).toContain(keys.a!.line);
    expect((await import("node:fs")).statSync(file).mode & 0o777).toBe(0o600);
    expect(await loadKnownHosts(join(dir, "missing"))).toEqual([]);
  });
});
