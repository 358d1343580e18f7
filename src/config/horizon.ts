/**
 * Edits Horizon's `local_settings.py` (Debian/Ubuntu: /etc/openstack-dashboard/local_settings.py) without
 * executing or reformatting it: `OPENSTACK_HOST`, `OPENSTACK_KEYSTONE_DEFAULT_ROLE` (`_member_` became `member`
 * when keystone started bootstrapping `member`, Rocky), and hosts inside string literals (`CACHES` locations,
 * a hard-coded `OPENSTACK_KEYSTONE_URL`). Every other byte stays as it was.
 *
 * A small scanner tells code from comments and strings and knows bracket depth, so that only top-level
 * statements count as settings (a `'LOCATION':` inside a dict or an assignment inside an `if` is not one) and a
 * `#` inside a string does not start a comment.
 */
import {
  canonicalHost,
  hostMap,
  isUrl,
  rewriteBareHost,
  rewriteHostList,
  rewriteUrl,
  type HostMap,
} from "./url-hosts.js";

/** A one-line string literal in code: [start, end) covers the quotes (and any prefix such as r or u). */
interface StringLiteral {
  readonly start: number;
  readonly contentStart: number;
  readonly contentEnd: number;
  readonly end: number;
  readonly quote: string;
}

/** A top-level statement: where it starts and ends (end excludes its final line ending). */
interface Statement {
  readonly start: number;
  readonly end: number;
}

interface Scan {
  readonly statements: readonly Statement[];
  readonly strings: readonly StringLiteral[];
}

