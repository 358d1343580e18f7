/**
 * Checks that need the whole (schema-valid) answer file: address syntax, CIDR membership, addresses used twice,
 * which address may be reached when, release order, duplicates in lists. Pure: returns diagnostics, touches
 * nothing. Each rule says WHY in its message, since the operator has to decide what the right value is.
 */
import { inCidr, parseAddress, parseCidr, parseIp, parsePortal, type Ip } from "./addresses.js";
import { formatPath, type Diagnostic, type FieldPath } from "./diagnostics.js";
import type { Answers, SshDefaults, SshEndpoint } from "./schema.js";

type Make = (
  severity: Diagnostic["severity"],
  path: FieldPath,
  message: string,
  at?: "key" | "value",
) => Diagnostic;

export interface SemanticOptions {
  /** Release names oldest first. */
  readonly releases: readonly string[];
}

/** One use of an IP address in the file. */
interface Use {
  readonly path: FieldPath;
  readonly role: "old-ssh" | "new-ssh" | "staging" | "compute" | "moved";
  readonly key: string;
}

export function checkSemantics(answers: Answers, make: Make, options: SemanticOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (path: FieldPath, message: string) => out.push(make("error", path, message));
  const warning = (path: FieldPath, message: string) => out.push(make("warning", path, message));
  const uses: Use[] = [];

  checkReleases(answers, options.releases, error);

  // SSH endpoints: address syntax, and root or sudo.
  const endpoints: [FieldPath, SshEndpoint, Use["role"]][] = [
    [["controllers", "old", "ssh"], answers.controllers.old.ssh, "old-ssh"],
    [["controllers", "new", "ssh"], answers.controllers.new.ssh, "new-ssh"],
    ...answers.computes.hosts.map((h, i): [FieldPath, SshEndpoint, Use["role"]] => [
      ["computes", "hosts", i, "ssh"],
      h.ssh,
      "compute",
    ]),
  ];
  for (const [path, ssh, role] of endpoints) {
    const parsed = parseAddress(ssh.address);
    if (parsed.kind === "invalid") error([...path, "address"], `${parsed.reason}, got "${ssh.address}"`);
    else if (parsed.kind === "ip") uses.push({ path: [...path, "address"], role, key: parsed.normalised });
    checkSshSettings(path, ssh, error, warning);
  }
  if (answers.computes.ssh_defaults) {
    checkSshSettings(["computes", "ssh_defaults"], answers.computes.ssh_defaults, error, warning);
  }

  const staging = parseIp(answers.controllers.new.staging_address);
  if (staging.kind === "ip") {
    uses.push({ path: ["controllers", "new", "staging_address"], role: "staging", key: staging.normalised });
  } else {
    const text = answers.controllers.new.staging_address;
    const why =
      parseAddress(text).kind === "hostname"
        ? "expected an IP address, not a hostname: the staging address is configured on an interface"
        : staging.reason;
    error(["controllers", "new", "staging_address"], `${why}, got "${text}"`);
  }

  checkNetworks(answers, error, warning, uses);
  checkAddressUses(uses, answers, error);
  checkIscsi(answers, uses, error, warning);
  checkUnique(
    answers.services.map((s) => s as string),
    (i) => ["services", i],
    (name) => `service "${name}" is listed twice`,
    error,
  );
  checkUnique(
    answers.computes.hosts.map((h) => h.name.toLowerCase()),
    (i) => ["computes", "hosts", i, "name"],
    (name) => `compute host "${name}" is listed twice`,
    error,
  );
  checkPackages(answers, error);
  return out;
}

type Report = (path: FieldPath, message: string) => void;

function checkReleases(answers: Answers, releases: readonly string[], error: Report): void {
  const from = releases.indexOf(answers.source_release);
  const to = releases.indexOf(answers.target_release);
  if (from < 0)
    error(["source_release"], `release "${answers.source_release}" is not in the release catalog`);
  if (to < 0) error(["target_release"], `release "${answers.target_release}" is not in the release catalog`);
  if (from >= 0 && to >= 0 && to <= from) {
    error(
      ["target_release"],
      `expected a release newer than source_release "${answers.source_release}", got "${answers.target_release}" (handover upgrades; it does not downgrade)`,
    );
  }
}

function checkSshSettings(
  path: FieldPath,
  ssh: SshEndpoint | SshDefaults,
  error: Report,
  warning: Report,
): void {
  if (ssh.user !== "root" && !ssh.sudo) {
    error(
      [...path, "user"],
      `user "${ssh.user}" is not root, so handover needs sudo: expected sudo: true (passwordless sudo -n) or user: root`,
    );
  }
  if (ssh.passphrase !== undefined && ssh.key_file === undefined) {
    warning([...path, "passphrase"], "passphrase is only used with key_file, which is not set");
  }
}

