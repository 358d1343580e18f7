import { describe, expect, it } from "vitest";
import { localAliasStep } from "../../../../src/steps/net/local-alias.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

/**
 * A fake new controller: `ip -j addr show` reports an address table that `ip addr add|del` edit, and
 * `sysctl -n KEY` / `sysctl -q -w KEY=V` read and write a map of the two ARP sysctls (unknown keys fail).
 */
function newHost(
  sysctls: Record<string, number>,
  addrs: { ifname: string; address: string; prefix: number }[],
) {
  const h = new FakeHost("new", { unmatched: "throw" });
  const table = [...addrs];
  const values = { ...sysctls };
  h.on(["ip", "-j", "addr", "show"], () => {
    const links = new Map<string, { ifname: string; addr_info: object[] }>();
    for (const ifname of ["lo", "eth0"]) links.set(ifname, { ifname, addr_info: [] });
    for (const a of table)
      links.get(a.ifname)?.addr_info.push({ family: "inet", local: a.address, prefixlen: a.prefix });
    return { stdout: JSON.stringify([...links.values()]) };
  });
  h.on(["ip", "addr", /^(add|del)$/, /.*/, "dev", /.*/], ({ argv }) => {
    const [address, prefix] = argv[3]!.split("/");
    const i = table.findIndex((a) => a.address === address && a.ifname === argv[5]);
    if (argv[2] === "del") {
      if (i < 0) return { exitCode: 2, stderr: "RTNETLINK answers: Cannot assign requested address" };
      table.splice(i, 1);
    } else {
      if (table.some((a) => a.address === address))
        return { exitCode: 2, stderr: "RTNETLINK answers: File exists" };
      table.push({ ifname: argv[5]!, address: address!, prefix: Number(prefix) });
    }
    return {};
  });
  h.on(["sysctl", "-n", /.*/], ({ argv }) =>
    argv[2]! in values ? { stdout: `${values[argv[2]!]}\n` } : { exitCode: 255, stderr: "unknown key" },
  );
  h.on(["sysctl", "-q", "-w", /.*/], ({ argv }) => {
    const [k, v] = argv[3]!.split("=");
    if (!(k! in values)) return { exitCode: 255, stderr: "unknown key" };
    values[k!] = Number(v);
    return {};
  });
  return { host: h, table, values };
}

const IGNORE = "net.ipv4.conf.all.arp_ignore";
const ANNOUNCE = "net.ipv4.conf.all.arp_announce";
const params = { network: "mgmt", address: "198.51.100.4" };

describe("net.local-alias", () => {
  it("sets the ARP sysctls before adding the /32 on lo, verifies, and undo restores exactly what was there", async () => {
    const n = newHost({ [IGNORE]: 0, [ANNOUNCE]: 0 }, [
      { ifname: "eth0", address: "198.51.100.5", prefix: 24 },
    ]);
    const h = makeCtx({ new: n.host });
    const step = localAliasStep(makeDeps(new FakeSql()));
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: false });
    const undo = (await step.run(h.ctx, params)) ?? {};
    expect(n.table).toContainEqual({ ifname: "lo", address: "198.51.100.4", prefix: 32 });
    expect(n.values).toEqual({ [IGNORE]: 1, [ANNOUNCE]: 2 });
    const cmds = n.host.commands().map((c) => c.join(" "));
    const addAt = cmds.indexOf("ip addr add 198.51.100.4/32 dev lo");
    expect(addAt).toBeGreaterThan(cmds.indexOf(`sysctl -q -w ${IGNORE}=1`));
    expect(addAt).toBeGreaterThan(cmds.indexOf(`sysctl -q -w ${ANNOUNCE}=2`));
    expect(h.checkpoints[0]).toMatchObject({ sysctls: { [IGNORE]: 0, [ANNOUNCE]: 0 } });
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });

    // A redo (crash after the checkpoint) keeps the first attempt's "before" values.
    const redo = await step.run(makeCtx({ new: n.host }, h.checkpoints[0]).ctx, params);
    expect(redo).toMatchObject({ sysctls: { [IGNORE]: 0, [ANNOUNCE]: 0 } });
    expect(n.table.filter((a) => a.address === "198.51.100.4")).toHaveLength(1);

    await step.undo!(h.ctx, params, undo);
    expect(n.table.some((a) => a.address === "198.51.100.4")).toBe(false);
    expect(n.values).toEqual({ [IGNORE]: 0, [ANNOUNCE]: 0 });
    await step.undo!(h.ctx, params, undo); // twice: nothing to remove, no error
  });

  it("leaves stricter sysctls alone and accepts an address already moved to an interface", async () => {
    const n = newHost({ [IGNORE]: 2, [ANNOUNCE]: 2 }, [
      { ifname: "eth0", address: "198.51.100.4", prefix: 24 },
    ]);
    const h = makeCtx({ new: n.host });
    const step = localAliasStep(makeDeps(new FakeSql()));
    await step.run(h.ctx, params);
    expect(n.host.commands().filter((c) => c[0] === "ip" && c[1] === "addr" && c[2] !== "show")).toEqual([]);
    expect(n.host.commands().filter((c) => c[2] === "-w")).toEqual([]);
    expect(await step.verify(h.ctx, params)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/switched/),
    });
  });

  it("fails verify when the alias exists but the kernel would answer ARP for it", async () => {
    const n = newHost({ [IGNORE]: 0, [ANNOUNCE]: 0 }, [
      { ifname: "lo", address: "198.51.100.4", prefix: 32 },
    ]);
    const v = await localAliasStep(makeDeps(new FakeSql())).verify(makeCtx({ new: n.host }).ctx, params);
    expect(v).toMatchObject({ ok: false, detail: expect.stringMatching(/arp_ignore is 0/) });
  });
});
