/** IPv4 range checks for the preflight: strict dotted-quad only (anything else is not an IPv4 we compare). */

function toInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255))
    return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** True if `address` (IPv4, optionally with /len) lies in, or (as a prefix) overlaps, `cidr`. */
export function overlaps(address: string, cidr: string): boolean {
  const [net, netLenText] = cidr.split("/");
  const [addr, ownLenText] = address.split("/");
  const a = toInt(addr!);
  const n = toInt(net!);
  if (a === undefined || n === undefined) return false;
  // Two prefixes overlap iff they agree on the shorter of the two lengths.
  const len = Math.min(ownLenText === undefined ? 32 : Number(ownLenText), Number(netLenText));
  const block = 2 ** (32 - len);
  return Math.floor(a / block) === Math.floor(n / block);
}
