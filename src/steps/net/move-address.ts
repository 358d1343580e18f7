/**
 * net.move-address: the switch. Validates first (src/net/validate.ts, and an ARP probe from new's interface for
 * the address while old still holds it: same L2 segment), checkpoints, then `addr del` on old, `addr add` on new,
 * and a gratuitous ARP from new with the moved address as source (without it computes keep old's MAC for 30-50 s;
 * LAB.md). The three run through commands opened on both hosts before the address leaves old
 * (preopened-move.ts): the gap is one write to new instead of two SSH round trips and channel setups. Verify:
 * present on new's interface, absent on old. Undo moves it back and ARPs from old.
 *
 * A loopback alias of the address on new (net.local-alias: new's own traffic to it stays on new until the switch)
 * is not "new holds it": it comes off lo in the same `ip -batch` that adds the address to new's interface, and
 * undo puts it back.
 *
 * Idempotent and crash-tolerant: every action looks at where the address is now. An address on neither host is
 * only accepted when the journal says this step removed it from old (a crash between del and add).
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { addressesOf, checkInterface, findAddress, normaliseIp } from "../../net/addresses.js";
import { detectArping, gratuitousArpArgv, probeArgv, type ArpingFlavour } from "../../net/arping.js";
import { beforeMoveProblems, planProblems, type MovePlan } from "../../net/validate.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { LOOPBACK, addAliasBatch, delAliasBatch } from "./local-alias.js";
import { handOverAddress } from "./preopened-move.js";

interface MoveParams extends MovePlan {
  network: string;
  gratuitousArp: boolean;
}

function read(raw: JsonObject): MoveParams {
  const p = new Params("net.move-address", raw);
  const m: MoveParams = {
    network: p.str("network", ""),
    address: p.str("address"),
    prefix: p.num("prefix"),
    oldInterface: checkInterface(p.str("oldInterface")),
    newInterface: checkInterface(p.str("newInterface")),
    gratuitousArp: p.bool("gratuitousArp", true),
  };
  const problems = planProblems(m);
  if (problems.length > 0) throw new UserError("PLAN_PARAM", `net.move-address: ${problems.join("; ")}`);
  return { ...m, address: normaliseIp(m.address) };
}

const cidr = (m: MoveParams): string => `${m.address}/${m.prefix}`;

async function onInterface(host: Host, m: MoveParams, ifname: string): Promise<boolean> {
  return (await addressesOf(host, ifname)).some((a) => a.address === m.address);
}

/** Gratuitous ARP from `host`; a failure is reported loudly but does not undo a move that already happened. */
async function announce(
  ctx: StepContext,
  host: Host,
  m: MoveParams,
  ifname: string,
  known?: ArpingFlavour | "none",
): Promise<void> {
  if (!m.gratuitousArp || m.address.includes(":")) return; // IPv6 has no ARP (unsolicited NA is the kernel's job)
  const flavour = known === "none" ? undefined : (known ?? (await detectArping(host)));
  if (!flavour) {
    ctx.emit({
      type: "log",
      level: "warn",
      message: `no arping on ${host.name}: neighbours keep the old MAC for ${m.address} until their ARP caches expire (30-50 s); install arping`,
    });
    return;
  }
  const r = await host.exec(gratuitousArpArgv(flavour, m.address, ifname), { timeoutMs: 20_000 });
  arpExitWarning(ctx, host, m, r.exitCode, r.stderr);
}

/** Unsolicited ARP expects no replies, so 1 is fine too; anything else is worth a warning, not a failure. */
function arpExitWarning(ctx: StepContext, host: Host, m: MoveParams, exitCode: number, stderr: string): void {
  if (exitCode === 0 || exitCode === 1) return;
  ctx.emit({
    type: "log",
    level: "warn",
    message: `gratuitous ARP for ${m.address} on ${host.name} exited with ${exitCode}: ${stderr.trim()}`,
  });
}

