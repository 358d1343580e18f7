/**
 * check.neighbours (switch, read-only): the moved addresses answer from the NEW controller's MAC, as the compute
 * hosts see them (issue 6: "checked from a compute host"). On new: the MAC of each address's interface
 * (`ip -j link show dev IF`). On each compute: a short ping of the address (which refreshes the neighbour entry
 * if the gratuitous ARP was missed), then `ip -j neigh show to ADDR` must name that MAC. A compute that still
 * has old's MAC cached is the classic failed switch: its traffic goes to a host that no longer holds the address.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";
import { checkInterface, normaliseIp } from "../../net/addresses.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";

interface Target {
  address: string;
  newInterface: string;
}

function read(raw: JsonObject): { from: string[]; targets: Target[] } {
  const p = new Params("check.neighbours", raw);
  const targets = p.objs("targets").map((o) => {
    const q = new Params("check.neighbours target", o);
    return { address: normaliseIp(q.str("address")), newInterface: checkInterface(q.str("newInterface")) };
  });
  return { from: p.strs("from"), targets };
}

/** `ip -j link show dev IF` -> its MAC (lower case). */
export function parseLinkMac(json: string): string | undefined {
  try {
    const links = JSON.parse(json) as { address?: unknown }[];
    const mac = links[0]?.address;
    return typeof mac === "string" ? mac.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** `ip -j neigh show to ADDR` -> the MAC of a usable entry (not FAILED/INCOMPLETE), if any. */
export function parseNeighMac(json: string): string | undefined {
  try {
    const rows = JSON.parse(json) as { lladdr?: unknown; state?: unknown }[];
    for (const r of rows) {
      const state = Array.isArray(r.state) ? r.state.map(String) : [];
      if (typeof r.lladdr === "string" && !state.includes("FAILED") && !state.includes("INCOMPLETE"))
        return r.lladdr.toLowerCase();
    }
  } catch {
    return undefined;
  }
  return undefined;
}

async function macOf(host: Host, ifname: string): Promise<string> {
  const r = await host.run(["ip", "-j", "link", "show", "dev", ifname]);
  const mac = parseLinkMac(r.stdout);
  if (!mac) throw new UserError("NET_NO_MAC", `on ${host.name}: no MAC address for ${ifname}`);
  return mac;
}

async function seenFrom(host: Host, address: string): Promise<string | undefined> {
  const v6 = address.includes(":");
  // The ping's result does not matter (ICMP may be filtered); it makes the kernel resolve the neighbour.
  await host.exec(["ping", ...(v6 ? ["-6"] : []), "-n", "-c", "2", "-i", "0.2", "-W", "1", address], {
    timeoutMs: 10_000,
  });
  const r = await host.run(["ip", ...(v6 ? ["-6"] : []), "-j", "neigh", "show", "to", address]);
  return parseNeighMac(r.stdout);
}

async function check(ctx: StepContext, raw: JsonObject): Promise<{ ok: boolean; lines: string[] }> {
  const { from, targets } = read(raw);
  const neu = ctx.host("new");
  const want = new Map<string, string>();
  for (const t of targets) want.set(t.address, await macOf(neu, t.newInterface));
  const lines: string[] = [];
  let ok = true;
  for (const name of from) {
    const host = ctx.host(name);
    for (const t of targets) {
      const mac = await seenFrom(host, t.address);
      const good = mac === want.get(t.address);
      ok &&= good;
      lines.push(
        `${name} sees ${t.address} at ${mac ?? "no MAC"}${good ? " (new's)" : `, not new's ${want.get(t.address) ?? "?"}`}`,
      );
    }
  }
  return { ok, lines };
}

export function neighboursStep(_deps: StepDeps): StepImpl {
  return {
    kind: "check.neighbours",
    async run(ctx, raw) {
      const { ok, lines } = await check(ctx, raw);
      if (!ok) {
        throw new UserError("NET_OLD_MAC", `after the switch: ${lines.join("; ")}`, {
          nextSteps: [
            "Check that new sent gratuitous ARP on the right interface and that the hosts share the L2 segment; `ip neigh flush to <address>` on the compute clears a stale entry. Or roll back with handover rollback.",
          ],
        });
      }
      ctx.emit({ type: "log", level: "info", message: lines.join("; ") });
      return { seen: lines, detail: lines.join("; ") };
    },
    // run fails unless every address answers from new's MAC; verify asks the same again.
    provenByRun: () => true,
    async verify(ctx, raw): Promise<VerifyResult> {
      const { ok, lines } = await check(ctx, raw);
      return { ok, detail: lines.join("; ") };
    },
    undo: () => Promise.resolve(), // read-only
  };
}
