import { describe, expect, it } from "vitest";
import { safeEmit } from "../../../src/engine/safe-emit.js";
import type { EngineEvent } from "../../../src/engine/step.js";

const ev: EngineEvent = { type: "step-start", stepId: "a", at: "2026-11-22T00:00:00Z" };

describe("safeEmit", () => {
  it("passes events through, and a renderer that throws is reported once instead of failing the caller", () => {
    const seen: EngineEvent[] = [];
    const reports: string[] = [];
    let fail = false;
    const emit = safeEmit(
      (e) => {
        if (fail) throw new TypeError("Cannot read properties of undefined (reading 'write')");
        seen.push(e);
      },
      (m) => reports.push(m),
    );
    emit(ev);
    fail = true;
    expect(() => emit(ev)).not.toThrow();
    expect(() => emit(ev)).not.toThrow();
    expect(seen).toEqual([ev]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain("reading 'write'");
  });

  it("no renderer: a no-op", () => {
    expect(() => safeEmit(undefined, () => undefined)(ev)).not.toThrow();
  });
});
