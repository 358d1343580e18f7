/**
 * net.move-address over fake hosts whose `ip` acts on an address table (ipHost below). The switch itself runs
 * through pre-opened commands (preopened-move.ts); the timeline the hosts record shows the safety order: both
 * commands open first, old's batch, old's exit, and only then new's batch and the announcement.
 */
import { describe, expect, it } from "vitest";
import { moveAddressStep } from "../../../../src/steps/net/move-address.js";
import {
  ADD_AND_ANNOUNCE,
  NOT_ADDED_EXIT,
  NOT_WHOLE_EXIT,
  REMOVE,
} from "../../../../src/steps/net/preopened-move.js";
import { gratuitousArpArgv } from "../../../../src/net/arping.js";
import { parseIpAddrJson } from "../../../../src/net/addresses.js";
import { beforeMoveProblems, planProblems } from "../../../../src/net/validate.js";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import type { PassThrough } from "node:stream";
import type { ExecStream } from "../../../../src/hosts/host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

const HABETS_HELP =
  "ARPing 2.21, by Thomas Habets <thomas@habets.se>\nusage: arping [ -0aAbBdDeFhpqrRuUv ] [ -w <sec> ] [ -S <host/ip> ] [ -i <interface> ] <host>\n";
const IPUTILS_HELP =
  "Usage:\n  arping [options] <destination>\n\nOptions:\n  -I <device>    which ethernet device to use\n  -s <source>    source IP address\narping from iputils 20221126\n";

/**
 * A host whose `ip addr` commands act on an address table, and whose `ip -j addr show` reports it. Behaviour:
 * - `ip addr add|del CIDR dev IF`, and `ip -batch -` whose stdin lines are `addr add|del CIDR dev IF` (applied in
 *   order; the first failure stops it, exit 2 with RTNETLINK's message) or `addr show dev IF to ADDR/32` (prints a
 *   `-o` style line when the address is on IF). As execStream, both read all of stdin first (readsStdin).
 * - The pre-opened scripts read the batch up to a line `end`: without it they exit NOT_WHOLE_EXIT, nothing done.
 *   `sh -c REMOVE` (old's side) then is `ip -batch -`.
 * - `sh -c ADD_AND_ANNOUNCE sh ADDR [ANNOUNCE...]` does what the real script does (the real one is run against a
 *   real shell and ip in test/integration/net): runs the batch; a failure exits with its code; with an
 *   announcement, exits NOT_ADDED_EXIT unless the shown lines name ADDR; else prints `added`, and "runs" the
 *   announcement (recorded in `announced`, exit code `announceExit`).
 * - arping: `--help` prints the given help (exit 1), or exit 127 without arping; any other arping exits 0.
 * - Pre-opened commands (execStream of `sh`) print `ready` as soon as they open, as the real scripts do before
 *   reading stdin (unless `state.sayReady` is false); their output follows once stdin has ended.
 * - Every effect and every pre-opened command's open, stdin end and exit go to `timeline` (shared between hosts).
 */
