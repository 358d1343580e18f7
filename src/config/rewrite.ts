/**
 * Rewrites one service's oslo.config file for the new controller: hosts inside DB connection URLs, transport
 * URLs, keystone/glance/neutron/placement/cinder endpoints, memcached lists and address options, optional new
 * credentials inside URLs, and cinder's iSCSI option renames. Pure: text in, text and a change list out.
 *
 * Which values are touched, and why this way:
 * - Any value that is a URL (`scheme://...`) or a list of URLs gets mapped hosts replaced, whatever its option:
 *   configs name endpoints in many places (`[vnc] novncproxy_base_url`, `[neutron] auth_url`, `[glance]
 *   api_servers`, `[oslo_messaging_notifications] transport_url`), and a URL naming the old controller is wrong
 *   on the new one wherever it is.
 * - OVSDB connection strings (`[ovn] ovn_nb_connection = tcp:10.0.0.1:6641`) have their own syntax, handled too.
 * - Host lists without a scheme (`memcached_servers`, legacy `rabbit_hosts`, pre-Queens `api_servers`) are
 *   rewritten for options whose name says they hold hosts.
 * - A bare value is replaced when the option's name says it is an address (`my_ip`, `*_listen`, `*_host`,
 *   `*_ip`, `*_address`) or when the value is an IP address that is in the map. `host` and `backend_host` are
 *   never touched: nova and cinder key their service records, instances and volumes on them, and changing them
 *   would orphan every volume of the old controller.
 */
import { isSecretOption, maskValue } from "./secrets.js";
import {
  getValue,
  normalizeSection,
  parseIni,
  renameOption,
  replaceOccurrences,
  serializeIni,
  setOption,
  type IniDocument,
  type IniOption,
  type OccurrenceEdit,
} from "./oslo-ini.js";
import {
  canonicalHost,
  hostMap,
  isOvsdbConnection,
  isUrl,
  rewriteBareHost,
  rewriteOvsdbConnections,
  rewriteHostList,
  rewriteUrl,
  type HostMap,
  type UrlCredentials,
  type UrlRewrite,
} from "./url-hosts.js";

/** New credentials for the URL held by one option (e.g. `[database] connection`). */
export interface CredentialChange extends UrlCredentials {
  readonly section: string;
  readonly key: string;
}

/** An option to set to a literal value (e.g. a new `[keystone_authtoken] password`). */
export interface OptionSetting {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  /** Mask the value in the change list even when the option's name does not look secret. */
  readonly secret?: boolean;
}

export interface RewriteSpec {
  /** Old host -> new host: IPv4/IPv6 addresses or names, compared in canonical form. */
  readonly hosts: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** New usernames/passwords inside URL values; raw values, percent-encoded here. */
  readonly credentials?: readonly CredentialChange[];
  /** Options set verbatim after the host rewrite. */
  readonly set?: readonly OptionSetting[];
  /**
   * Rename cinder's `iscsi_*` target options to their `target_*` names (cinder renamed them in Queens; the old
   * names are deprecated aliases). The old line is kept, commented out, next to the new one.
   * @default true
   */
  readonly renameIscsiOptions?: boolean;
}

/** One change, safe to print: passwords inside URLs and values of secret options are masked. */
export interface ConfigChange {
  readonly section: string;
  readonly key: string;
  readonly action: "changed" | "added" | "renamed";
  /** Masked old value (for "renamed": the old option's name and value). */
  readonly before?: string;
  /** Masked new value. */
  readonly after: string;
  /** Hosts replaced in this value, as written. */
  readonly hosts: readonly { readonly from: string; readonly to: string }[];
}

export interface RewriteResult {
  readonly text: string;
  readonly changes: readonly ConfigChange[];
  /** Lines oslo.config would reject, reported so the operator sees them before the service does. */
  readonly problems: readonly string[];
}

/** Cinder's Queens renames: old name -> new name. */
export const CINDER_TARGET_RENAMES: readonly (readonly [string, string])[] = [
  ["iscsi_ip_address", "target_ip_address"],
  ["iscsi_secondary_ip_addresses", "target_secondary_ip_addresses"],
  ["iscsi_port", "target_port"],
  ["iscsi_helper", "target_helper"],
  ["iscsi_protocol", "target_protocol"],
  ["iscsi_target_prefix", "target_prefix"],
];

/** Options that identify a service instance rather than address one: never rewritten as a bare host. */
const IDENTITY_KEYS = new Set(["host", "backend_host", "cluster"]);
const ADDRESS_KEY = /(^|_)(ip|host|address|listen)$/;
const HOST_LIST_KEY = /(^|_)(servers|hosts|addresses)$/;

function toMap(hosts: RewriteSpec["hosts"]): HostMap {
  return hostMap(hosts instanceof Map ? hosts.entries() : Object.entries(hosts));
}

/** A URL or several comma-separated URLs (messaging URLs are one URL with several hosts: parseUrl splits those). */
function rewriteUrlValue(value: string, map: HostMap, creds: UrlCredentials | undefined): UrlRewrite {
  const parts = value.split(/,(?=\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/)/);
  if (parts.length === 1) return rewriteUrl(value, map, creds);
  const results = parts.map((p) => {
    const lead = /^\s*/.exec(p)?.[0] ?? "";
    const r = rewriteUrl(p.slice(lead.length), map, creds);
    return { ...r, value: lead + r.value };
  });
  return {
    value: results.map((r) => r.value).join(","),
    hosts: results.flatMap((r) => r.hosts),
    credentialsChanged: results.some((r) => r.credentialsChanged),
  };
}