/** Scans Python source for top-level statements and single-line string literals. */
function scan(src: string): Scan {
  const statements: Statement[] = [];
  const strings: StringLiteral[] = [];
  let depth = 0;
  let i = 0;
  let stmtStart: number | undefined;
  let continued = false;
  const n = src.length;
  while (i < n) {
    const lineStart = i;
    const atTopLevel = depth === 0 && !continued;
    continued = false;
    // Statement starts at an unindented, non-blank, non-comment line.
    const ch0 = src[i];
    if (atTopLevel && ch0 !== undefined && !/[\s#]/.test(ch0)) stmtStart = lineStart;
    let lastCode = "";
    while (i < n && src[i] !== "\n" && src[i] !== "\r") {
      const c = src[i] ?? "";
      if (c === "#") {
        while (i < n && src[i] !== "\n" && src[i] !== "\r") i++;
        break;
      }
      if (c === '"' || c === "'") {
        const triple = src.startsWith(c.repeat(3), i);
        const q = triple ? c.repeat(3) : c;
        let prefixStart = i;
        while (prefixStart > lineStart && /[rRbBuUfF]/.test(src[prefixStart - 1] ?? "")) prefixStart--;
        let j = i + q.length;
        let closed = false;
        while (j < n) {
          if (src[j] === "\\") {
            j += 2;
            continue;
          }
          if (!triple && (src[j] === "\n" || src[j] === "\r")) break;
          if (src.startsWith(q, j)) {
            closed = true;
            break;
          }
          j++;
        }
        if (!triple && closed)
          strings.push({ start: prefixStart, contentStart: i + 1, contentEnd: j, end: j + 1, quote: c });
        i = closed ? j + q.length : j;
        lastCode = c;
        continue;
      }
      if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth = Math.max(0, depth - 1);
      if (!/\s/.test(c)) lastCode = c;
      i++;
    }
    // A backslash at the end of a line continues the statement.
    continued = lastCode === "\\" && src[i - 1] === "\\";
    const lineEnd = i;
    if (src[i] === "\r" && src[i + 1] === "\n") i += 2;
    else if (i < n) i++;
    if (stmtStart !== undefined && depth === 0 && !continued) {
      statements.push({ start: stmtStart, end: lineEnd });
      stmtStart = undefined;
    }
  }
  if (stmtStart !== undefined) statements.push({ start: stmtStart, end: n });
  return { statements, strings };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A Python string literal for `value` in the given quote style. */
function pyString(value: string, quote: string): string {
  return (
    quote +
    value
      .replace(/\\/g, "\\\\")
      .replace(new RegExp(quote, "g"), `\\${quote}`)
      .replace(/\n/g, "\\n")
      .replace(/\r/g, "\\r") +
    quote
  );
}

/** Top-level assignments `NAME = ...` (not `==`, not augmented), in file order. */
function assignments(src: string, sc: Scan, name: string): { stmt: Statement; rhsStart: number }[] {
  const re = new RegExp(`^${escapeRegExp(name)}\\s*=(?!=)\\s*`);
  const out: { stmt: Statement; rhsStart: number }[] = [];
  for (const stmt of sc.statements) {
    const m = re.exec(src.slice(stmt.start, stmt.end));
    if (m) out.push({ stmt, rhsStart: stmt.start + m[0].length });
  }
  return out;
}

/** The value of the last top-level `NAME = "literal"`; undefined when absent or not a plain string literal. */
export function getPythonString(src: string, name: string): string | undefined {
  const sc = scan(src);
  const last = assignments(src, sc, name).at(-1);
  if (!last) return undefined;
  const lit = sc.strings.find((s) => s.start === last.rhsStart);
  if (!lit || /\\/.test(src.slice(lit.contentStart, lit.contentEnd))) return undefined;
  const after = src.slice(lit.end, last.stmt.end);
  return /^\s*(#.*)?$/.test(after) ? src.slice(lit.contentStart, lit.contentEnd) : undefined;
}

/**
 * Sets `NAME = "value"` at top level. Every top-level assignment of NAME is set (a later line may read NAME
 * between two assignments, so all must agree). A plain string literal keeps its quote style and any trailing
 * comment; any other right-hand side is replaced whole. With no assignment, one is appended at the end.
 */
export function setPythonString(src: string, name: string, value: string): string {
  const sc = scan(src);
  const found = assignments(src, sc, name);
  if (found.length === 0) {
    const eol = /\r\n/.test(src) ? "\r\n" : "\n";
    const sep = src === "" || /[\r\n]$/.test(src) ? "" : eol;
    return `${src}${sep}${name} = ${pyString(value, '"')}${eol}`;
  }
  let out = src;
  for (const { stmt, rhsStart } of [...found].reverse()) {
    const lit = sc.strings.find((s) => s.start === rhsStart);
    const plain = lit !== undefined && /^\s*(#.*)?$/.test(src.slice(lit.end, stmt.end));
    const replaced = plain ? pyString(value, lit.quote) : pyString(value, '"');
    const to = plain ? lit.end : stmt.end;
    out = out.slice(0, rhsStart) + replaced + out.slice(to);
  }
  return out;
}

/** Replaces mapped hosts inside one-line string literals in code (not comments, not docstrings). */
function replaceHostsInStrings(
  src: string,
  map: HostMap,
): { text: string; hosts: { from: string; to: string }[] } {
  const sc = scan(src);
  const hosts: { from: string; to: string }[] = [];
  let out = src;
  for (const lit of [...sc.strings].reverse()) {
    const content = src.slice(lit.contentStart, lit.contentEnd);
    if (content.includes("\\") || content.trim() === "") continue;
    let r;
    if (isUrl(content)) r = rewriteUrl(content, map);
    else if (/^[^\s/]+:\d+(,\s*[^\s/]+:\d+)*$/.test(content) || /^inet6?:/.test(content))
      r = rewriteHostList(content, map);
    else if (canonicalHost(content) !== undefined && /^[\d.:[\]a-fA-F]+$/.test(content))
      r = rewriteBareHost(content, map);
    else continue;
    if (r.value === content) continue;
    hosts.push(...r.hosts);
    out = out.slice(0, lit.contentStart) + r.value + out.slice(lit.contentEnd);
  }
  return { text: out, hosts: hosts.reverse() };
}

export interface HorizonSpec {
  /** New `OPENSTACK_HOST` (the new controller's keystone address). */
  readonly openstackHost?: string;
  /** New `OPENSTACK_KEYSTONE_DEFAULT_ROLE`, e.g. "member". */
  readonly defaultRole?: string;
  /** Old host -> new host for addresses inside string literals. */
  readonly hosts?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

export interface HorizonChange {
  readonly name: string;
  readonly before?: string;
  readonly after: string;
}

export function rewriteHorizon(src: string, spec: HorizonSpec): { text: string; changes: HorizonChange[] } {
  let text = src;
  const changes: HorizonChange[] = [];
  if (spec.hosts) {
    const map = hostMap(spec.hosts instanceof Map ? spec.hosts.entries() : Object.entries(spec.hosts));
    const r = replaceHostsInStrings(text, map);
    text = r.text;
    for (const h of r.hosts) changes.push({ name: "host in a string", before: h.from, after: h.to });
  }
  const settings: [string, string | undefined][] = [
    ["OPENSTACK_HOST", spec.openstackHost],
    ["OPENSTACK_KEYSTONE_DEFAULT_ROLE", spec.defaultRole],
  ];
  for (const [name, value] of settings) {
    if (value === undefined) continue;
    const before = getPythonString(text, name);
    if (before === value) continue;
    text = setPythonString(text, name, value);
    changes.push({ name, ...(before === undefined ? {} : { before }), after: value });
  }
  return { text, changes };
}

/**
 * The source text of the right-hand side of the last top-level `NAME = ...` (any expression: a list such as
 * `ALLOWED_HOSTS = ['*']`, a multi-line dict, a string), as written; undefined when NAME is not assigned.
 * Used to carry a setting over from the old release's file verbatim.
 */
export function getPythonAssignmentSource(src: string, name: string): string | undefined {
  const sc = scan(src);
  const last = assignments(src, sc, name).at(-1);
  return last ? src.slice(last.rhsStart, last.stmt.end) : undefined;
}

/**
 * Sets every top-level `NAME = ...` to `NAME = <rhs>` (rhs is Python source, e.g. from
 * getPythonAssignmentSource); with no assignment, one is appended at the end.
 */
export function setPythonAssignmentSource(src: string, name: string, rhs: string): string {
  const sc = scan(src);
  const found = assignments(src, sc, name);
  if (found.length === 0) {
    const eol = /\r\n/.test(src) ? "\r\n" : "\n";
    const sep = src === "" || /[\r\n]$/.test(src) ? "" : eol;
    return `${src}${sep}${name} = ${rhs}${eol}`;
  }
  let out = src;
  for (const { stmt, rhsStart } of [...found].reverse())
    out = out.slice(0, rhsStart) + rhs + out.slice(stmt.end);
  return out;
}
