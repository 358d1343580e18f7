/**
 * OpenSSH known_hosts, read the way ssh(1) reads it, so `handover` trusts exactly the keys the operator's own ssh
 * would trust. Supported: plain names, comma lists, `[host]:port` for ports other than 22, wildcards (`*`, `?`) and
 * negation (`!pattern`), hashed names (`|1|salt|hash`, HMAC-SHA1 of the name keyed by the salt), `@revoked`
 * (that key is refused for that host even if also listed as good) and `@cert-authority` (a CA for host
 * certificates: we do not do host certificates, so such a line never makes a plain key match).
 */
import { createHash, createHmac } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly marker: "revoked" | "cert-authority" | undefined;
  /** The raw host field (comma list, or one hashed name). */
  readonly hosts: string;
  readonly keyType: string;
  /** The key blob in SSH wire format (what ssh2 gives the hostVerifier). */
  readonly key: Buffer;
}

export type HostKeyVerdict =
  | { readonly kind: "match"; readonly entry: KnownHostEntry }
  | { readonly kind: "revoked"; readonly entry: KnownHostEntry }
  /** The host has a key of this type on record, and it is a different one. */
  | { readonly kind: "changed"; readonly entries: readonly KnownHostEntry[] }
  /** No key of this type on record for the host (other types may be: `otherTypes`). */
  | { readonly kind: "unknown"; readonly otherTypes: readonly string[] };

/** Parse a known_hosts file's text. Malformed lines are skipped, as ssh(1) does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0] === "@revoked") marker = "revoked";
    else if (fields[0] === "@cert-authority") marker = "cert-authority";
    else if (fields[0]?.startsWith("@")) continue; // unknown marker: ssh ignores the line
    if (marker) fields.shift();
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
    const key = Buffer.from(b64, "base64");
    if (key.length === 0) continue;
    out.push({ line: i + 1, marker, hosts, keyType, key });
  }
  return out;
}

/** The name ssh looks up: the host itself on port 22, `[host]:port` otherwise. */
export function hostLookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Does one known_hosts host field (comma list or hashed name) name this host? Negations win. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) return hashedMatches(field, name);
  let positive = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      positive = true;
    }
  }
  return positive;
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split("|"); // ["", "1", salt, hash]
  if (parts.length !== 4 || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], "base64");
  const want = Buffer.from(parts[3], "base64");
  const got = createHmac("sha1", salt).update(name).digest();
  return want.length === got.length && want.equals(got);
}

/** ssh(1) host patterns: `*` any run, `?` one character; case-insensitive like ssh's match_pattern on hosts. */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".")}$`,
    "i",
  );
  return re.test(name);
}

/** The key type name inside an SSH wire-format public key blob (its first length-prefixed string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) return "unknown";
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** The fingerprint as `ssh-keygen -lf` and ssh print it: SHA256, base64 without padding. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Decide what known_hosts says about this key for this host (name as from hostLookupName). */
export function verifyHostKey(entries: readonly KnownHostEntry[], name: string, key: Buffer): HostKeyVerdict {
  const mine = entries.filter((e) => hostFieldMatches(e.hosts, name));
  // A revoked key is refused whatever else the file says.
  const revoked = mine.find((e) => e.marker === "revoked" && e.key.equals(key));
  if (revoked) return { kind: "revoked", entry: revoked };
  const plain = mine.filter((e) => e.marker === undefined);
  const match = plain.find((e) => e.key.equals(key));
  if (match) return { kind: "match", entry: match };
  const type = keyTypeOfBlob(key);
  const sameType = plain.filter((e) => keyTypeOfBlob(e.key) === type);
  if (sameType.length > 0) return { kind: "changed", entries: sameType };
  return { kind: "unknown", otherTypes: [...new Set(plain.map((e) => keyTypeOfBlob(e.key)))] };
}

/** Key types on record for a host, so the client can ask the server for a key we can check (as ssh does). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  return [
    ...new Set(
      entries
        .filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, name))
        .map((e) => keyTypeOfBlob(e.key)),
    ),
  ];
}

/** Read a known_hosts file; a missing file is an empty one. */
export async function loadKnownHosts(path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** The line accept-new appends (plain name, like `ssh -o HashKnownHosts=no`, so the operator can audit it). */
export function knownHostsLine(name: string, key: Buffer): string {
  return `${name} ${keyTypeOfBlob(key)} ${key.toString("base64")}\n`;
}

/**
 * Append an accepted key (accept-new, for an UNKNOWN host only: the caller must never call this for a changed
 * or revoked key). Creates the file 0600 and its directory 0700 when missing, as ssh does.
 */
export async function appendKnownHost(path: string, name: string, key: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = "";
  try {
    const existing = await readFile(path, "utf8");
    if (existing.length > 0 && !existing.endsWith("\n")) prefix = "\n";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  await appendFile(path, prefix + knownHostsLine(name, key), { mode: 0o600 });
}
