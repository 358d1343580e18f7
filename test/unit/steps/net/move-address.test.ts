import { describe, expect, it } from "vitest";
import { moveAddressStep } from "../../../../src/steps/net/move-address.js";
import { gratuitousArpArgv } from "../../../../src/net/arping.js";
import { parseIpAddrJson } from "../../../../src/net/addresses.js";
import { beforeMoveProblems, planProblems } from "../../../../src/net/validate.js";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

const HABETS_HELP =
  "ARPing 2.21, by Thomas Habets <thomas@habets.se>\nusage: arping [ -0aAbBdDeFhpqrRuUv ] [ -w <sec> ] [ -S <host/ip> ] [ -i <interface> ] <host>\n";
const IPUTILS_HELP =
  "Usage:\n  arping [options] <destination>\n\nOptions:\n  -I <device>    which ethernet device to use\n  -s <source>    source IP address\narping from iputils 20221126\n";

/** A host whose `ip addr` commands act on an address table, and whose `ip -j addr show` reports it. */
function ipHost(
  name: string,
  addrs: { ifname: string; address: string; prefix: number }[],
  arpingHelp?: string,
) {
  const h = new FakeHost(name, { unmatched: "throw" });
  const table = [...addrs];
  const show = (dev?: string) => {
    const links = new Map<
      string,
      { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }
    >();
    for (const ifname of ["lo", "eth0", "eth1"]) links.set(ifname, { ifname, addr_info: [] });
    for (const a of table)
      links.get(a.ifname)?.addr_info.push({ family: "inet", local: a.address, prefixlen: a.prefix });
    return {
      stdout: JSON.stringify([...links.values()].filter((l) => dev === undefined || l.ifname === dev)),
    };
  };
  h.on(["ip", "-j", "addr", "show"], () => show());
  h.on(["ip", "-j", "addr", "show", "dev", /.*/], ({ argv }) => show(argv[5]));
  const apply = (argv: readonly string[]): { exitCode?: number; stderr?: string } => {
    const [address, prefix] = argv[1]!.split("/");
    if (argv[0] === "del") {
      const i = table.findIndex(
        (a) => a.address === address && a.prefix === Number(prefix) && a.ifname === argv[3],
      );
      if (i < 0) return { exitCode: 2, stderr: "RTNETLINK answers: Cannot assign requested address" };
      table.splice(i, 1);
      return {};
    }
    if (table.some((a) => a.address === address))
      return { exitCode: 2, stderr: "RTNETLINK answers: File exists" };
    table.push({ ifname: argv[3]!, address: address!, prefix: Number(prefix) });
    return {};
  };
  h.on(["ip", "addr", /^(add|del)$/, /.*/, "dev", /.*/], ({ argv }) => apply(argv.slice(2)));
  // `ip -batch -`: each stdin line is `addr add|del CIDR dev IF`, applied in order; the first failure stops it.
  h.on(["ip", "-batch", "-"], ({ stdin }) => {
    for (const line of stdin
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")) {
      const w = line.trim().split(/\s+/);
      const r =
        w[0] === "addr" && w.length === 5 ? apply(w.slice(1)) : { exitCode: 1, stderr: `bad: ${line}` };
      if (r.exitCode) return r;
    }
    return {};
  });
  h.on(
    ["arping", REST],
    arpingHelp === undefined ? { exitCode: 127, stderr: "arping: not found" } : { exitCode: 0 },
  );
  h.on(
    ["arping", "--help"],
    arpingHelp === undefined
      ? { exitCode: 127, stderr: "arping: not found" }
      : { stdout: arpingHelp, exitCode: 1 },
  );
  return { host: h, table };
}

const params = {
  network: "mgmt",
  address: "198.51.100.4",
  prefix: 24,
  oldInterface: "eth0",
  newInterface: "eth1",
  gratuitousArp: true,
};

