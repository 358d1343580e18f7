/**
 * Refuse to build anything that could route lab traffic out of the machine: the lab ranges must be unused in the
 * root namespace and the package registries must not resolve into them. Also: root, and the tools we call.
 */
import { lookup } from "node:dns/promises";
import { overlaps } from "./cidr.js";
import { registryHosts } from "./apt-sources.js";
import { MGMT_CIDR, STORAGE_CIDR } from "./plan.js";
import { haveCommand, run } from "./proc.js";

const LAB_RANGES = [MGMT_CIDR, STORAGE_CIDR];

/** Tools the jump needs, with the Debian package that provides each (printed when missing). */
const TOOLS: Record<string, string> = {
  debootstrap: "debootstrap",
  "dpkg-scanpackages": "dpkg-dev",
  ip: "iproute2",
  unshare: "util-linux",
  nsenter: "util-linux",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  "ssh-keyscan": "openssh-client",
  mount: "mount",
  chroot: "coreutils",
};

export class PreflightError extends Error {}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new PreflightError(
      "the lab needs root (network namespaces, mounts, chroot): run it as root, e.g. `sudo npm run lab -- up`",
    );
  }
}

export function missingTools(): string[] {
  return Object.entries(TOOLS)
    .filter(([cmd]) => !haveCommand(cmd))
    .map(([cmd, pkg]) => `${cmd} (apt-get install ${pkg})`);
}

interface IpAddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpRouteJson {
  dst: string;
  dev?: string;
  type?: string;
}

/** Problems in the root namespace: addresses or routes inside the lab ranges (a lab already up is excluded). */
export function rootNamespaceConflicts(ownLinks: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  const links = JSON.parse(run("ip", ["-j", "addr", "show"]).stdout) as IpAddrJson[];
  for (const link of links) {
    if (ownLinks.has(link.ifname)) continue;
    for (const a of link.addr_info ?? []) {
      if (a.family !== "inet") continue;
      for (const range of LAB_RANGES) {
        if (overlaps(`${a.local}/${a.prefixlen}`, range)) {
          problems.push(`address ${a.local}/${a.prefixlen} on ${link.ifname} overlaps lab range ${range}`);
        }
      }
    }
  }
  const routes = JSON.parse(run("ip", ["-j", "-4", "route", "show", "table", "all"]).stdout) as IpRouteJson[];
  for (const r of routes) {
    if (r.dev && ownLinks.has(r.dev)) continue;
    if (r.dst === "default") continue; // a default route overlaps everything; it is the uplink, handled by host routes
    const dst = r.dst.includes("/") ? r.dst : `${r.dst}/32`;
    for (const range of LAB_RANGES) {
      if (overlaps(dst, range))
        problems.push(`route ${r.type ?? ""} ${r.dst} dev ${r.dev ?? "-"} overlaps ${range}`);
    }
  }
  return problems;
}

/** Problems with the registries: any resolved address inside a lab range. */
export async function registryConflicts(): Promise<string[]> {
  const problems: string[] = [];
  for (const host of registryHosts()) {
    let addrs: { address: string; family: number }[] = [];
    try {
      addrs = await lookup(host, { all: true });
    } catch {
      continue; // unresolvable now: the build will say so; no address means no conflict
    }
    for (const a of addrs) {
      if (a.family !== 4) continue;
      for (const range of LAB_RANGES) {
        if (overlaps(a.address, range))
          problems.push(`package registry ${host} resolves to ${a.address} in ${range}`);
      }
    }
  }
  return problems;
}

/** Everything at once; throws a PreflightError listing every reason. */
export async function preflight(): Promise<void> {
  requireRoot();
  const problems = [...missingTools().map((t) => `missing tool: ${t}`)];
  problems.push(...rootNamespaceConflicts(), ...(await registryConflicts()));
  if (problems.length > 0) {
    throw new PreflightError(
      `refusing to start the lab:\n  - ${problems.join("\n  - ")}\n` +
        "The lab uses 198.51.100.0/24 and 198.18.0.0/24 inside network namespaces only; free them (or run " +
        "`npm run lab -- down` if a previous lab is still up).",
    );
  }
}