function ipHost(
  name: string,
  addrs: { ifname: string; address: string; prefix: number }[],
  arpingHelp?: string,
  timeline: string[] = [],
) {
  const h = new FakeHost(name, { unmatched: "throw" });
  const table = [...addrs];
  const announced: string[][] = [];
  const state = { announceExit: 0, sayReady: true };
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
    timeline.push(`${name}: ${argv[0]} ${argv[1]} dev ${argv[3]}`);
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
  const batch = (stdin: Buffer): { exitCode?: number; stderr?: string; stdout?: string } => {
    let stdout = "";
    for (const line of stdin
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")) {
      const w = line.trim().split(/\s+/);
      if (w[0] === "addr" && w[1] === "show" && w.length === 6) {
        const [addr] = w[5]!.split("/");
        const hit = table.find((a) => a.ifname === w[3] && a.address === addr);
        if (hit)
          stdout += `3: ${hit.ifname}    inet ${hit.address}/${hit.prefix} scope global ${hit.ifname}\n`;
        continue;
      }
      const r =
        w[0] === "addr" && w.length === 5 ? apply(w.slice(1)) : { exitCode: 1, stderr: `bad: ${line}` };
      if (r.exitCode) return r;
    }
    return { stdout };
  };
  h.on(["ip", "-batch", "-"], ({ stdin }) => batch(stdin), { readsStdin: true });
  /** The batch before its `end` line, or undefined when it did not arrive whole. */
  const whole = (stdin: Buffer): Buffer | undefined => {
    const text = stdin.toString("utf8");
    const at = text.split("\n").indexOf("end");
    return at < 0 ? undefined : Buffer.from(text.split("\n").slice(0, at).join("\n"));
  };
  const notWhole = { exitCode: NOT_WHOLE_EXIT, stderr: "the batch did not arrive whole" };
  h.on(
    ["sh", "-c", REMOVE],
    ({ stdin }) => {
      const b = whole(stdin);
      return b ? batch(b) : notWhole;
    },
    { readsStdin: true },
  );
  h.on(
    ["sh", "-c", ADD_AND_ANNOUNCE, "sh", REST],
    ({ argv, stdin }) => {
      const [address, ...announce] = argv.slice(4);
      const b = whole(stdin);
      if (!b) return notWhole;
      const r = batch(b);
      if (r.exitCode) return r;
      if (announce.length > 0 && !(r.stdout ?? "").includes(` inet ${address}/`))
        return { exitCode: NOT_ADDED_EXIT, stderr: "not on the interface" };
      if (announce.length > 0) {
        announced.push(announce);
        timeline.push(`${name}: announce ${announce.join(" ")}`);
      }
      return { stdout: "added\n", exitCode: announce.length > 0 ? state.announceExit : 0 };
    },
    { readsStdin: true },
  );
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
  // Pre-opened commands: when they open, when their stdin ends (with what), when they exit.
  const execStream = h.execStream.bind(h);
  h.execStream = async (argv, options): Promise<ExecStream> => {
    const st = await execStream(argv, options);
    const tag = `${name}: ${argv[0]}`;
    timeline.push(`${tag} open`);
    if (argv[0] === "sh" && state.sayReady) (st.stdout as PassThrough).write("ready\n");
    const end = st.stdin.end.bind(st.stdin) as (chunk?: unknown) => void;
    (st.stdin as { end: (chunk?: unknown) => void }).end = (chunk?: unknown) => {
      timeline.push(`${tag} stdin ${JSON.stringify(typeof chunk === "string" ? chunk : "")}`);
      end(chunk);
    };
    const done = st.done.then((r) => {
      timeline.push(`${tag} exit ${r.exitCode}`);
      return r;
    });
    return { ...st, done };
  };
  return { host: h, table, announced, state, timeline };
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
  const timeline: string[] = [];
  const old = ipHost(
    "old",
    [
      { ifname: "eth0", address: "198.51.100.40", prefix: 24 },
      ...((opts.oldHas ?? true) ? [{ ifname: "eth0", address: "198.51.100.4", prefix: 24 }] : []),
    ],
    opts.oldHelp ?? HABETS_HELP,
    timeline,
  );
  const neu = ipHost(
    "new",
    [
      { ifname: "eth1", address: "198.51.100.5", prefix: 24 },
      ...(opts.newHas ? [{ ifname: "eth1", address: "198.51.100.4", prefix: 24 }] : []),
      ...(opts.newAlias ? [{ ifname: "lo", address: "198.51.100.4", prefix: 32 }] : []),
    ],
    "newHelp" in opts ? opts.newHelp : HABETS_HELP,
    timeline,
  );
  return { old, neu, timeline, deps: makeDeps(new FakeSql()) };
}

const HABETS_GARP = ["arping", "-q", "-U", "-S", "198.51.100.4", "-i", "eth1", "-c", "3", "198.51.100.4"];

/** The argv of the pre-opened script on new, and what was written to each pre-opened command's stdin. */
function preopened(h: FakeHost): { argv: readonly string[]; stdin: string }[] {
  return h.calls.flatMap((c) =>
    c.kind === "execStream" ? [{ argv: c.argv, stdin: c.stdin.toString("utf8") }] : [],
  );
}

