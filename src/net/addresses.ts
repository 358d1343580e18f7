/**
 * Addresses on a host's interfaces, read with `ip -j addr show` (iproute2's JSON: no parsing of human output).
 * Addresses are compared in ipaddr.js's normalised form, so `2001:db8::1` and `2001:DB8:0::1` are one address.
 */
import type { Host } from "../hosts/host.js";
import { UserError } from "../lib/errors.js";
import { parseIp } from "../answers/addresses.js";

export interface InterfaceAddress {
  readonly ifname: string;
  readonly address: string;
  readonly prefix: number;
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

export function checkInterface(name: string): string {
  if (!IFNAME.test(name) || name.startsWith("-")) {
    throw new UserError("PLAN_PARAM", `refusing an unusual interface name: ${JSON.stringify(name)}`);
  }
  return name;
}

/** Normalised text of an IP address; a UserError for anything else. */
export function normaliseIp(text: string): string {
  const p = parseIp(text);
  if (p.kind !== "ip")
    throw new UserError("PLAN_PARAM", `not an IP address: ${JSON.stringify(text)} (${p.reason})`);
  return p.normalised;
}

interface IpJsonAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
}
interface IpJsonLink {
  ifname?: string;
  addr_info?: IpJsonAddr[];
}

/** Parses `ip -j addr show` output. */
export function parseIpAddrJson(json: string): InterfaceAddress[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new UserError(
      "NET_IP_OUTPUT",
      "`ip -j addr show` printed something that is not JSON (iproute2 too old?)",
    );
  }
  if (!Array.isArray(data)) return [];
  const out: InterfaceAddress[] = [];
  for (const link of data as IpJsonLink[]) {
    for (const a of link.addr_info ?? []) {
      if (!link.ifname || !a.local || typeof a.prefixlen !== "number") continue;
      const p = parseIp(a.local);
      if (p.kind === "ip") out.push({ ifname: link.ifname, address: p.normalised, prefix: a.prefixlen });
    }
  }
  return out;
}

export async function addressesOf(host: Host, ifname?: string): Promise<InterfaceAddress[]> {
  const argv =
    ifname === undefined
      ? ["ip", "-j", "addr", "show"]
      : ["ip", "-j", "addr", "show", "dev", checkInterface(ifname)];
  const r = await host.exec(argv);
  if (r.exitCode !== 0) {
    if (ifname !== undefined && /does not exist|Cannot find device/i.test(r.stderr)) {
      throw new UserError("NET_NO_INTERFACE", `on ${host.name}: there is no interface ${ifname}`, {
        nextSteps: [
          `Check the interface names of ${host.name} (ip link) and fix the answer file's networks.`,
        ],
      });
    }
    throw new UserError(
      "NET_IP_FAILED",
      `on ${host.name}: \`${argv.join(" ")}\` exited with ${r.exitCode}: ${r.stderr.trim()}`,
    );
  }
  return parseIpAddrJson(r.stdout);
}

/** Where `address` is on the host now (any interface), if anywhere. */
export async function findAddress(host: Host, address: string): Promise<InterfaceAddress | undefined> {
  const want = normaliseIp(address);
  return (await addressesOf(host)).find((a) => a.address === want);
}
