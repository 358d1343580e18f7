/**
 * Host replacement inside the URL-ish values OpenStack configs hold, changing the host and nothing else.
 *
 * Why not `new URL(value).toString()`: the WHATWG parser cannot read half of these values, and re-serialising
 * would change bytes we must keep. SQLAlchemy URLs allow a raw `#`, `/`, `?` or `;` in the password
 * (`mysql+pymysql://nova:N0va;db#pass@db/nova`: SQLAlchemy's password is `[^@]*`, WHATWG would cut a fragment
 * at `#`), and oslo.messaging transport URLs list several hosts (`rabbit://u:p@h1:5672,u:p@h2:5672/`), which is
 * not a URL at all to WHATWG. So the authority is split here by those libraries' own rules, the rest of the
 * value is kept byte for byte, and each host goes through the WHATWG `URL` class to be compared in canonical form
 * (lower-case names, `010.0.0.1`-style IPv4 and every IPv6 spelling normalised).
 */

/** Old host -> new host, keys in canonical form (see canonicalHost). */
export type HostMap = ReadonlyMap<string, string>;

/** Canonical form of a host for comparison; undefined when WHATWG URL does not accept it as a host. */
export function canonicalHost(host: string): string | undefined {
  const h = host.trim();
  if (h === "") return undefined;
  const bracketed = h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
  try {
    const u = new URL(`http://${bracketed}/`);
    // Only a bare host: anything that turned into a port, path or userinfo was not one.
    if (u.port !== "" || u.username !== "" || u.pathname !== "/" || u.search !== "" || u.hash !== "")
      return undefined;
    return u.hostname;
  } catch {
    return undefined;
  }
}

/** Builds a HostMap from operator input, keyed canonically. Hosts that are not hosts are ignored by the caller's validation. */
export function hostMap(entries: Iterable<readonly [string, string]>): HostMap {
  const m = new Map<string, string>();
  for (const [from, to] of entries) {
    const key = canonicalHost(from);
    if (key !== undefined) m.set(key, to);
  }
  return m;
}

/** The replacement for `host` as written in a URL or host:port (IPv6 bracketed), or undefined when not mapped. */
function mapped(hostText: string, map: HostMap, bracket: boolean): string | undefined {
  const key = canonicalHost(hostText);
  if (key === undefined) return undefined;
  const to = map.get(key);
  if (to === undefined) return undefined;
  const isV6 = to.includes(":") && !to.startsWith("[");
  return bracket && isV6 ? `[${to}]` : to;
}

/** New credentials for the userinfo of a URL. Given values are raw; they are percent-encoded here. */
export interface UrlCredentials {
  readonly username?: string;
  readonly password?: string;
}

