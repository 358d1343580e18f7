/**
 * The temporary SSH key pair that lets the destination (new) pull from the source (old) with rsync:
 * - generated on the destination in a private `mktemp -d` dir (0700), never leaving it (only the public half
 *   travels, through the jump);
 * - installed in the source's root authorized_keys restricted to the destination's address
 *   (`from="<addr>",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding`), marked with a comment
 *   `handover-temp-<nonce>`;
 * - the source's host keys written by us into a known_hosts beside the private key, so the rsync's ssh checks the
 *   source strictly and never prompts or learns keys;
 * - removed afterwards (authorized_keys line and the dir). Callers journal the nonce and dir BEFORE installing
 *   (`onRecord`), so a crash cannot leave the key behind: undo and the next attempt call `removeTempKeys`.
 * One key serves a whole run (files.temp-key creates it before the warm pass, files.temp-key-remove removes it
 * after the last in-window pass): making and removing it costs a dozen SSH round trips, seconds per pass.
 *
 * authorized_keys is edited read-modify-write; two steps editing it at once (e.g. an image pass and a volume pass
 * each making its own key) could lose a line or put a removed one back, so edits of one source host are
 * serialised in this process.
 */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { Host } from "../hosts/host.js";
import { TEMP_DIR_PATTERN, makeTempDir, removeTempDir } from "../db/mysql-cli.js";
import { UserError } from "../lib/errors.js";
import { hostFieldMatches, hostLookupName, loadKnownHosts } from "../hosts/known-hosts.js";

export const AUTHORIZED_KEYS = "/root/.ssh/authorized_keys";
/** Marks our lines in authorized_keys; nothing else writes it, so every such line is ours to remove. */
export const KEY_MARK = "handover-temp-";
const MARKED_LINE = new RegExp(`\\s${KEY_MARK}[0-9a-f]{8,}\\s*$`);
const HOST_KEY_FILES = [
  "/etc/ssh/ssh_host_ed25519_key.pub",
  "/etc/ssh/ssh_host_ecdsa_key.pub",
  "/etc/ssh/ssh_host_rsa_key.pub",
];
const ADDRESS = /^[0-9A-Fa-f.:]+$|^[A-Za-z0-9.-]+$/;

/** Edits of a source's authorized_keys, chained per host (see the header). */
const editing = new WeakMap<Host, Promise<unknown>>();

function serialised<T>(source: Host, fn: () => Promise<T>): Promise<T> {
  const before = editing.get(source) ?? Promise.resolve();
  const mine = before.then(fn, fn);
  editing.set(
    source,
    mine.catch(() => undefined),
  );
  return mine;
}

/** Where the source's authorized_keys is: root's, except in tests against a private sshd. */
export interface KeyFileOption {
  /** @default AUTHORIZED_KEYS */
  readonly authorizedKeys?: string;
}

export interface TempKey {
  /** Dir on the destination holding `id`, `id.pub` and `known_hosts`. */
  readonly dir: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  readonly nonce: string;
}

/** What callers journal: enough to remove everything again. */
export interface TempKeyRecord {
  readonly dir: string;
  readonly nonce: string;
}

/** The authorized_keys line: the key may only be used from `fromAddress`, without a pty or any forwarding. */
export function restrictedKeyLine(publicKey: string, fromAddress: string, nonce: string): string {
  if (!ADDRESS.test(fromAddress))
    throw new UserError("PLAN_PARAM", `unusual address for from=: ${fromAddress}`);
  const [type, blob] = publicKey.trim().split(/\s+/);
  if (!type || !blob || !/^ssh-|^ecdsa-/.test(type)) {
    throw new UserError("TEMP_KEY_FAILED", "ssh-keygen wrote an unexpected public key");
  }
  return `from="${fromAddress}",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ${type} ${blob} ${KEY_MARK}${nonce}`;
}

/** authorized_keys text without our marked lines (only these nonces, or every marked line when omitted). */
export function withoutTempKeys(text: string, nonces?: readonly string[]): string {
  const lines = text.split("\n");
  const keep = lines.filter((l) => {
    if (!MARKED_LINE.test(l)) return true;
    return nonces !== undefined && !nonces.some((n) => l.trimEnd().endsWith(`${KEY_MARK}${n}`));
  });
  return keep.join("\n");
}

