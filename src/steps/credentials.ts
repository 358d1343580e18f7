/**
 * Credentials the old controller's services use, read from its config files at run time (`credentials: keep`),
 * and the 0600 secret files on the new controller holding generated ones (`credentials: new`). Nothing here is
 * ever put in step params, the journal or an argv. The config helpers (config.rewrite) read the same files.
 */
import { getValue, parseIni } from "../config/oslo-ini.js";
import { parseUrl } from "../config/url-hosts.js";
import type { Host } from "../hosts/host.js";
import { UserError } from "../lib/errors.js";

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface DbUrlParts extends Credentials {
  /** Database name from the URL's path ("" when none). */
  readonly database: string;
}

export interface TransportParts extends Credentials {
  /** Virtual host ("/" when the URL names none). */
  readonly vhost: string;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // not percent-encoded after all: SQLAlchemy and oslo.messaging take it as written too
  }
}

function userinfoOf(url: string): Credentials | undefined {
  const p = parseUrl(url);
  const n = p?.netlocs[0];
  if (!p || !n?.userinfo) return undefined;
  const ui = url.slice(n.userinfo.start, n.userinfo.end);
  const colon = ui.indexOf(":");
  if (colon < 0) return { user: decode(ui), password: "" };
  return { user: decode(ui.slice(0, colon)), password: decode(ui.slice(colon + 1)) };
}

/** `mysql+pymysql://user:pass@host:3306/db?charset=utf8` -> user, password, database. */
export function parseDbUrl(url: string): DbUrlParts | undefined {
  const p = parseUrl(url);
  const ui = userinfoOf(url);
  if (!p || !ui) return undefined;
  const rest = url.slice(p.restStart);
  const m = /^\/([^?#]*)/.exec(rest);
  return { ...ui, database: decode(m?.[1] ?? "") };
}

/** `rabbit://user:pass@host:5672,user:pass@host2:5672/vhost` -> the first host's user/password and the vhost. */
export function parseTransportUrl(url: string): TransportParts | undefined {
  const p = parseUrl(url);
  const ui = userinfoOf(url);
  if (!p || !ui) return undefined;
  const rest = url.slice(p.restStart);
  const m = /^\/([^?#]*)/.exec(rest);
  const vhost = m?.[1] ? decode(m[1]) : "/";
  return { ...ui, vhost };
}

/** Replaces the database name in a DB URL's path, keeping every other byte (nova cell0's URL from nova's). */
export function withDatabase(url: string, database: string): string {
  const p = parseUrl(url);
  if (!p) throw new UserError("CONFIG_URL", "not a database URL");
  const head = url.slice(0, p.restStart);
  const rest = url.slice(p.restStart);
  const m = /^\/[^?#]*/.exec(rest);
  return `${head}/${database}${m ? rest.slice(m[0].length) : rest}`;
}

async function readOption(host: Host, file: string, section: string, key: string): Promise<string> {
  const text = (await host.readFile(file)).toString("utf8");
  const v = getValue(parseIni(text), section, key);
  if (v === undefined || v.trim() === "") {
    throw new UserError("CREDENTIALS_NOT_FOUND", `on ${host.name}: ${file} has no [${section}] ${key}`, {
      nextSteps: [`Check ${file} on ${host.name}, or use credentials: new in the answer file.`],
    });
  }
  return v;
}

export interface DbCredentialSource {
  readonly database: string;
  readonly file: string;
  readonly section: string;
  readonly key: string;
}

/** Reads the user/password each listed database's URL carries on the old controller. */
export async function readDbCredentials(
  host: Host,
  sources: readonly DbCredentialSource[],
): Promise<Map<string, Credentials>> {
  const out = new Map<string, Credentials>();
  for (const s of sources) {
    const url = await readOption(host, s.file, s.section, s.key);
    const parts = parseDbUrl(url);
    if (!parts || parts.user === "") {
      throw new UserError(
        "CREDENTIALS_NOT_FOUND",
        `on ${host.name}: [${s.section}] ${s.key} in ${s.file} is not a database URL with a user`,
        { nextSteps: [`Check ${s.file} on ${host.name}.`] },
      );
    }
    out.set(s.database, { user: parts.user, password: parts.password });
  }
  return out;
}

/** The transport_url credentials and vhost of a config file on the old controller. */
export async function readTransportCredentials(host: Host, file: string): Promise<TransportParts> {
  const url = await readOption(host, file, "DEFAULT", "transport_url");
  const parts = parseTransportUrl(url);
  if (!parts || parts.user === "") {
    throw new UserError("CREDENTIALS_NOT_FOUND", `on ${host.name}: transport_url in ${file} has no user`, {
      nextSteps: [`Check ${file} on ${host.name}.`],
    });
  }
  return parts;
}

/** A generated credential kept on the new controller: JSON {user, password}, mode 0600, in a 0700 directory. */
export async function readSecretFile(host: Host, path: string): Promise<Credentials | undefined> {
  if ((await host.stat(path)) === undefined) return undefined;
  const raw = (await host.readFile(path)).toString("utf8");
  try {
    const v = JSON.parse(raw) as Partial<Credentials>;
    if (typeof v.user === "string" && typeof v.password === "string")
      return { user: v.user, password: v.password };
  } catch {
    // fall through
  }
  throw new UserError(
    "SECRET_FILE_CORRUPT",
    `on ${host.name}: ${path} is not a credentials file handover wrote`,
    {
      nextSteps: [`Remove ${path} on ${host.name} so handover generates new credentials, then re-run.`],
    },
  );
}

export async function writeSecretFile(host: Host, path: string, c: Credentials): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await host.run(["mkdir", "-p", "-m", "0700", "--", dir]);
  await host.writeFileAtomic(path, `${JSON.stringify({ user: c.user, password: c.password })}\n`, {
    mode: 0o600,
    uid: 0,
    gid: 0,
  });
}