/** Characters that may stay raw in userinfo; everything else is percent-encoded (SQLAlchemy and oslo.messaging both unquote). */
function encodeUserinfo(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** One `[user[:password]@]host[:port]` of an authority, as offsets into the value. */
interface Netloc {
  readonly start: number;
  /** Userinfo without the `@`, or undefined when absent. */
  readonly userinfo: { readonly start: number; readonly end: number } | undefined;
  readonly hostStart: number;
  readonly hostEnd: number;
  readonly end: number;
}

/** A URL value: scheme, its netlocs, and where the part after the authority starts. */
export interface ParsedUrl {
  readonly scheme: string;
  readonly netlocs: readonly Netloc[];
  readonly restStart: number;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** oslo.messaging drivers, whose URLs may carry several comma-separated hosts. */
const MESSAGING_SCHEMES = /^(rabbit|amqp|kombu|kafka|qpid|pika|zmq|fake)(\+|$)/i;

/** Database URLs, read by SQLAlchemy's `make_url` rather than by a URL parser. */
const SQLALCHEMY_SCHEMES = /^(mysql|mariadb|postgresql|postgres|sqlite|oracle|mssql|ibm_db_sa|db2)(\+|$)/i;

export function isUrl(value: string): boolean {
  return SCHEME.test(value);
}

/** Splits `host[:port]` starting at `pos` (up to `end`); IPv6 hosts are bracketed. */
function hostPort(value: string, pos: number, end: number, hostStop: RegExp): { hostEnd: number } {
  let p = pos;
  if (value[p] === "[") {
    const close = value.indexOf("]", p);
    p = close < 0 || close >= end ? end : close + 1;
  } else {
    while (p < end && !hostStop.test(value[p] ?? "")) p++;
  }
  return { hostEnd: p };
}

/**
 * Splits `value` (which must start with `scheme://`) into netlocs, by the rules of the library that reads it:
 * - database URLs as SQLAlchemy's `make_url` does: username `[^:/]*`, password `[^@]*` (so a raw `#`, `/` or
 *   `?` may sit in a password), host up to `/`, `:` or `?`;
 * - messaging URLs as oslo.messaging's TransportURL does: the authority (up to `/`, `?` or `#`) split on `,`,
 *   each part's userinfo up to its last `@`;
 * - anything else as a URL parser does (WHATWG, urllib): authority up to `/`, `?` or `#`, userinfo up to its
 *   last `@`.
 */
export function parseUrl(value: string): ParsedUrl | undefined {
  const m = SCHEME.exec(value);
  if (!m?.[1]) return undefined;
  const scheme = m[1];
  const begin = m[0].length;
  if (SQLALCHEMY_SCHEMES.test(scheme)) {
    const ui = /^[^:/]*(?::[^@]*)?@/.exec(value.slice(begin))?.[0];
    const hostStart = begin + (ui?.length ?? 0);
    const { hostEnd } = hostPort(value, hostStart, value.length, /[/:?]/);
    let end = hostEnd;
    if (value[end] === ":") while (end < value.length && !/[/?]/.test(value[end] ?? "")) end++;
    const userinfo = ui === undefined ? undefined : { start: begin, end: begin + ui.length - 1 };
    return { scheme, netlocs: [{ start: begin, userinfo, hostStart, hostEnd, end }], restStart: end };
  }
  let authorityEnd = begin;
  while (authorityEnd < value.length && !/[/?#]/.test(value[authorityEnd] ?? "")) authorityEnd++;
  const parts = MESSAGING_SCHEMES.test(scheme)
    ? value.slice(begin, authorityEnd).split(",")
    : [value.slice(begin, authorityEnd)];
  const netlocs: Netloc[] = [];
  let start = begin;
  for (const part of parts) {
    const end = start + part.length;
    const at = part.lastIndexOf("@");
    const hostStart = at < 0 ? start : start + at + 1;
    const { hostEnd } = hostPort(value, hostStart, end, /:/);
    netlocs.push({
      start,
      userinfo: at < 0 ? undefined : { start, end: start + at },
      hostStart,
      hostEnd,
      end,
    });
    start = end + 1;
  }
  return { scheme, netlocs, restStart: authorityEnd };
}

export interface UrlRewrite {
  readonly value: string;
  /** Hosts replaced, as written before and after. */
  readonly hosts: readonly { readonly from: string; readonly to: string }[];
  readonly credentialsChanged: boolean;
}

/** Replaces mapped hosts (and optionally credentials) in one URL, keeping every other byte. */
export function rewriteUrl(value: string, map: HostMap, credentials?: UrlCredentials): UrlRewrite {
  const parsed = parseUrl(value);
  if (!parsed) return { value, hosts: [], credentialsChanged: false };
  const hosts: { from: string; to: string }[] = [];
  let out = "";
  let pos = 0;
  let credentialsChanged = false;
  for (const n of parsed.netlocs) {
    out += value.slice(pos, n.start);
    if (credentials && (credentials.username !== undefined || credentials.password !== undefined)) {
      const old = n.userinfo ? value.slice(n.userinfo.start, n.userinfo.end) : "";
      const colon = old.indexOf(":");
      const oldUser = colon < 0 ? old : old.slice(0, colon);
      const oldPass = colon < 0 ? undefined : old.slice(colon + 1);
      const user = credentials.username !== undefined ? encodeUserinfo(credentials.username) : oldUser;
      const pass = credentials.password !== undefined ? encodeUserinfo(credentials.password) : oldPass;
      const ui = pass === undefined ? user : `${user}:${pass}`;
      out += ui === "" ? "" : `${ui}@`;
      credentialsChanged ||= ui !== old;
    } else {
      out += value.slice(n.start, n.hostStart);
    }
    const hostText = value.slice(n.hostStart, n.hostEnd);
    const to = mapped(hostText, map, true);
    if (to !== undefined && to !== hostText) {
      hosts.push({ from: hostText, to });
      out += to;
    } else {
      out += hostText;
    }
    pos = n.hostEnd;
  }
  out += value.slice(pos);
  return { value: out, hosts, credentialsChanged };
}

/**
 * Replaces hosts in a list of `host[:port]` entries, optionally with an address family prefix
 * (`inet6:[::1]:11211`, oslo.cache's memcache_servers) or as URLs (glance api_servers).
 */
export function rewriteHostList(value: string, map: HostMap): UrlRewrite {
  const hosts: { from: string; to: string }[] = [];
  const parts = value.split(",").map((part) => {
    const lead = /^\s*/.exec(part)?.[0] ?? "";
    const trail = /\s*$/.exec(part)?.[0] ?? "";
    const item = part.slice(lead.length, part.length - trail.length);
    if (isUrl(item)) {
      const r = rewriteUrl(item, map);
      hosts.push(...r.hosts);
      return lead + r.value + trail;
    }
    const fam = /^(inet6?:)?/.exec(item)?.[0] ?? "";
    const hp = item.slice(fam.length);
    let hostText: string;
    let tail: string;
    if (hp.startsWith("[")) {
      const close = hp.indexOf("]");
      hostText = close < 0 ? hp : hp.slice(0, close + 1);
      tail = close < 0 ? "" : hp.slice(close + 1);
    } else {
      const colons = hp.split(":").length - 1;
      // A bare IPv6 address has several colons and no port; host:port has exactly one.
      const cut = colons === 1 ? hp.indexOf(":") : hp.length;
      hostText = hp.slice(0, cut);
      tail = hp.slice(cut);
    }
    const to = mapped(hostText, map, hostText.startsWith("[") || tail !== "");
    if (to === undefined || to === hostText) return part;
    hosts.push({ from: hostText, to });
    return `${lead}${fam}${to}${tail}${trail}`;
  });
  return { value: parts.join(","), hosts, credentialsChanged: false };
}

/** Replaces a value that is a single bare host (`my_ip = 10.0.0.1`). */
export function rewriteBareHost(value: string, map: HostMap): UrlRewrite {
  const to = mapped(value, map, false);
  if (to === undefined || to === value) return { value, hosts: [], credentialsChanged: false };
  return { value: to, hosts: [{ from: value, to }], credentialsChanged: false };
}

const URL_PASSWORD = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@?#,]*:)[^@\s]*@/g;

/**
 * The value with every URL password replaced by `***` (for logs, journal and reports). A value that is a URL is
 * split like `parseUrl` does (so every host of a transport URL is covered); URLs further inside the text (lists,
 * Python strings) are caught by a pattern with SQLAlchemy's rule: the password runs to the next `@`.
 */
export function maskUrlPasswords(value: string): string {
  const lead = /^\s*/.exec(value)?.[0] ?? "";
  const v = value.slice(lead.length);
  const parsed = parseUrl(v);
  let out = v;
  if (parsed) {
    out = "";
    let pos = 0;
    for (const n of parsed.netlocs) {
      if (!n.userinfo) continue;
      const colon = v.slice(n.userinfo.start, n.userinfo.end).indexOf(":");
      if (colon < 0) continue;
      out += `${v.slice(pos, n.userinfo.start + colon + 1)}***`;
      pos = n.userinfo.end;
    }
    out += v.slice(pos);
  }
  return lead + out.replace(URL_PASSWORD, "$1***@");
}

const OVSDB_ENTRY = /^(\s*)(tcp|ssl):(\[[^\]]*\]|[^:,\s]+)(:\d*)?(\s*)$/;

/** True for OVSDB connection strings (`tcp:10.0.0.1:6641`, `ssl:[fd00::1]:6642`, comma-separated). */
export function isOvsdbConnection(value: string): boolean {
  return value.trim() !== "" && value.split(",").every((p) => OVSDB_ENTRY.test(p));
}

/**
 * Replaces hosts in OVSDB connection strings, neutron's `[ovn] ovn_nb_connection` / `ovn_sb_connection` and
 * `[ovs] ovsdb_connection`: `proto:host:port`, IPv6 hosts in brackets, several entries comma-separated.
 */
export function rewriteOvsdbConnections(value: string, map: HostMap): UrlRewrite {
  const hosts: { from: string; to: string }[] = [];
  const out = value
    .split(",")
    .map((part) => {
      const m = OVSDB_ENTRY.exec(part);
      if (!m) return part;
      const [, lead = "", proto = "", hostText = "", port = "", trail = ""] = m;
      const to = mapped(hostText, map, true);
      if (to === undefined || to === hostText) return part;
      hosts.push({ from: hostText, to });
      return `${lead}${proto}:${to}${port}${trail}`;
    })
    .join(",");
  return { value: out, hosts, credentialsChanged: false };
}
