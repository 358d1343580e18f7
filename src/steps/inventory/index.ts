/**
 * inventory.capture (on old, before the freeze) and inventory.compare (on new, after the upgrade): the same counts
 * (src/steps/inventory/counts.ts) by read-only SQL. Capture returns them (journaled as the step's result, for
 * compare and the report). Compare takes the captured counts from the journal (`ctx.resultOf(against)`); when the
 * capture's result is not available it counts old again, which the freeze keeps equal to the capture.
 * Any difference fails the step, listing it.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params, isObject } from "../params.js";
import { withSql } from "../sql.js";
import { countInventory, inventoryDifferences } from "./counts.js";

function read(kind: string, raw: JsonObject): { host: string; databases: string[]; against: string } {
  const p = new Params(kind, raw);
  return { host: p.str("host"), databases: p.strs("databases"), against: p.str("against", "") };
}

function countsOf(v: unknown): Record<string, number> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.every(([, n]) => typeof n === "number")
    ? (Object.fromEntries(entries) as Record<string, number>)
    : undefined;
}

function show(c: Readonly<Record<string, number>>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

export function inventorySteps(deps: StepDeps): StepImpl[] {
  const count = (ctx: StepContext, host: string, databases: string[]): Promise<Record<string, number>> =>
    withSql(deps, ctx, host, (s) => countInventory(s, databases));

  async function baseline(
    ctx: StepContext,
    against: string,
    databases: string[],
  ): Promise<{ counts: Record<string, number>; from: string }> {
    const r = against ? ctx.resultOf?.(against) : undefined;
    const c = r && isObject(r.counts ?? null) ? countsOf(r.counts) : undefined;
    if (c) return { counts: c, from: `the counts ${against} recorded` };
    return { counts: await count(ctx, "old", databases), from: "old's databases now" };
  }

  async function compare(
    ctx: StepContext,
    raw: JsonObject,
  ): Promise<{ diffs: string[]; after: Record<string, number>; from: string }> {
    const { host, databases, against } = read("inventory.compare", raw);
    const before = await baseline(ctx, against, databases);
    const after = await count(ctx, host, databases);
    return { diffs: inventoryDifferences(before.counts, after), after, from: before.from };
  }

  const capture: StepImpl = {
    kind: "inventory.capture",
    async run(ctx, raw) {
      const { host, databases } = read("inventory.capture", raw);
      const counts = await count(ctx, host, databases);
      ctx.emit({ type: "log", level: "info", message: `inventory on ${host}: ${show(counts)}` });
      return { counts };
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      const { host, databases } = read("inventory.capture", raw);
      const counts = await count(ctx, host, databases);
      return { ok: true, detail: `inventory on ${host}: ${show(counts)}` };
    },
    undo: () => Promise.resolve(), // read-only
  };

  const compareStep: StepImpl = {
    kind: "inventory.compare",
    async run(ctx, raw) {
      const { diffs, after, from } = await compare(ctx, raw);
      if (diffs.length > 0) {
        throw new UserError(
          "INVENTORY_DIFFERS",
          `the new controller's inventory differs from ${from}:\n  ${diffs.join("\n  ")}`,
          {
            nextSteps: [
              "Find why those objects differ (a copy that missed rows, or writes to the old controller after the freeze), fix it, then re-run.",
            ],
          },
        );
      }
      const detail = `inventory equal to ${from}: ${show(after)}`;
      ctx.emit({ type: "log", level: "info", message: `inventory on new equals ${from}: ${show(after)}` });
      return { counts: after, detail };
    },
    // run fails on any difference; verify is the same comparison again.
    provenByRun: () => true,
    async verify(ctx, raw): Promise<VerifyResult> {
      const { diffs, after, from } = await compare(ctx, raw);
      return diffs.length === 0
        ? { ok: true, detail: `inventory equal to ${from}: ${show(after)}` }
        : { ok: false, detail: `inventory differs from ${from}: ${diffs.join("; ")}` };
    },
    undo: () => Promise.resolve(), // read-only
  };

  return [capture, compareStep];
}