function setup(
  opts: { oldHas?: boolean; newHas?: boolean; newAlias?: boolean; newHelp?: string; oldHelp?: string } = {},
) {
  const old = ipHost(
    "old",
    [
      { ifname: "eth0", address: "198.51.100.40", prefix: 24 },
      ...((opts.oldHas ?? true) ? [{ ifname: "eth0", address: "198.51.100.4", prefix: 24 }] : []),
    ],
    opts.oldHelp ?? HABETS_HELP,
  );
  const neu = ipHost(
    "new",
    [
      { ifname: "eth1", address: "198.51.100.5", prefix: 24 },
      ...(opts.newHas ? [{ ifname: "eth1", address: "198.51.100.4", prefix: 24 }] : []),
      ...(opts.newAlias ? [{ ifname: "lo", address: "198.51.100.4", prefix: 32 }] : []),
    ],
    "newHelp" in opts ? opts.newHelp : HABETS_HELP,
  );
  return { old, neu, deps: makeDeps(new FakeSql()) };
}

describe("net.move-address", () => {
  it("validates, probes the segment, deletes on old, adds on new, sends gratuitous ARP with the moved source (Habets)", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old.host, new: s.neu.host });
    const step = moveAddressStep(s.deps);
    const undo = await step.run(h.ctx, params);
    expect(s.old.host.commands()).toContainEqual(["ip", "addr", "del", "198.51.100.4/24", "dev", "eth0"]);
    expect(s.neu.table).toContainEqual({ ifname: "eth1", address: "198.51.100.4", prefix: 24 });
    expect(s.neu.host.commands()).toContainEqual([
      "arping",
      "-q",
      "-c",
      "2",
      "-w",
      "3",
      "-i",
      "eth1",
      "198.51.100.4",
    ]);
    expect(s.neu.host.commands()).toContainEqual([
      "arping",
      "-q",
      "-U",
      "-S",
      "198.51.100.4",
      "-i",
      "eth1",
      "-c",
      "3",
      "198.51.100.4",
    ]);
    // Checkpoint before the delete.
    const cpAt = h.checkpoints.length;
    expect(cpAt).toBe(1);
    expect(undo).toMatchObject({ removedFromOld: true });
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    // Idempotent: running again changes nothing.
    const before =
      s.old.host.commands().length +
      s.neu.host.commands().filter((a) => (a[1] === "addr" && a[2] !== "show") || a[1] === "-batch").length;
    await step.run(makeCtx({ old: s.old.host, new: s.neu.host }, h.checkpoints[0]).ctx, params);
    expect(s.old.host.commands().filter((a) => a[2] === "del")).toHaveLength(1);
    expect(before).toBeGreaterThan(0);
  });

  it("undo moves the address back and ARPs from old; a second undo changes nothing", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old.host, new: s.neu.host });
    const step = moveAddressStep(s.deps);
    const undo = (await step.run(h.ctx, params)) ?? {};
    await step.undo!(h.ctx, params, undo);
    expect(s.old.table.some((a) => a.address === "198.51.100.4" && a.ifname === "eth0")).toBe(true);
    expect(s.neu.table.some((a) => a.address === "198.51.100.4")).toBe(false);
    expect(s.old.host.commands()).toContainEqual([
      "arping",
      "-q",
      "-U",
      "-S",
      "198.51.100.4",
      "-i",
      "eth0",
      "-c",
      "3",
      "198.51.100.4",
    ]);
    await step.undo!(h.ctx, params, undo);
    expect(s.old.host.commands().filter((a) => a[2] === "add")).toHaveLength(1);
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: false });
  });

  it("after a crash between del and add (address on neither), the redo finishes the move", async () => {
    const s = setup({ oldHas: false });
    const h = makeCtx(
      { old: s.old.host, new: s.neu.host },
      { address: "198.51.100.4", prefix: 24, removedFromOld: true },
    );
    await moveAddressStep(s.deps).run(h.ctx, params);
    expect(s.neu.table.some((a) => a.address === "198.51.100.4" && a.ifname === "eth1")).toBe(true);
  });

  it("a loopback alias on new (net.local-alias) leaves lo in the same ip -batch that adds it to eth1; undo puts it back", async () => {
    const s = setup({ newAlias: true });
    const h = makeCtx({ old: s.old.host, new: s.neu.host });
    const step = moveAddressStep(s.deps);
    const undo = (await step.run(h.ctx, params)) ?? {};
    expect(undo).toMatchObject({ localAlias: true });
    expect(s.neu.table.filter((a) => a.address === "198.51.100.4")).toEqual([
      { ifname: "eth1", address: "198.51.100.4", prefix: 24 },
    ]);
    const batches = s.neu.host.calls.flatMap((c) =>
      "argv" in c && c.argv[1] === "-batch" ? [c.stdin.toString()] : [],
    );
    expect(batches).toEqual(["addr del 198.51.100.4/32 dev lo\naddr add 198.51.100.4/24 dev eth1\n"]);
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    await step.undo!(h.ctx, params, undo);
    expect(s.neu.table.filter((a) => a.address === "198.51.100.4")).toEqual([
      { ifname: "lo", address: "198.51.100.4", prefix: 32 },
    ]);
    expect(s.old.table).toContainEqual({ ifname: "eth0", address: "198.51.100.4", prefix: 24 });
  });

  it("refuses before changing anything: address not on old, or already on new", async () => {
    const a = setup({ oldHas: false });
    await expect(
      moveAddressStep(a.deps).run(makeCtx({ old: a.old.host, new: a.neu.host }).ctx, params),
    ).rejects.toThrow(
      /cannot move 198\.51\.100\.4\/24 \(mgmt\): the old controller does not hold 198\.51\.100\.4/,
    );
    const b = setup({ newHas: true });
    await expect(
      moveAddressStep(b.deps).run(makeCtx({ old: b.old.host, new: b.neu.host }).ctx, params),
    ).rejects.toThrow(/the new controller already holds 198\.51\.100\.4 \(on eth1\)/);
    for (const x of [a, b])
      expect(
        [...x.old.host.commands(), ...x.neu.host.commands()].filter(
          (c) => (c[1] === "addr" && c[2] !== "show") || c[1] === "-batch",
        ),
      ).toEqual([]);
  });

  it("refuses when new's interface gets no ARP reply (another L2 segment)", async () => {
    const s = setup();
    s.neu.host.on(["arping", "-q", "-c", "2", REST], { exitCode: 1 });
    await expect(
      moveAddressStep(s.deps).run(makeCtx({ old: s.old.host, new: s.neu.host }).ctx, params),
    ).rejects.toThrow(/do not seem to share an L2 segment/);
    expect(s.old.table.some((a) => a.address === "198.51.100.4")).toBe(true);
  });

  it("iputils arping gets its own syntax; no arping at all is a loud warning, the move still happens", async () => {
    const s = setup({ newHelp: IPUTILS_HELP });
    await moveAddressStep(s.deps).run(makeCtx({ old: s.old.host, new: s.neu.host }).ctx, params);
    expect(s.neu.host.commands()).toContainEqual([
      "arping",
      "-q",
      "-U",
      "-s",
      "198.51.100.4",
      "-I",
      "eth1",
      "-c",
      "3",
      "198.51.100.4",
    ]);
    const t = setup({ newHelp: undefined });
    const h = makeCtx({ old: t.old.host, new: t.neu.host });
    await moveAddressStep(t.deps).run(h.ctx, params);
    expect(
      h.events.some((e) => e.type === "log" && e.level === "warn" && /no arping on new/.test(e.message)),
    ).toBe(true);
    expect(t.neu.table.some((a) => a.address === "198.51.100.4")).toBe(true);
  });
});

describe("network helpers", () => {
  it("parses ip -j output and validates plans", () => {
    expect(
      parseIpAddrJson(
        '[{"ifname":"eth0","addr_info":[{"family":"inet6","local":"2001:DB8:0::1","prefixlen":64}]}]',
      ),
    ).toEqual([{ ifname: "eth0", address: "2001:db8::1", prefix: 64 }]);
    expect(
      planProblems({ address: "198.51.100.4", prefix: 33, oldInterface: "eth0", newInterface: "eth1" }),
    ).toEqual(["prefix /33 is not valid for 198.51.100.4"]);
    expect(
      planProblems({ address: "10.1", prefix: 8, oldInterface: "eth0", newInterface: "eth1" })[0],
    ).toMatch(/not an IP address/);
    expect(
      beforeMoveProblems(
        { address: "198.51.100.4", prefix: 24, oldInterface: "eth0", newInterface: "eth1" },
        { old: { ifname: "eth0", address: "198.51.100.4", prefix: 25 } },
      ),
    ).toEqual(["198.51.100.4 has prefix /25 on old, not /24"]);
    expect(() => gratuitousArpArgv("habets", "198.51.100.4", "eth1;reboot")).toThrow(/unusual interface/);
  });
});