function isIpLiteral(value: string): boolean {
  const c = canonicalHost(value);
  return c !== undefined && (/^\d+\.\d+\.\d+\.\d+$/.test(c) || c.startsWith("["));
}

/** The rewritten value of one line of a value (values spanning continuation lines are rewritten line by line). */
function rewriteLine(
  key: string,
  value: string,
  map: HostMap,
  creds: UrlCredentials | undefined,
): UrlRewrite {
  if (isUrl(value.trim())) return rewriteUrlValue(value, map, creds);
  // A password that happens to look like an address is still a password.
  if (isSecretOption(key)) return { value, hosts: [], credentialsChanged: false };
  if (isOvsdbConnection(value)) return rewriteOvsdbConnections(value, map);
  if (HOST_LIST_KEY.test(key)) return rewriteHostList(value, map);
  if (IDENTITY_KEYS.has(key)) return { value, hosts: [], credentialsChanged: false };
  if (ADDRESS_KEY.test(key) || isIpLiteral(value)) return rewriteBareHost(value, map);
  return { value, hosts: [], credentialsChanged: false };
}

function rewriteValue(o: IniOption, map: HostMap, creds: UrlCredentials | undefined): UrlRewrite {
  const lines = o.value.split("\n").map((l) => rewriteLine(o.key, l, map, creds));
  return {
    value: lines.map((l) => l.value).join("\n"),
    hosts: lines.flatMap((l) => l.hosts),
    credentialsChanged: lines.some((l) => l.credentialsChanged),
  };
}

const sameSection = (a: string | null, b: string): boolean =>
  a !== null && normalizeSection(a) === normalizeSection(b);

function masked(key: string, value: string, secret = false): string {
  return secret && value !== "" ? "***" : maskValue(key, value);
}

/** Rewrites `text` (one oslo.config file) according to `spec`. */
export function rewriteConfig(text: string, spec: RewriteSpec): RewriteResult {
  const map = toMap(spec.hosts);
  let doc: IniDocument = parseIni(text);
  const changes: ConfigChange[] = [];
  const problems = doc.problems.map((p) => `line ${p.line + 1}: ${p.message}`);

  // 1. Cinder's iscsi_* -> target_* renames, first, so the commented-out old line shows the value as it was;
  //    the new line gets the value with hosts already mapped.
  if (spec.renameIscsiOptions ?? true) {
    for (const [oldKey, newKey] of CINDER_TARGET_RENAMES) {
      // One entry per section, whatever the case of its repeated headers ([lvm] and [LVM] are one group).
      const sections = [
        ...new Map(
          doc.options
            .filter((o) => o.key === oldKey && o.section !== null)
            .map((o) => [normalizeSection(o.section ?? ""), o.section ?? ""]),
        ).values(),
      ];
      for (const section of sections) {
        const last = doc.options.filter((o) => o.key === oldKey && sameSection(o.section, section)).at(-1);
        const value = last ? rewriteValue(last, map, undefined).value : "";
        const existing = getValue(doc, section, newKey);
        doc = renameOption(doc, section, oldKey, newKey, existing ?? value);
        changes.push({
          section,
          key: newKey,
          action: "renamed",
          before: `${oldKey} = ${masked(oldKey, value)}`,
          after: masked(newKey, existing ?? value),
          hosts: [],
        });
      }
    }
  }

  // 2. Hosts and credentials inside every active value, in one pass over the original occurrences.
  const edits: OccurrenceEdit[] = [];
  for (const o of doc.options) {
    if (o.section === null) continue;
    const cred = spec.credentials?.find((c) => c.key === o.key && sameSection(o.section, c.section));
    const r = rewriteValue(o, map, cred);
    if (r.value === o.value) continue;
    edits.push({ option: o, value: r.value });
    changes.push({
      section: o.section,
      key: o.key,
      action: "changed",
      before: masked(o.key, o.value),
      after: masked(o.key, r.value),
      hosts: r.hosts,
    });
  }
  doc = replaceOccurrences(doc, edits);

  // 3. Literal settings.
  for (const s of spec.set ?? []) {
    const before = getValue(doc, s.section, s.key);
    if (before === s.value) continue;
    doc = setOption(doc, s.section, s.key, s.value);
    const secret = s.secret === true || isSecretOption(s.key);
    changes.push({
      section: s.section,
      key: s.key,
      action: before === undefined ? "added" : "changed",
      ...(before === undefined ? {} : { before: masked(s.key, before, secret) }),
      after: masked(s.key, s.value, secret),
      hosts: [],
    });
  }

  return { text: serializeIni(doc), changes, problems };
}

/** Hosts the config still names that are in the map: after a rewrite this must be empty (used by verify). */
export function remainingOldHosts(
  text: string,
  hosts: RewriteSpec["hosts"],
): { section: string; key: string; host: string }[] {
  const map = toMap(hosts);
  const doc = parseIni(text);
  const out: { section: string; key: string; host: string }[] = [];
  for (const o of doc.options) {
    if (o.section === null) continue;
    for (const h of rewriteValue(o, map, undefined).hosts)
      out.push({ section: o.section, key: o.key, host: h.from });
  }
  return out;
}
