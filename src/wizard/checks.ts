/**
 * Per-answer checks, made of the answer file's own rules so the wizard cannot accept what `validate` would
 * refuse: address syntax and CIDR membership from src/answers/addresses.ts, and the cross-field rules (a moved
 * address is not an SSH address, the staging address is not moved, releases go forward, apt lines) by running
 * src/answers/semantic.ts on the answers given so far and keeping the errors at the field being asked.
 */
import { RELEASES, formatPath, type FieldPath } from "../answers/index.js";
import { inCidr, parseAddress, parseCidr, parseIp, parsePortal } from "../answers/addresses.js";
import { checkSemantics, viewOfRaw } from "../answers/semantic.js";
import type { InterfaceFacts } from "../plan/facts.js";
import type { Validation } from "./ask.js";

/**
 * Errors the answer file's cross-field checks find at `paths` in `draft` (answers so far, raw shape). Several
 * paths because a conflict is reported at the other field (a moved address equal to the old controller's SSH
 * address is an error at controllers.old.ssh.address): the question that created it must see it.
 */
export function semanticErrorsAt(draft: unknown, ...paths: FieldPath[]): string[] {
  const want = new Set(paths.map(formatPath));
  return checkSemantics(
    viewOfRaw(draft),
    (severity, p, message) => ({ severity, file: "", line: 0, col: 0, path: formatPath(p), message }),
    { releases: RELEASES },
  )
    .filter((d) => d.severity === "error" && want.has(d.path))
    .map((d) => d.message);
}

/** Turns a list of reasons into a Validation. */
export function firstReason(reasons: readonly string[]): Validation {
  return reasons.length === 0 ? true : reasons.join("; ");
}

export function checkHostAddress(text: string): Validation {
  const p = parseAddress(text.trim());
  return p.kind === "invalid" ? p.reason : true;
}

export function checkIp(text: string): Validation {
  const p = parseIp(text.trim());
  return p.kind === "invalid" ? p.reason : true;
}

export function checkCidr(text: string): Validation {
  const p = parseCidr(text.trim());
  return p.kind === "invalid" ? p.reason : true;
}

export function checkPortal(text: string): Validation {
  const p = parsePortal(text.trim());
  return p.kind === "invalid" ? p.reason : true;
}

export function checkAbsolutePath(text: string): Validation {
  return /^(\/|~\/)/.test(text.trim()) ? true : "expected an absolute path starting with / or ~/";
}

export function checkEnvName(text: string): Validation {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text.trim())
    ? true
    : "expected an environment variable name such as MYSQL_PASSWORD";
}

export function checkInterfaceName(text: string): Validation {
  return /^[A-Za-z0-9_.:@-]{1,15}$/.test(text.trim())
    ? true
    : "expected a network interface name (1-15 characters: letters, digits, _ . : @ -)";
}

export function checkNetworkName(text: string): Validation {
  return /^[a-z0-9][a-z0-9_-]{0,31}$/.test(text.trim())
    ? true
    : "expected a short name: lowercase letters, digits, _ and -";
}

/** Releases go forward only (the same rule as semantic.ts, said before the file exists). */
export function checkTargetRelease(source: string, target: string): Validation {
  const from = RELEASES.indexOf(source);
  const to = RELEASES.indexOf(target);
  return to > from
    ? true
    : `expected a release newer than ${source} (handover upgrades; it does not downgrade)`;
}

/** An address worth offering as a moved one: not loopback, not link-local. */
export function isMovableCandidate(addressWithPrefix: string): boolean {
  const ip = parseIp(addressWithPrefix.split("/")[0] ?? "");
  if (ip.kind !== "ip") return false;
  const range = ip.ip.range();
  return range !== "loopback" && range !== "linkLocal" && range !== "unspecified";
}

/** The interface holding an address inside the same network as `address` (by that interface's own prefix). */
export function interfaceFor(
  interfaces: readonly InterfaceFacts[],
  address: string,
): { name: string; cidr: string } | undefined {
  const ip = parseIp(address.trim());
  if (ip.kind !== "ip") return undefined;
  for (const itf of interfaces) {
    for (const a of itf.addresses) {
      const cidr = parseCidr(a);
      if (cidr.kind === "cidr" && inCidr(ip.ip, cidr)) return { name: itf.name, cidr: cidr.canonical };
    }
  }
  return undefined;
}

/** The interface with an address inside `cidr`, e.g. the new controller's interface on the mgmt network. */
export function interfaceInCidr(interfaces: readonly InterfaceFacts[], cidrText: string): string | undefined {
  const cidr = parseCidr(cidrText.trim());
  if (cidr.kind !== "cidr") return undefined;
  for (const itf of interfaces) {
    for (const a of itf.addresses) {
      const ip = parseIp(a.split("/")[0] ?? "");
      if (ip.kind === "ip" && inCidr(ip.ip, cidr)) return itf.name;
    }
  }
  return undefined;
}
