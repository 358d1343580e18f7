/**
 * Pure parsers of the read-only commands' output (readonly-host.ts lists the commands). Each takes the text a
 * command printed and returns plain data; none of them throws on odd lines, which are skipped, because a host's
 * output is not ours to reject: what could not be read is simply not a fact.
 */
import type { DiskFacts, InterfaceFacts, OsFacts, UnitFacts } from "../plan/facts.js";

/** /etc/os-release (os-release(5)): KEY=value lines, values optionally quoted with shell-like escapes. */
export function parseOsRelease(text: string): OsFacts {
  const vars = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    let v = m[2].trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([$"`\\])/g, "$1");
    }
    vars.set(m[1], v);
  }
  return {
    id: (vars.get("ID") ?? "").toLowerCase(),
    versionId: vars.get("VERSION_ID") ?? "",
    // Older files and RHEL lack VERSION_CODENAME; Ubuntu also has UBUNTU_CODENAME.
    codename: vars.get("VERSION_CODENAME") ?? vars.get("UBUNTU_CODENAME") ?? "",
  };
}

/** `hostname`: the first line, trimmed. */
export function parseHostname(text: string): string {
  return (text.split(/\r?\n/)[0] ?? "").trim();
}

/**
 * `dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n'`: installed packages only. The abbreviation is
 * desired/status/error flags ("ii ", "rc ", "iU "); the second letter is the state, and only "i" (installed) and
 * the trigger states "W"/"t" (installed, triggers pending) count. "rc" (removed, configs left) is not installed.
 */
export function parseDpkgQuery(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([a-zA-Z])([a-zA-Z])([a-zA-Z ]?)\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (!m?.[2] || !m[4] || !m[5]) continue;
    if (!"iWt".includes(m[2])) continue;
    out.set(m[4], m[5]);
  }
  return out;
}

/** `rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n'`; an epoch of 0 is dropped, as rpm prints it. */
export function parseRpmQuery(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+)\s+(\d+):(\S+)\s*$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    out.set(m[1], m[2] === "0" ? m[3] : `${m[2]}:${m[3]}`);
  }
  return out;
}

/**
 * `df -B1 --output=target,avail,size -- PATH`: a header ("Mounted on  Avail  1B-blocks"), then one row whose
 * last two fields are numbers; the mount point may contain spaces. Returns undefined when no row parses.
 */
export function parseDf(text: string): { mount: string; freeBytes: number; totalBytes: number } | undefined {
  for (const line of text.split(/\r?\n/).slice(1)) {
    const m = /^\s*(.*\S)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m?.[1] && m[2] && m[3]) return { mount: m[1], freeBytes: Number(m[2]), totalBytes: Number(m[3]) };
  }
  return undefined;
}

/** A DiskFacts for the path asked about, from df run on that path (or its nearest existing parent). */
export function diskFacts(path: string, dfOutput: string): DiskFacts | undefined {
  const row = parseDf(dfOutput);
  return row ? { path, freeBytes: row.freeBytes, totalBytes: row.totalBytes } : undefined;
}

interface IpAddrInfo {
  family?: unknown;
  local?: unknown;
  prefixlen?: unknown;
  scope?: unknown;
}
interface IpLink {
  ifname?: unknown;
  flags?: unknown;
  link_type?: unknown;
  addr_info?: unknown;
}

/**
 * `ip -j addr show`: every non-loopback interface with its IPv4/IPv6 addresses as "address/prefix". IPv6
 * link-local addresses (fe80::/10) are left out: they never move and only clutter the plan.
 */
export function parseIpAddrJson(text: string): InterfaceFacts[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const out: InterfaceFacts[] = [];
  for (const link of data as IpLink[]) {
    if (typeof link.ifname !== "string") continue;
    const flags = Array.isArray(link.flags) ? link.flags : [];
    if (link.link_type === "loopback" || flags.includes("LOOPBACK")) continue;
    const addresses: string[] = [];
    for (const a of Array.isArray(link.addr_info) ? (link.addr_info as IpAddrInfo[]) : []) {
      if (typeof a.local !== "string" || typeof a.prefixlen !== "number") continue;
      if (a.family === "inet6" && (a.scope === "link" || /^fe[89ab]/i.test(a.local))) continue;
      addresses.push(`${a.local}/${a.prefixlen}`);
    }
    out.push({ name: link.ifname, addresses });
  }
  return out;
}

/**
 * `service --status-all` (Debian's init-system-helpers): " [ + ]  name" running, "[ - ]" stopped, "[ ? ]" no
 * status action (counted as not running: we cannot tell). Both stdout and stderr carry lines on some versions.
 */
export function parseServiceStatusAll(text: string): UnitFacts[] {
  const out: UnitFacts[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*\[\s*([+?-])\s*\]\s+(\S+)\s*$/.exec(line);
    if (m?.[1] && m[2]) out.push({ name: m[2], active: m[1] === "+" });
  }
  return out;
}

/** `systemctl list-units --type=service --all --no-legend --plain`: "name.service load active sub description". */
export function parseSystemctlUnits(text: string): UnitFacts[] {
  const out: UnitFacts[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*[●*]?\s*(\S+)\.service\s+(\S+)\s+(\S+)\s+(\S+)/.exec(line);
    if (m?.[1] && m[2] && m[3]) {
      if (m[2] === "not-found") continue;
      out.push({ name: m[1], active: m[3] === "active" });
    }
  }
  return out;
}
