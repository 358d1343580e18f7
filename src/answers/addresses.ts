/**
 * Address syntax for the answer file, on top of ipaddr.js. ipaddr.js (like inet_aton) accepts `10.1`, `0x0a.1`
 * and `010.0.0.1` as IPv4; an operator who writes those almost certainly made a typo, and SSH would silently
 * connect somewhere else, so we accept only strict four-part decimal IPv4.
 */
import { createRequire } from "node:module";
import type * as IpAddr from "ipaddr.js";

// ipaddr.js is CommonJS with `export =` typings; without esModuleInterop TypeScript refuses a default import,
// and Node's ESM loader exposes no named exports for it. require() gives the real object with its real types.
const ipaddr = createRequire(import.meta.url)("ipaddr.js") as typeof IpAddr;
type IPv4 = IpAddr.IPv4;
type IPv6 = IpAddr.IPv6;
export type Ip = IPv4 | IPv6;

export type ParsedAddress =
  | { readonly kind: "ip"; readonly ip: Ip; readonly normalised: string }
  | { readonly kind: "hostname"; readonly normalised: string }
  | { readonly kind: "invalid"; readonly reason: string };

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}\\.?$)${LABEL}(?:\\.${LABEL})*\\.?$`);

export function parseIp(text: string): Exclude<ParsedAddress, { kind: "hostname" }> {
  if (text.includes(":")) {
    if (text.startsWith("[")) return { kind: "invalid", reason: "write an IPv6 address without [brackets]" };
    if (!ipaddr.IPv6.isValid(text)) return { kind: "invalid", reason: "not a valid IPv6 address" };
    const ip = ipaddr.IPv6.parse(text);
    // toString() is the compact RFC 5952 form: the same for every spelling of one address, and readable.
    return { kind: "ip", ip, normalised: ip.toString() };
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const ip = ipaddr.IPv4.parse(text);
    return { kind: "ip", ip, normalised: ip.toString() };
  }
  return {
    kind: "invalid",
    reason: "expected a four-part dotted IPv4 address such as 198.51.100.3, or an IPv6 address",
  };
}

/** An IPv4 / IPv6 address or a DNS hostname. */
export function parseAddress(text: string): ParsedAddress {
  const ip = parseIp(text);
  if (ip.kind === "ip" || text.includes(":")) return ip;
  // Anything made of digits and dots, or that the C resolver would read as an IPv4 (`10.1`, `0x0a.0.0.1`),
  // must be a strict four-part address: as a "hostname" it would reach an unexpected machine.
  const lastLabel = text.replace(/\.$/, "").split(".").pop() ?? "";
  if (/^[0-9.]+$/.test(text) || ipaddr.IPv4.isValid(text) || /^[0-9]+$/.test(lastLabel)) return ip;
  if (!HOSTNAME.test(text)) {
    return {
      kind: "invalid",
      reason: "expected an IPv4 address, IPv6 address or hostname (letters, digits, - and .)",
    };
  }
  return { kind: "hostname", normalised: text.toLowerCase().replace(/\.$/, "") };
}

export type ParsedCidr =
  | {
      readonly kind: "cidr";
      readonly network: Ip;
      readonly prefix: number;
      /** True when the written address had host bits set (198.51.100.4/24 rather than 198.51.100.0/24). */
      readonly hostBitsSet: boolean;
      readonly canonical: string;
    }
  | { readonly kind: "invalid"; readonly reason: string };

export function parseCidr(text: string): ParsedCidr {
  const example = "expected a network in CIDR form such as 198.51.100.0/24 or 2001:db8::/64";
  const slash = text.indexOf("/");
  if (slash < 0) return { kind: "invalid", reason: `${example} (the /prefix is missing)` };
  const addr = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (addr.kind !== "ip") return { kind: "invalid", reason: example };
  const max = addr.ip.kind() === "ipv4" ? 32 : 128;
  if (!/^(0|[1-9][0-9]*)$/.test(prefixText) || Number(prefixText) > max) {
    return { kind: "invalid", reason: `${example} (the prefix must be 0-${max})` };
  }
  const prefix = Number(prefixText);
  const network =
    addr.ip.kind() === "ipv4"
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.normalised}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.normalised}/${prefix}`);
  const hostBitsSet = network.toString() !== addr.ip.toString();
  return { kind: "cidr", network, prefix, hostBitsSet, canonical: `${network.toString()}/${prefix}` };
}

export function inCidr(ip: Ip, cidr: { network: Ip; prefix: number }) {
  if (ip.kind() !== cidr.network.kind()) return false;
  return ip.kind() === "ipv4"
    ? (ip as IPv4).match(cidr.network, cidr.prefix)
    : (ip as IPv6).match(cidr.network, cidr.prefix);
}

export type ParsedPortal =
  | { readonly kind: "portal"; readonly ip: Ip; readonly normalised: string; readonly port?: number }
  | { readonly kind: "invalid"; readonly reason: string };

/** An iSCSI portal as it appears in connection_info: `addr`, `addr:port`, `[v6]:port` or a bare IPv6. */
export function parsePortal(text: string): ParsedPortal {
  const expected =
    "expected an iSCSI portal: an IP address with an optional :port (198.18.0.4:3260, [2001:db8::4]:3260)";
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? "";
    portText = bracketed[2];
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host = "", portText] = text.split(":");
  }
  const ip = parseIp(host);
  if (ip.kind !== "ip") return { kind: "invalid", reason: expected };
  if (portText === undefined) return { kind: "portal", ip: ip.ip, normalised: ip.normalised };
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    return { kind: "invalid", reason: `${expected}; the port must be 1-65535` };
  }
  return { kind: "portal", ip: ip.ip, normalised: ip.normalised, port: Number(portText) };
}
