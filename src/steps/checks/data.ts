/**
 * check.data (read-only): the catalog's `SELECT COUNT(...)` on old (through a read-only session). A non-zero
 * count is an error (stops the run with the catalog's message and next steps) or a warning (journaled).
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { scalarNumber } from "../../db/sql-session.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";
import { checkHost } from "./host-param.js";

interface DataParams {
  host: string;
  service: string;
  database: string;
  sql: string;
  severity: "error" | "warning";
  message: string;
  nextSteps: string[];
}

function read(raw: JsonObject): DataParams {
  const p = new Params("check.data", raw);
  return {
    host: checkHost("check.data", raw, "old"),
    service: p.str("service"),
    database: p.str("database"),
    sql: p.str("sql"),
    severity: p.str("severity", "error") === "warning" ? "warning" : "error",
    message: p.str("message"),
    nextSteps: p.strs("nextSteps", []),
  };
}

async function count(deps: StepDeps, ctx: StepContext, d: DataParams): Promise<number> {
  return withSql(deps, ctx, d.host, async (s) => scalarNumber(await s.query(d.sql)), {
    database: d.database,
  });
}

export function dataStep(deps: StepDeps): StepImpl {
  return {
    kind: "check.data",
    async run(ctx, raw) {
      const d = read(raw);
      const n = await count(deps, ctx, d);
      if (n === 0) return;
      const text = `${d.service}: ${n} row(s): ${d.message}`;
      if (d.severity === "error") {
        throw new UserError("CHECK_DATA", `${text} (found by \`${d.sql}\` in ${d.database} on ${d.host})`, {
          nextSteps: d.nextSteps,
        });
      }
      ctx.emit({ type: "log", level: "warn", message: text });
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      const d = read(raw);
      const n = await count(deps, ctx, d);
      if (n === 0)
        return {
          ok: true,
          detail: `${d.service}: ${d.database} passes: ${d.message.split(":")[0] ?? ""}`.trim(),
        };
      return d.severity === "error"
        ? { ok: false, detail: `${d.service}: ${n} row(s): ${d.message}` }
        : { ok: true, detail: `${d.service}: warning, ${n} row(s): ${d.message}` };
    },
    undo: () => Promise.resolve(),
  };
}