export function moveAddressStep(_deps: StepDeps): StepImpl {
  return {
    kind: "net.move-address",
    async run(ctx, raw) {
      const m = read(raw);
      const old = ctx.host("old");
      const neu = ctx.host("new");
      const prevRemoved = ctx.previousUndoData?.removedFromOld === true;
      const onNewNow = await findAddress(neu, m.address);
      const aliased = onNewNow?.ifname === LOOPBACK || ctx.previousUndoData?.localAlias === true;
      const at = {
        old: await findAddress(old, m.address),
        new: onNewNow?.ifname === LOOPBACK ? undefined : onNewNow,
      };
      const undo: JsonObject = {
        address: m.address,
        prefix: m.prefix,
        removedFromOld: true,
        localAlias: aliased,
      };

      if (!at.old && at.new?.ifname === m.newInterface) {
        // Moved already (a redo after a crash past the add): just make sure neighbours know.
        ctx.checkpoint?.(undo);
        await announce(ctx, neu, m, m.newInterface);
        return undo;
      }
      // Everything that can be asked is asked BEFORE the address leaves old: between del and the ARP only the
      // pre-opened commands of preopened-move.ts run, so the blackout is as short as SSH allows.
      const flavour = await detectArping(neu);
      if (!(prevRemoved && !at.old)) {
        const problems = beforeMoveProblems(m, at);
        if (problems.length > 0) {
          throw new UserError(
            "NET_MOVE_INVALID",
            `cannot move ${cidr(m)} (${m.network}): ${problems.join("; ")}`,
            {
              nextSteps: ["Fix the answer file's networks (or the hosts' addresses), plan again, then run."],
            },
          );
        }
        if (flavour && !m.address.includes(":")) {
          const probe = await neu.exec(probeArgv(flavour, m.address, m.newInterface), { timeoutMs: 15_000 });
          if (probe.exitCode !== 0) {
            throw new UserError(
              "NET_NOT_SAME_SEGMENT",
              `new's ${m.newInterface} gets no ARP reply for ${m.address} from old: they do not seem to share an L2 segment`,
              {
                nextSteps: [
                  `Check that ${m.newInterface} on new is on the same network as ${m.oldInterface} on old.`,
                ],
              },
            );
          }
        }
      }
      ctx.checkpoint?.(undo);
      const newBatch =
        at.new?.ifname !== m.newInterface
          ? // The alias leaves lo and the address lands on the interface in one batch.
            (onNewNow?.ifname === LOOPBACK ? delAliasBatch(m.address) : "") +
            `addr add ${cidr(m)} dev ${m.newInterface}\n`
          : "";
      if (at.old && newBatch !== "") {
        const arp =
          m.gratuitousArp && !m.address.includes(":") && flavour
            ? gratuitousArpArgv(flavour, m.address, m.newInterface)
            : undefined;
        const r = await handOverAddress({
          old,
          neu,
          oldBatch: `addr del ${cidr(m)} dev ${at.old.ifname}\n`,
          newBatch,
          address: m.address,
          newInterface: m.newInterface,
          ...(arp ? { announce: arp } : {}),
        });
        if (arp) arpExitWarning(ctx, neu, m, r.announceExit ?? 0, r.announceStderr);
        else await announce(ctx, neu, m, m.newInterface, "none"); // says why there is no announcement
        ctx.emit({
          type: "log",
          level: "info",
          message: `${cidr(m)} moved from old ${m.oldInterface} to new ${m.newInterface}: ${r.gapMs} ms from old's del to new's add as seen from here (${r.moveMs} ms from writing old's batch; both commands were started ${r.openMs} ms before), then gratuitous ARP`,
        });
        return { ...undo, moveMs: r.moveMs, gapMs: r.gapMs, openMs: r.openMs };
      }
      // One side only (a redo after a crash between del and add, or old already without it): no gap to shorten.
      const started = ctx.now().getTime();
      if (at.old) await old.run(["ip", "addr", "del", cidr(m), "dev", at.old.ifname]);
      if (newBatch !== "") await neu.run(["ip", "-batch", "-"], { stdin: newBatch });
      const added = ctx.now().getTime();
      await announce(ctx, neu, m, m.newInterface, flavour ?? "none");
      const ms = added - started;
      ctx.emit({
        type: "log",
        level: "info",
        message: `${cidr(m)} moved from old ${m.oldInterface} to new ${m.newInterface}: ${ms} ms from del to add, then gratuitous ARP`,
      });
      return { ...undo, moveMs: ms };
    },

    async verify(ctx, raw): Promise<VerifyResult> {
      const m = read(raw);
      const onNew = await onInterface(ctx.host("new"), m, m.newInterface);
      const onOld = await findAddress(ctx.host("old"), m.address);
      if (onNew && !onOld)
        return { ok: true, detail: `${cidr(m)} is on new's ${m.newInterface} and not on old` };
      return {
        ok: false,
        detail: `${m.address}: ${onNew ? "on" : "not on"} new's ${m.newInterface}, ${onOld ? `still on old's ${onOld.ifname}` : "not on old"}`,
      };
    },

    async undo(ctx, raw, undoData) {
      const m = read(raw);
      if (undoData.removedFromOld !== true) return; // nothing moved yet
      const old = ctx.host("old");
      const neu = ctx.host("new");
      const onNew = await findAddress(neu, m.address);
      if (onNew && onNew.ifname !== LOOPBACK)
        await neu.run(["ip", "addr", "del", `${m.address}/${onNew.prefix}`, "dev", onNew.ifname]);
      if (!(await onInterface(old, m, m.oldInterface)))
        await old.run(["ip", "addr", "add", cidr(m), "dev", m.oldInterface]);
      await announce(ctx, old, m, m.oldInterface);
      // Back to how net.local-alias left new: its own traffic to the address stays on new.
      if (undoData.localAlias === true && (await findAddress(neu, m.address)) === undefined)
        await neu.run(["ip", "-batch", "-"], { stdin: addAliasBatch(m.address) });
    },
  };
}
