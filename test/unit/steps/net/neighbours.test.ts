import { describe, expect, it } from "vitest";
import { neighboursStep, parseLinkMac, parseNeighMac } from "../../../../src/steps/net/neighbours.js";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

// Shapes as iproute2 6.x prints them (captured on the lab: `ip -j link show dev eth0`, `ip -j neigh show to X`).
const LINK =
  '[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","UP"],"mtu":1500,"link_type":"ether","address":"DA:BC:B6:C3:4D:F5"}]';
const neigh = (mac: string, state = "REACHABLE"): string =>
  `[{"dst":"198.51.100.4","dev":"eth0","lladdr":"${mac}","state":["${state}"]}]`;

/** new: answers `ip -j link show dev eth0`; compute1: ping always exits 0, `ip -j neigh` gives `seen`. */
function hosts(seen: string) {
  const neu = new FakeHost("new", { unmatched: "throw" }).on(["ip", "-j", "link", "show", "dev", "eth0"], {
    stdout: LINK,
  });
  const c1 = new FakeHost("compute1", { unmatched: "throw" })
    .on(["ping", REST], {})
    .on(["ip", "-j", "neigh", "show", "to", "198.51.100.4"], { stdout: seen });
  return { neu, c1 };
}
const params = { from: ["compute1"], targets: [{ address: "198.51.100.4", newInterface: "eth0" }] };

describe("check.neighbours", () => {
  it("parses MACs; FAILED/INCOMPLETE neighbour entries do not count", () => {
    expect(parseLinkMac(LINK)).toBe("da:bc:b6:c3:4d:f5");
    expect(parseNeighMac(neigh("da:bc:b6:c3:4d:f5", "STALE"))).toBe("da:bc:b6:c3:4d:f5");
    expect(parseNeighMac('[{"dst":"198.51.100.4","dev":"eth0","state":["FAILED"]}]')).toBeUndefined();
    expect(parseNeighMac("not json")).toBeUndefined();
  });

  it("passes when the compute sees new's MAC, and fails naming old's MAC otherwise", async () => {
    const good = hosts(neigh("da:bc:b6:c3:4d:f5"));
    const step = neighboursStep(makeDeps(new FakeSql()));
    const res = await step.run(makeCtx({ new: good.neu, compute1: good.c1 }).ctx, params);
    expect(res).toMatchObject({ seen: ["compute1 sees 198.51.100.4 at da:bc:b6:c3:4d:f5 (new's)"] });
    const bad = hosts(neigh("d2:e9:74:d5:c7:c6"));
    await expect(step.run(makeCtx({ new: bad.neu, compute1: bad.c1 }).ctx, params)).rejects.toThrow(
      /compute1 sees 198\.51\.100\.4 at d2:e9:74:d5:c7:c6, not new's da:bc:b6:c3:4d:f5/,
    );
    expect(await step.verify(makeCtx({ new: bad.neu, compute1: bad.c1 }).ctx, params)).toMatchObject({
      ok: false,
    });
  });
});
