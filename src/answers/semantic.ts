/**
 * Checks across fields: address syntax, CIDR membership, addresses used twice, which address may be reached
 * when, release order, duplicates in lists. Pure: returns diagnostics, touches nothing. Each rule says WHY in
 * its message, since the operator has to decide what the right value is.
 *
 * They run on a SemanticView: the parts of the file that are individually valid. So a file with a schema error
 * (a bad port) still gets its address checks in the same run, and a part that is invalid is simply not checked.
 */
import { z } from "zod";
import { inCidr, parseAddress, parseCidr, parseIp, parsePortal, type Ip } from "./addresses.js";
import { formatPath, type Diagnostic, type FieldPath } from "./diagnostics.js";
import {
  AnswersSchema,
  SshDefaultsSchema,
  SshEndpointSchema,
  type Answers,
  type SshDefaults,
  type SshEndpoint,
} from "./schema.js";

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

/** The individually valid parts of an answer file that the cross-field checks look at; holes are undefined. */
export interface SemanticView {
  readonly source_release?: string | undefined;
  readonly target_release?: string | undefined;
  readonly oldSsh?: SshEndpoint | undefined;
  readonly newSsh?: SshEndpoint | undefined;
  readonly staging?: string | undefined;
  readonly computeHosts: readonly {
    readonly name?: string | undefined;
    readonly ssh?: SshEndpoint | undefined;
  }[];
  readonly sshDefaults?: SshDefaults | undefined;
  readonly services: readonly (string | undefined)[];
  readonly networks: readonly {
    readonly name?: string | undefined;
    readonly cidr?: string | undefined;
    readonly address?: string | undefined;
  }[];
  readonly iscsi?:
    { readonly old_portal?: string | undefined; readonly new_portal?: string | undefined } | undefined;
  readonly packagesSource?: string | undefined;
}

export function viewOfAnswers(a: Answers): SemanticView {
  return {
    source_release: a.source_release,
    target_release: a.target_release,
    oldSsh: a.controllers.old.ssh,
    newSsh: a.controllers.new.ssh,
    staging: a.controllers.new.staging_address,
    computeHosts: a.computes.hosts,
    sshDefaults: a.computes.ssh_defaults,
    services: a.services,
    networks: a.networks,
    iscsi: a.iscsi,
    packagesSource: a.packages.source,
  };
}

/** The view of a file that failed the schema: each part parsed on its own, invalid parts left out. */
export function viewOfRaw(data: unknown): SemanticView {
  const at = (...path: (string | number)[]): unknown => {
    let v: unknown = data;
    for (const p of path)
      v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
    return v;
  };
  const as = <T>(schema: z.ZodType<T>, value: unknown): T | undefined => {
    const r = schema.safeParse(value);
    return r.success ? r.data : undefined;
  };
  const str = (value: unknown) => as(z.string().min(1), value);
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  const release = AnswersSchema.shape.source_release;
  const iscsi = at("iscsi");
  return {
    source_release: as(release, at("source_release")),
    target_release: as(release, at("target_release")),
    oldSsh: as(SshEndpointSchema, at("controllers", "old", "ssh")),
    newSsh: as(SshEndpointSchema, at("controllers", "new", "ssh")),
    staging: str(at("controllers", "new", "staging_address")),
    computeHosts: list(at("computes", "hosts")).map((_, i) => ({
      name: str(at("computes", "hosts", i, "name")),
      ssh: as(SshEndpointSchema, at("computes", "hosts", i, "ssh")),
    })),
    sshDefaults: as(SshDefaultsSchema, at("computes", "ssh_defaults")),
    services: list(at("services")).map((s) => str(s)),
    networks: list(at("networks")).map((_, i) => ({
      name: str(at("networks", i, "name")),
      cidr: str(at("networks", i, "cidr")),
      address: str(at("networks", i, "address")),
    })),
    iscsi:
      iscsi !== null && typeof iscsi === "object"
        ? { old_portal: str(at("iscsi", "old_portal")), new_portal: str(at("iscsi", "new_portal")) }
        : undefined,
    packagesSource: str(at("packages", "source")),
  };
}

