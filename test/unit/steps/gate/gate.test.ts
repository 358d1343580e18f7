import { describe, expect, it } from "vitest";
import { gateSteps } from "../../../../src/steps/gate/index.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

const params = { question: "Move 198.51.100.4 to the new controller now?", answerKey: "switch" };

describe("gate.confirm", () => {
  it("asks through deps.confirm; yes passes and verifies in this run", async () => {
    const asked: string[][] = [];
    const [gate] = gateSteps(
      makeDeps(new FakeSql(), {
        confirm: (q, k) => {
          asked.push([q, k]);
          return Promise.resolve(true);
        },
      }),
    );
    const h = makeCtx({});
    await gate!.run(h.ctx, params);
    expect(asked).toEqual([[params.question, "switch"]]);
    expect(await gate!.verify(h.ctx, params)).toMatchObject({ ok: true });
  });

  it("no stops the run with the question; never verified (so an interrupted gate is never recovered as yes)", async () => {
    const [gate] = gateSteps(makeDeps(new FakeSql(), { confirm: () => Promise.resolve(false) }));
    const h = makeCtx({});
    await expect(gate!.run(h.ctx, params)).rejects.toThrow(/not confirmed: Move 198\.51\.100\.4/);
    expect(await gate!.verify(h.ctx, params)).toMatchObject({ ok: false });
  });

  it("without a confirm function every gate refuses", async () => {
    const [gate] = gateSteps(makeDeps(new FakeSql()));
    await expect(gate!.run(makeCtx({}).ctx, params)).rejects.toThrow(/not confirmed/);
  });
});
