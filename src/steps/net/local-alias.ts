/**
 * net.local-alias: until the switch, the new controller answers its OWN calls to a moved address.
 *
 * Why: the configs copied from old name the moved addresses for everything that is not a database or broker URL
 * (keystone auth URLs, glance/neutron/placement endpoints, memcached), and so does the keystone catalog. Before
 * the switch those addresses are still old's, whose APIs are frozen: new's services could not validate a token,
 * and their upgrade checks and API checks would talk to old. Rewriting every such option twice (to the staging
 * address now, back at the switch) would be fragile and leave a window of wrong configs; instead the address is
 * added to new's loopback as a host address (/32, /128), so traffic new sends to it stays on new.
 *
 * The address must not be claimed on the wire while old still holds it: with `arp_ignore=1` the kernel answers ARP
 * only for addresses configured on the interface the request came in on (so never for the loopback alias), and
 * `arp_announce=2` keeps the alias out of new's own ARP requests (measured in the lab: a compute's `arping` of the
 * address gets exactly one reply, from old's MAC, while new reaches its own services at it). IPv6 neighbour
 * discovery only answers for addresses on the receiving interface, so /128 on lo needs no sysctl.
 *
 * net.move-address takes the alias off lo in the same `ip -batch` that puts the address on new's interface, and
 * puts it back when it is undone. Undo here removes the alias and restores the two sysctls' previous values.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";
import { findAddress, normaliseIp } from "../../net/addresses.js";
import { planProblems } from "../../net/validate.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";

export const LOOPBACK = "lo";

/** The sysctls and the least value each needs (both combine `all` and the interface by taking the maximum). */
const ARP_SYSCTLS: readonly { key: string; min: number }[] = [
  { key: "net.ipv4.conf.all.arp_ignore", min: 1 },
  { key: "net.ipv4.conf.all.arp_announce", min: 2 },
];

interface AliasParams {
  network: string;
  address: string;
}

function read(raw: JsonObject): AliasParams {
  const p = new Params("net.local-alias", raw);
  const address = p.str("address");
  const prefix = address.includes(":") ? 128 : 32;
  const problems = planProblems({ address, prefix, oldInterface: LOOPBACK, newInterface: LOOPBACK });
  if (problems.length > 0) throw new UserError("PLAN_PARAM", `net.local-alias: ${problems.join("; ")}`);
  return { network: p.str("network", ""), address: normaliseIp(address) };
}

const isV6 = (a: string): boolean => a.includes(":");
const hostCidr = (a: string): string => `${a}/${isV6(a) ? 128 : 32}`;

/** `ip -batch` lines that put the alias on lo (for net.move-address's undo). */
export function addAliasBatch(address: string): string {
  return `addr add ${hostCidr(address)} dev ${LOOPBACK}\n`;
}
/** `ip -batch` lines that take the alias off lo (for net.move-address's run). */
export function delAliasBatch(address: string): string {
  return `addr del ${hostCidr(address)} dev ${LOOPBACK}\n`;
}

async function sysctlValue(host: Host, key: string): Promise<number> {
  const out = (await host.run(["sysctl", "-n", key])).stdout.trim();
  const n = Number(out);
  if (!Number.isInteger(n)) {
    throw new UserError("NET_SYSCTL", `on ${host.name}: \`sysctl -n ${key}\` printed ${JSON.stringify(out)}`);
  }
  return n;
}

export function localAliasStep(_deps: StepDeps): StepImpl {
  return {
    kind: "net.local-alias",
    async run(ctx: StepContext, raw) {
      const a = read(raw);
      const neu = ctx.host("new");
      // Values from before this step's first attempt win: a redo must not record its own settings as "previous".
      const prev = ctx.previousUndoData?.sysctls;
      const sysctls: JsonObject = {};
      if (!isV6(a.address)) {
        for (const s of ARP_SYSCTLS) {
          const before =
            prev && typeof prev === "object" && !Array.isArray(prev) && typeof prev[s.key] === "number"
              ? prev[s.key]
              : await sysctlValue(neu, s.key);
          sysctls[s.key] = before ?? 0;
        }
      }
      const undo: JsonObject = { address: a.address, sysctls };
      ctx.checkpoint?.(undo);
      for (const s of ARP_SYSCTLS) {
        if (isV6(a.address)) break;
        // Set before the alias exists, so there is no moment in which new would answer ARP for it.
        if ((await sysctlValue(neu, s.key)) < s.min)
          await neu.run(["sysctl", "-q", "-w", `${s.key}=${s.min}`]);
      }
      const at = (await findAddress(neu, a.address))?.ifname;
      if (at === undefined) await neu.run(["ip", "addr", "add", hostCidr(a.address), "dev", LOOPBACK]);
      const detail =
        at !== undefined && at !== LOOPBACK
          ? `${a.address} is already on new's ${at} (switched): nothing to alias`
          : `${a.address} answers on new's loopback for new's own traffic until the switch`;
      ctx.emit({ type: "log", level: "info", message: detail });
      return undo;
    },

    async verify(ctx, raw): Promise<VerifyResult> {
      const a = read(raw);
      const neu = ctx.host("new");
      const at = (await findAddress(neu, a.address))?.ifname;
      if (at === undefined) return { ok: false, detail: `${a.address} is not on new (neither lo nor moved)` };
      if (at !== LOOPBACK) return { ok: true, detail: `${a.address} is on new's ${at} (switched)` };
      if (!isV6(a.address)) {
        for (const s of ARP_SYSCTLS) {
          const v = await sysctlValue(neu, s.key);
          if (v < s.min)
            return { ok: false, detail: `${s.key} is ${v} on new: the alias ${a.address} could answer ARP` };
        }
      }
      return { ok: true, detail: `${a.address} is on new's loopback; new does not answer ARP for it` };
    },

    async undo(ctx, raw, undoData) {
      const a = read(raw);
      const neu = ctx.host("new");
      if ((await findAddress(neu, a.address))?.ifname === LOOPBACK)
        await neu.run(["ip", "addr", "del", hostCidr(a.address), "dev", LOOPBACK]);
      const sysctls = undoData.sysctls;
      if (!sysctls || typeof sysctls !== "object" || Array.isArray(sysctls)) return;
      for (const s of ARP_SYSCTLS) {
        const before = sysctls[s.key];
        if (typeof before === "number" && Number.isInteger(before))
          await neu.run(["sysctl", "-q", "-w", `${s.key}=${before}`]);
      }
    },
  };
}
