/**
 * Checks before an address moves (issue 6: validate the network plan before anything moves): the address and
 * prefix are well formed, the address is on the old controller's named interface now with that prefix (so it is
 * inside the network's CIDR as the operator described it), and the new controller does not hold it.
 */
import { parseIp } from "../answers/addresses.js";
import type { InterfaceAddress } from "./addresses.js";

export interface MovePlan {
  readonly address: string;
  readonly prefix: number;
  readonly oldInterface: string;
  readonly newInterface: string;
}

/** Problems with the plan alone ([] when fine). */
export function planProblems(m: MovePlan): string[] {
  const p = parseIp(m.address);
  if (p.kind !== "ip") return [`${m.address} is not an IP address (${p.reason})`];
  const max = p.ip.kind() === "ipv4" ? 32 : 128;
  if (!Number.isInteger(m.prefix) || m.prefix < 1 || m.prefix > max)
    return [`prefix /${m.prefix} is not valid for ${m.address}`];
  return [];
}

/** Where the address is: `old` and `new` are the matches on each controller (any interface), if any. */
export interface Placement {
  readonly old?: InterfaceAddress;
  readonly new?: InterfaceAddress;
}

/** Problems before the FIRST move ([] when old holds it on the named interface with the prefix, and new does not). */
export function beforeMoveProblems(m: MovePlan, at: Placement): string[] {
  const out: string[] = [];
  if (!at.old) out.push(`the old controller does not hold ${m.address}`);
  else if (at.old.ifname !== m.oldInterface)
    out.push(`${m.address} is on old's ${at.old.ifname}, not ${m.oldInterface}`);
  else if (at.old.prefix !== m.prefix)
    out.push(`${m.address} has prefix /${at.old.prefix} on old, not /${m.prefix}`);
  if (at.new) out.push(`the new controller already holds ${m.address} (on ${at.new.ifname})`);
  return out;
}