/** What an SshHost records about the host key it verified (duck-typed: Host itself does not promise it). */
interface VerifiedHostKey {
  readonly hostKey?: { readonly knownHostsFile: string; readonly line: number | undefined };
}

/**
 * The source's host keys as the jump itself verified them: the known_hosts entries (same host field as the line
 * that matched when handover connected) of the answer file's known_hosts. That is the key sshd really serves on
 * the address, checked without trusting the network; /etc/ssh/*.pub on the source can differ from it (an sshd
 * started with its own HostKey, as in the lab).
 */
async function jumpVerifiedKeys(source: Host): Promise<string[]> {
  const hk = (source as Host & VerifiedHostKey).hostKey;
  if (!hk || typeof hk.knownHostsFile !== "string") return [];
  const entries = await loadKnownHosts(hk.knownHostsFile);
  const matched =
    entries.find((e) => e.line === hk.line) ??
    entries.find((e) => hostFieldMatches(e.hosts, hostLookupName(source.address, 22)));
  if (!matched) return [];
  return entries
    .filter((e) => e.hosts === matched.hosts && e.marker === undefined)
    .map((e) => `${e.keyType} ${e.key.toString("base64")}`);
}

/** The source's own public host key files (when the jump's verified key is not available). */
async function hostKeyFiles(source: Host): Promise<string[]> {
  const out: string[] = [];
  for (const f of HOST_KEY_FILES) {
    if ((await source.stat(f)) === undefined) continue;
    const [type, blob] = (await source.readFile(f)).toString("utf8").trim().split(/\s+/);
    if (type && blob) out.push(`${type} ${blob}`);
  }
  return out;
}

/** known_hosts lines for `address`: the keys the jump verified, else the source's host key files. */
export async function knownHostsFor(source: Host, address: string, port = 22): Promise<string> {
  const name = hostLookupName(address, port);
  // Make sure the connection (and so its verified key) exists before asking for it.
  await source.isReachable();
  let keys = await jumpVerifiedKeys(source);
  if (keys.length === 0) keys = await hostKeyFiles(source);
  if (keys.length === 0) {
    throw new UserError("TEMP_KEY_FAILED", `on ${source.name}: no SSH host key found in /etc/ssh`, {
      nextSteps: [`Check sshd's host keys on ${source.name}.`],
    });
  }
  return `${keys.map((k) => `${name} ${k}`).join("\n")}\n`;
}

/**
 * Creates the key on `dest`, installs it on `source` for `fromAddress`, writes the known_hosts for `sourceAddress`.
 * `onRecord` is called (to journal) after the dir exists and BEFORE the source is touched.
 */
export async function createTempKey(
  dest: Host,
  source: Host,
  opts: {
    fromAddress: string;
    sourceAddress: string;
    port?: number;
    onRecord: (r: TempKeyRecord) => void;
  } & KeyFileOption,
): Promise<TempKey> {
  const authorizedKeys = opts.authorizedKeys ?? AUTHORIZED_KEYS;
  const nonce = randomBytes(8).toString("hex");
  const dir = await makeTempDir(dest);
  opts.onRecord({ dir, nonce });
  const identityFile = `${dir}/id`;
  const knownHostsFile = `${dir}/known_hosts`;
  await dest.run([
    "ssh-keygen",
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    `${KEY_MARK}${nonce}`,
    "-f",
    identityFile,
  ]);
  const pub = (await dest.readFile(`${identityFile}.pub`)).toString("utf8");
  await dest.writeFileAtomic(knownHostsFile, await knownHostsFor(source, opts.sourceAddress, opts.port), {
    mode: 0o600,
    uid: 0,
    gid: 0,
  });
  const line = restrictedKeyLine(pub, opts.fromAddress, nonce);
  await serialised(source, async () => {
    await source.run(["mkdir", "-p", "-m", "0700", "--", posix.dirname(authorizedKeys)]);
    const current = (await source.stat(authorizedKeys))
      ? (await source.readFile(authorizedKeys)).toString("utf8")
      : "";
    const sep = current === "" || current.endsWith("\n") ? "" : "\n";
    // writeFileAtomic keeps an existing file's owner and mode; a new one is root's, 0600 (sshd's StrictModes).
    await source.writeFileAtomic(authorizedKeys, `${current}${sep}${line}\n`, {
      mode: 0o600,
      uid: 0,
      gid: 0,
    });
  });
  return { dir, identityFile, knownHostsFile, nonce };
}

