/**
 * `down` removes everything `up` made: no lab namespace, mount, link, route or recorded process remains, and the
 * jump looks as it did before `up` (when this run brought the lab up). The lab is brought back up afterwards so
 * test files can run in any order.
 */
import { inject, expect, it } from "vitest";
import { down } from "../../../lab/down.js";
import { isAlive, readState } from "../../../lab/state.js";
import { up } from "../../../lab/up.js";
import { labDescribe } from "../setup/lab-context.js";
import { snapshotJump } from "../setup/snapshot.js";

labDescribe("lab down", () => {
  it("leaves no namespace, mount, veth, route or process behind", async () => {
    const state = readState()!;
    expect(state.phase).toBe("up");
    const problems = await down();
    expect(problems).toEqual([]);
    const after = snapshotJump();
    expect(after.netns.filter((n) => n.startsWith("ho-"))).toEqual([]);
    expect(after.mounts.filter((m) => m.includes("handover-lab"))).toEqual([]);
    expect(after.links.filter((l) => state.rootLinks.includes(l))).toEqual([]);
    expect(after.routes.filter((r) => /198\.51\.100\.|198\.18\.0\./.test(r))).toEqual([]);
    expect(state.pids.filter(isAlive)).toEqual([]);
    expect(readState()).toBeUndefined();
    const baseline = inject("labBaseline");
    if (baseline) expect(after).toEqual(baseline);

    await up({ computes: state.computes, scenario: state.scenario });
  });
});
