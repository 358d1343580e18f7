/**
 * arping comes in two incompatible flavours: Debian's `arping` package is Thomas Habets' (`-i <dev>`, `-S <src>`),
 * while `iputils-arping` (RHEL's default, and Debian's alternative) takes `-I <dev>`, `-s <src>`. The installed one
 * is detected from its own help text. Gratuitous ARP needs the moved address as the SOURCE (LAB.md: without -S
 * Habets' arping announces the wrong address).
 */
import type { Host } from "../hosts/host.js";
import { checkInterface, normaliseIp } from "./addresses.js";

export type ArpingFlavour = "habets" | "iputils";

export async function detectArping(host: Host): Promise<ArpingFlavour | undefined> {
  const r = await host.exec(["arping", "--help"], { timeoutMs: 10_000 });
  if (r.exitCode === 127) return undefined;
  const text = `${r.stdout}\n${r.stderr}`;
  if (/Habets|ARPing \d/i.test(text) || /-i\s+<?interface/i.test(text)) return "habets";
  if (/iputils|-I\s+<?device/i.test(text) || /\[-fqbDUAV\]/.test(text)) return "iputils";
  return undefined;
}

/** Unsolicited (gratuitous) ARP for `address` from `ifname`, `count` times. */
export function gratuitousArpArgv(
  flavour: ArpingFlavour,
  address: string,
  ifname: string,
  count = 3,
): string[] {
  const ip = normaliseIp(address);
  const dev = checkInterface(ifname);
  return flavour === "habets"
    ? ["arping", "-q", "-U", "-S", ip, "-i", dev, "-c", String(count), ip]
    : ["arping", "-q", "-U", "-s", ip, "-I", dev, "-c", String(count), ip];
}

/** A probe for `address` from `ifname` (exit 0 when something answered): is it on the same L2 segment? */
export function probeArgv(flavour: ArpingFlavour, address: string, ifname: string): string[] {
  const ip = normaliseIp(address);
  const dev = checkInterface(ifname);
  return flavour === "habets"
    ? ["arping", "-q", "-c", "2", "-w", "3", "-i", dev, ip]
    : ["arping", "-q", "-c", "2", "-w", "3", "-I", dev, ip];
}