/** The key a record names (the files in its dir are always `id` and `known_hosts`). */
export function keyOfRecord(r: TempKeyRecord): TempKey {
  return { dir: r.dir, nonce: r.nonce, identityFile: `${r.dir}/id`, knownHostsFile: `${r.dir}/known_hosts` };
}

/**
 * Why `key` cannot be used as it is (its files gone from the destination, e.g. /tmp wiped by a reboot, or its line
 * gone from the source), or undefined when both halves are in place.
 */
export async function tempKeyMissing(
  dest: Host,
  source: Host,
  key: TempKey,
  opts: KeyFileOption = {},
): Promise<string | undefined> {
  const authorizedKeys = opts.authorizedKeys ?? AUTHORIZED_KEYS;
  // One round trip for both files: this runs at the start of every pass, inside the freeze window.
  const files = await dest.exec(["test", "-f", key.identityFile, "-a", "-f", key.knownHostsFile]);
  if (files.exitCode !== 0) return `${key.dir} is gone from ${dest.name}`;
  const text = (await source.stat(authorizedKeys))
    ? (await source.readFile(authorizedKeys)).toString("utf8")
    : "";
  if (!text.split("\n").some((l) => MARKED_LINE.test(l) && l.trimEnd().endsWith(`${KEY_MARK}${key.nonce}`)))
    return `its line is gone from ${authorizedKeys} on ${source.name}`;
  return undefined;
}

/** The nonces of our marked lines in the source's authorized_keys. */
export async function installedNonces(source: Host, opts: KeyFileOption = {}): Promise<string[]> {
  const authorizedKeys = opts.authorizedKeys ?? AUTHORIZED_KEYS;
  if (!(await source.stat(authorizedKeys))) return [];
  return (await source.readFile(authorizedKeys))
    .toString("utf8")
    .split("\n")
    .filter((l) => MARKED_LINE.test(l))
    .map((l) => l.trimEnd().slice(l.trimEnd().lastIndexOf(KEY_MARK) + KEY_MARK.length));
}

/** Removes the recorded keys' lines from the source and their dirs on the destination. Idempotent. */
export async function removeTempKeys(
  dest: Host,
  source: Host,
  records: readonly TempKeyRecord[],
  opts: KeyFileOption = {},
): Promise<void> {
  if (records.length === 0) return;
  const authorizedKeys = opts.authorizedKeys ?? AUTHORIZED_KEYS;
  await serialised(source, async () => {
    if (!(await source.stat(authorizedKeys))) return;
    const text = (await source.readFile(authorizedKeys)).toString("utf8");
    const cleaned = withoutTempKeys(
      text,
      records.map((r) => r.nonce),
    );
    // Nothing left means the file was ours alone (sshd treats an empty file and none alike): remove it.
    if (cleaned.trim() === "" && text.trim() !== "") await source.removeFile(authorizedKeys);
    else if (cleaned !== text) await source.writeFileAtomic(authorizedKeys, cleaned);
  });
  for (const r of records) if (TEMP_DIR_PATTERN.test(r.dir)) await removeTempDir(dest, r.dir);
}

/** Records from journaled undo data (`tempKeys: [{dir, nonce}]`); malformed entries are skipped. */
export function tempKeyRecords(v: unknown): TempKeyRecord[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x) => {
    if (typeof x !== "object" || x === null) return [];
    const r = x as Record<string, unknown>;
    return typeof r.dir === "string" && typeof r.nonce === "string" && /^[0-9a-f]{8,}$/.test(r.nonce)
      ? [{ dir: r.dir, nonce: r.nonce }]
      : [];
  });
}