describe("net.move-address", () => {
  it("validates, probes the segment, then hands over through commands opened on both hosts before the gap (Habets)", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old.host, new: s.neu.host });
    const step = moveAddressStep(s.deps);
    const undo = await step.run(h.ctx, params);
    // The segment probe ran before anything changed.
    const probeAt = s.neu.host.commandLines().indexOf("arping -q -c 2 -w 3 -i eth1 198.51.100.4");
    expect(probeAt).toBeGreaterThanOrEqual(0);
    expect(preopened(s.old.host)).toEqual([
      { argv: ["sh", "-c", REMOVE], stdin: "addr del 198.51.100.4/24 dev eth0\nend\n" },
    ]);
    expect(preopened(s.neu.host)).toEqual([
      {
        argv: ["sh", "-c", ADD_AND_ANNOUNCE, "sh", "198.51.100.4", ...HABETS_GARP],
        stdin: "addr add 198.51.100.4/24 dev eth1\naddr show dev eth1 to 198.51.100.4/32\nend\n",
      },
    ]);
    // The safety order, and nothing opened late: old loses it, exits, and only then does new get its batch.
    expect(s.timeline).toEqual([
      "old: sh open",
      "new: sh open",
      'old: sh stdin "addr del 198.51.100.4/24 dev eth0\\nend\\n"',
      "old: del 198.51.100.4/24 dev eth0",
      "old: sh exit 0",
      'new: sh stdin "addr add 198.51.100.4/24 dev eth1\\naddr show dev eth1 to 198.51.100.4/32\\nend\\n"',
      "new: add 198.51.100.4/24 dev eth1",
      `new: announce ${HABETS_GARP.join(" ")}`,
      "new: sh exit 0",
    ]);
    expect(s.neu.table).toContainEqual({ ifname: "eth1", address: "198.51.100.4", prefix: 24 });
    expect(s.old.table.some((a) => a.address === "198.51.100.4")).toBe(false);
    // No separate arping command: the announcement is the script's exec.
    expect(s.neu.host.commandLines().filter((l) => l.startsWith("arping -q -U"))).toEqual([]);
    // Checkpoint before the change; the timings journaled.
    expect(h.checkpoints).toHaveLength(1);
    expect(h.checkpoints[0]).toMatchObject({ removedFromOld: true, localAlias: false });
    expect(undo).toMatchObject({ removedFromOld: true });
    expect(Object.keys(undo ?? {})).toEqual(expect.arrayContaining(["moveMs", "gapMs", "openMs"]));
    expect(h.events.some((e) => e.type === "log" && /ms from old's del to new's add/.test(e.message))).toBe(
      true,
    );
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    // Idempotent: running again changes nothing (no new hand-over, no del).
    await step.run(makeCtx({ old: s.old.host, new: s.neu.host }, h.checkpoints[0]).ctx, params);
    expect(preopened(s.old.host)).toHaveLength(1);
    expect(s.old.host.commands().filter((a) => a[2] === "del")).toHaveLength(0);
  });

  it("old failing to drop the address stops it: new's batch never comes (no end line), nothing is added or announced", async () => {
    const s = setup();
    // Old's del fails (someone removed the address between validation and the switch).
    s.old.host.on(
      ["sh", "-c", REMOVE],
      { exitCode: 2, stderr: "RTNETLINK answers: Operation not permitted" },
      {
        readsStdin: true,
      },
    );
    const err = await moveAddressStep(s.deps)
      .run(makeCtx({ old: s.old.host, new: s.neu.host }).ctx, params)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "NET_MOVE_FAILED",
      message: expect.stringContaining("Operation not permitted; nothing was added on new"),
    });
    expect(s.timeline.slice(-3)).toEqual([
      "old: sh exit 2",
      'new: sh stdin ""',
      `new: sh exit ${NOT_WHOLE_EXIT}`,
    ]);
    expect(s.neu.table.some((a) => a.address === "198.51.100.4")).toBe(false);
    expect(s.neu.announced).toEqual([]);
  });

  it("a pre-opened command that ends before saying ready changes nothing: neither side gets a batch", async () => {
    const s = setup();
    // New's script cannot start (say, no sh): it ends at once with 127, before any "ready".
    s.neu.state.sayReady = false;
    s.neu.host.on(["sh", "-c", ADD_AND_ANNOUNCE, "sh", REST], { exitCode: 127, stderr: "sh: not found" });
    const err = await moveAddressStep(s.deps)
      .run(makeCtx({ old: s.old.host, new: s.neu.host }).ctx, params)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "NET_MOVE_FAILED", message: expect.stringContaining("did not start") });
    expect(s.old.table.some((a) => a.address === "198.51.100.4" && a.ifname === "eth0")).toBe(true);
    expect(preopened(s.old.host).map((c) => c.stdin)).toEqual([""]);
  });

  it("new failing to add it is an error that says the address already left old (rollback puts it back)", async () => {
    const s = setup();
    // Something else holds it on new's eth0 by the time the batch runs.
    s.neu.host.on(["ip", "-j", "addr", "show"], () => ({ stdout: "[]" }), { times: 1 });
    s.neu.table.push({ ifname: "eth0", address: "198.51.100.4", prefix: 24 });
    const h = makeCtx({ old: s.old.host, new: s.neu.host });
    const step = moveAddressStep(s.deps);
    const err = await step.run(h.ctx, params).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "NET_MOVE_FAILED",
      message: expect.stringMatching(/File exists.*already gone from old/),
    });
    expect(s.neu.announced).toEqual([]);
    // The checkpoint was made before the change: undo puts it back on old.
    await step.undo!(h.ctx, params, h.checkpoints[0]!);
    expect(s.old.table).toContainEqual({ ifname: "eth0", address: "198.51.100.4", prefix: 24 });
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
    // Nothing left to hand over: one plain batch on new, then the announcement.
    expect(preopened(s.old.host)).toEqual([]);
    expect(s.neu.host.commandLines()).toContain(HABETS_GARP.join(" "));
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
    expect(preopened(s.neu.host).map((c) => c.stdin)).toEqual([
      "addr del 198.51.100.4/32 dev lo\naddr add 198.51.100.4/24 dev eth1\naddr show dev eth1 to 198.51.100.4/32\nend\n",
    ]);
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
    for (const x of [a, b]) {
      expect(
        [...x.old.host.commands(), ...x.neu.host.commands()].filter(
          (c) => (c[1] === "addr" && c[2] !== "show") || c[1] === "-batch" || c[0] === "sh",
        ),
      ).toEqual([]);
      expect(x.timeline.filter((t) => / (add|del) /.test(t))).toEqual([]);
    }
  });

  it("refuses when new's interface gets no ARP reply (another L2 segment)", async () => {
    const s = setup();
    s.neu.host.on(["arping", "-q", "-c", "2", REST], { exitCode: 1 });
    await expect(
      moveAddressStep(s.deps).run(makeCtx({ old: s.old.host, new: s.neu.host }).ctx, params),
    ).rejects.toThrow(/do not seem to share an L2 segment/);
    expect(s.old.table.some((a) => a.address === "198.51.100.4")).toBe(true);
    expect(s.timeline).toEqual([]);
  });

  it("an announcement exiting badly is a warning: the address has moved", async () => {
    const s = setup();
    s.neu.state.announceExit = 2;
    const h = makeCtx({ old: s.old.host, new: s.neu.host });
    await moveAddressStep(s.deps).run(h.ctx, params);
    expect(s.neu.table).toContainEqual({ ifname: "eth1", address: "198.51.100.4", prefix: 24 });
    expect(
      h.events.some((e) => e.type === "log" && e.level === "warn" && /exited with 2/.test(e.message)),
    ).toBe(true);
  });

  it("iputils arping gets its own syntax; no arping at all is a loud warning, the move still happens", async () => {
    const s = setup({ newHelp: IPUTILS_HELP });
    await moveAddressStep(s.deps).run(makeCtx({ old: s.old.host, new: s.neu.host }).ctx, params);
    expect(s.neu.announced).toEqual([
      ["arping", "-q", "-U", "-s", "198.51.100.4", "-I", "eth1", "-c", "3", "198.51.100.4"],
    ]);
    const t = setup({ newHelp: undefined });
    const h = makeCtx({ old: t.old.host, new: t.neu.host });
    await moveAddressStep(t.deps).run(h.ctx, params);
    expect(
      h.events.some((e) => e.type === "log" && e.level === "warn" && /no arping on new/.test(e.message)),
    ).toBe(true);
    expect(t.neu.table.some((a) => a.address === "198.51.100.4")).toBe(true);
    // Without an announcement the script only adds (no show line, no guard).
    expect(preopened(t.neu.host)).toEqual([
      {
        argv: ["sh", "-c", ADD_AND_ANNOUNCE, "sh", "198.51.100.4"],
        stdin: "addr add 198.51.100.4/24 dev eth1\nend\n",
      },
    ]);
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