export function checkSemantics(view: SemanticView, make: Make, options: SemanticOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (path: FieldPath, message: string) => out.push(make("error", path, message));
  const warning = (path: FieldPath, message: string) => out.push(make("warning", path, message));
  const uses: Use[] = [];

  checkReleases(view, options.releases, error);

  // SSH endpoints: address syntax, and root or sudo.
  const endpoints: [FieldPath, SshEndpoint | undefined, Use["role"]][] = [
    [["controllers", "old", "ssh"], view.oldSsh, "old-ssh"],
    [["controllers", "new", "ssh"], view.newSsh, "new-ssh"],
    ...view.computeHosts.map((h, i): [FieldPath, SshEndpoint | undefined, Use["role"]] => [
      ["computes", "hosts", i, "ssh"],
      h.ssh,
      "compute",
    ]),
  ];
  for (const [path, ssh, role] of endpoints) {
    if (ssh === undefined) continue;
    const parsed = parseAddress(ssh.address);
    if (parsed.kind === "invalid") error([...path, "address"], `${parsed.reason}, got "${ssh.address}"`);
    else if (parsed.kind === "ip") uses.push({ path: [...path, "address"], role, key: parsed.normalised });
    checkSshSettings(path, ssh, error, warning);
  }
  if (view.sshDefaults) checkSshSettings(["computes", "ssh_defaults"], view.sshDefaults, error, warning);

  const staging = view.staging === undefined ? undefined : parseIp(view.staging);
  if (staging?.kind === "ip") {
    uses.push({ path: ["controllers", "new", "staging_address"], role: "staging", key: staging.normalised });
  } else if (staging !== undefined) {
    const text = view.staging ?? "";
    const why =
      parseAddress(text).kind === "hostname"
        ? "expected an IP address, not a hostname: the staging address is configured on an interface"
        : staging.reason;
    error(["controllers", "new", "staging_address"], `${why}, got "${text}"`);
  }

  checkNetworks(view, error, warning, uses);
  checkAddressUses(uses, view, error);
  checkIscsi(view, uses, error, warning);
  checkUnique(
    view.services,
    (i) => ["services", i],
    (name) => `service "${name}" is listed twice`,
    error,
  );
  checkUnique(
    view.computeHosts.map((h) => h.name?.toLowerCase()),
    (i) => ["computes", "hosts", i, "name"],
    (name) => `compute host "${name}" is listed twice`,
    error,
  );
  checkPackages(view, error);
  return out;
}

type Report = (path: FieldPath, message: string) => void;

function checkReleases(view: SemanticView, releases: readonly string[], error: Report): void {
  const { source_release: source, target_release: target } = view;
  const from = source === undefined ? undefined : releases.indexOf(source);
  const to = target === undefined ? undefined : releases.indexOf(target);
  if (from === -1) error(["source_release"], `release "${source}" is not in the release catalog`);
  if (to === -1) error(["target_release"], `release "${target}" is not in the release catalog`);
  if (from !== undefined && to !== undefined && from >= 0 && to >= 0 && to <= from) {
    error(
      ["target_release"],
      `expected a release newer than source_release "${source}", got "${target}" (handover upgrades; it does not downgrade)`,
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

function checkNetworks(view: SemanticView, error: Report, warning: Report, uses: Use[]): void {
  checkUnique(
    view.networks.map((n) => n.name),
    (i) => ["networks", i, "name"],
    (name) => `network "${name}" is listed twice`,
    error,
  );
  view.networks.forEach((net, i) => {
    const base: FieldPath = ["networks", i];
    const cidr = net.cidr === undefined ? undefined : parseCidr(net.cidr);
    if (cidr?.kind === "invalid") error([...base, "cidr"], `${cidr.reason}, got "${net.cidr}"`);
    else if (cidr?.hostBitsSet) {
      warning([...base, "cidr"], `"${net.cidr}" has host bits set; read as the network ${cidr.canonical}`);
    }
    if (net.address === undefined) return;
    const ip = parseIp(net.address);
    if (ip.kind !== "ip") {
      error(
        [...base, "address"],
        `${ip.reason}, got "${net.address}" (a moved address must be an IP address)`,
      );
      return;
    }
    uses.push({ path: [...base, "address"], role: "moved", key: ip.normalised });
    if (cidr?.kind !== "cidr") return;
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

function checkAddressUses(uses: readonly Use[], view: SemanticView, error: Report): void {
  const groups = new Map<string, Use[]>();
  for (const use of uses) groups.set(use.key, [...(groups.get(use.key) ?? []), use]);
  for (const [address, group] of groups) {
    const moved = group.filter((u) => u.role === "moved");
    const others = group.filter((u) => u.role !== "moved");
    const movedBy = moved[0];
    if (movedBy !== undefined) {
      const network = view.networks[movedBy.path[1] as number]?.name ?? "?";
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

function checkIscsi(view: SemanticView, uses: readonly Use[], error: Report, warning: Report): void {
  if (view.iscsi === undefined) return;
  const newAddresses = new Set(
    uses.filter((u) => u.role === "moved" || u.role === "staging" || u.role === "new-ssh").map((u) => u.key),
  );
  for (const field of ["old_portal", "new_portal"] as const) {
    const text = view.iscsi[field];
    if (text === undefined) continue;
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
  values: readonly (string | undefined)[],
  pathOf: (index: number) => FieldPath,
  what: (value: string) => string,
  error: Report,
): void {
  const first = new Map<string, number>();
  values.forEach((value, i) => {
    if (value === undefined) return;
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, i);
    else error(pathOf(i), `${what(value)} (also at ${formatPath(pathOf(earlier))})`);
  });
}

function checkPackages(view: SemanticView, error: Report): void {
  if (view.packagesSource === undefined) return;
  const lines = view.packagesSource
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