function checkNetworks(answers: Answers, error: Report, warning: Report, uses: Use[]): void {
  checkUnique(
    answers.networks.map((n) => n.name),
    (i) => ["networks", i, "name"],
    (name) => `network "${name}" is listed twice`,
    error,
  );
  answers.networks.forEach((net, i) => {
    const base: FieldPath = ["networks", i];
    const cidr = parseCidr(net.cidr);
    if (cidr.kind === "invalid") error([...base, "cidr"], `${cidr.reason}, got "${net.cidr}"`);
    else if (cidr.hostBitsSet) {
      warning([...base, "cidr"], `"${net.cidr}" has host bits set; read as the network ${cidr.canonical}`);
    }
    const ip = parseIp(net.address);
    if (ip.kind !== "ip") {
      error(
        [...base, "address"],
        `${ip.reason}, got "${net.address}" (a moved address must be an IP address)`,
      );
      return;
    }
    uses.push({ path: [...base, "address"], role: "moved", key: ip.normalised });
    if (cidr.kind !== "cidr") return;
    if (!inCidr(ip.ip, cidr)) {
      error(
        [...base, "address"],
        `expected an address inside ${cidr.canonical} (networks[${i}].cidr), got "${net.address}"`,
      );
      return;
    }
    if (isNetworkOrBroadcast(ip.ip, cidr.network, cidr.prefix)) {
      error(
        [...base, "address"],
        `expected a host address in ${cidr.canonical}, got "${net.address}", which is its network or broadcast address`,
      );
    }
  });
}

function isNetworkOrBroadcast(ip: Ip, network: Ip, prefix: number): boolean {
  // IPv6 has no broadcast, and IPv4 /31 and /32 use every address (RFC 3021).
  if (ip.kind() !== "ipv4" || network.kind() !== "ipv4" || prefix >= 31) return false;
  const bytes = ip.toByteArray();
  const value = bytes.reduce((acc, b) => acc * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  return value % size === 0 || value % size === size - 1;
}

const ROLE_WHY: Record<Exclude<Use["role"], "moved">, string> = {
  "old-ssh":
    "the old controller must be reached at an address that stays on it: after the switch this one reaches the new controller",
  "new-ssh":
    "the new controller does not have this address until the switch; reach it at its staging address",
  staging: "the staging address must be the new controller's own, not one that moves there at the switch",
  compute: "it belongs to the controller, not to a compute host",
};

function checkAddressUses(uses: readonly Use[], answers: Answers, error: Report): void {
  const groups = new Map<string, Use[]>();
  for (const use of uses) groups.set(use.key, [...(groups.get(use.key) ?? []), use]);
  for (const [address, group] of groups) {
    const moved = group.filter((u) => u.role === "moved");
    const others = group.filter((u) => u.role !== "moved");
    const movedBy = moved[0];
    if (movedBy !== undefined) {
      const network = answers.networks[movedBy.path[1] as number]?.name ?? "?";
      for (const use of others) {
        if (use.role === "moved") continue;
        error(
          use.path,
          `${address} is a moved address (network "${network}", ${formatPath(movedBy.path)}): ${ROLE_WHY[use.role]}`,
        );
      }
      for (const dup of moved.slice(1)) {
        error(
          dup.path,
          `${address} is already moved by ${formatPath(movedBy.path)}; each address moves once`,
        );
      }
      continue;
    }
    // The new controller is normally reached at its staging address: that pair is the one allowed repeat.
    const hasStaging = others.some((u) => u.role === "staging");
    const distinct = others.filter((u) => !(hasStaging && u.role === "new-ssh"));
    const first = distinct[0];
    for (const dup of distinct.slice(1)) {
      if (first === undefined) break;
      error(dup.path, `address ${address} is used twice: also at ${formatPath(first.path)}`);
    }
  }
}

function checkIscsi(answers: Answers, uses: readonly Use[], error: Report, warning: Report): void {
  if (answers.iscsi === undefined) return;
  const newAddresses = new Set(
    uses.filter((u) => u.role === "moved" || u.role === "staging" || u.role === "new-ssh").map((u) => u.key),
  );
  for (const field of ["old_portal", "new_portal"] as const) {
    const text = answers.iscsi[field];
    const portal = parsePortal(text);
    if (portal.kind === "invalid") {
      error(["iscsi", field], `${portal.reason}, got "${text}"`);
      continue;
    }
    if (field === "new_portal" && !newAddresses.has(portal.normalised)) {
      warning(
        ["iscsi", field],
        `${text} is neither a moved address nor the new controller's address; volumes would point elsewhere`,
      );
    }
  }
}

function checkUnique(
  values: readonly string[],
  pathOf: (index: number) => FieldPath,
  what: (value: string) => string,
  error: Report,
): void {
  const first = new Map<string, number>();
  values.forEach((value, i) => {
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, i);
    else error(pathOf(i), `${what(value)} (also at ${formatPath(pathOf(earlier))})`);
  });
}

function checkPackages(answers: Answers, error: Report): void {
  const lines = answers.packages.source
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length === 0)
    error(["packages", "source"], "expected at least one apt line: deb URL SUITE COMPONENT...");
  for (const line of lines) {
    if (
      !/^deb(-src)?\s+(\[[^\]]*\]\s+)?\S+:\/\/\S+\s+\S+/.test(line) &&
      !/^deb(-src)?\s+(\[[^\]]*\]\s+)?file:\S+\s+\S+/.test(line)
    ) {
      error(["packages", "source"], `expected an apt line "deb URL SUITE [COMPONENT...]", got "${line}"`);
    }
  }
}
