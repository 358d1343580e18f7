/**
 * db.copy-tables: placement's tables copied out of nova_api into the placement database, both on new (what
 * placement's mysql-migrate-db.sh does, without a password on any argv: it is all SQL on one server). Tables the
 * source lacks (older schemas had fewer) are skipped and logged. Covered by the placement database's undo.
 */
import type { JsonObject, StepImpl } from "../../engine/step.js";
import { baseTables } from "../../db/row-counts.js";
import { qualified, scalarNumber } from "../../db/sql-session.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";

function read(raw: JsonObject): { from: string; to: string; tables: string[] } {
  const p = new Params("db.copy-tables", raw);
  return { from: p.str("from"), to: p.str("to"), tables: p.strs("tables") };
}

export function copyTablesStep(deps: StepDeps): StepImpl {
  return {
    kind: "db.copy-tables",
    async run(ctx, raw) {
      const { from, to, tables } = read(raw);
      await withSql(deps, ctx, "new", async (s) => {
        const present = new Set(await baseTables(s, from));
        await s.execute("SET SESSION foreign_key_checks = 0");
        for (const t of tables) {
          if (!present.has(t)) {
            ctx.emit({ type: "log", level: "info", message: `${from}.${t} does not exist; not copied` });
            continue;
          }
          await s.execute(`DROP TABLE IF EXISTS ${qualified(to, t)}`);
          await s.execute(`CREATE TABLE ${qualified(to, t)} LIKE ${qualified(from, t)}`);
          await s.execute(`INSERT INTO ${qualified(to, t)} SELECT * FROM ${qualified(from, t)}`);
        }
      });
    },
    async verify(ctx, raw) {
      const { from, to, tables } = read(raw);
      return withSql(deps, ctx, "new", async (s) => {
        const src = new Set(await baseTables(s, from));
        const dst = new Set(await baseTables(s, to));
        const diffs: string[] = [];
        for (const t of tables.filter((x) => src.has(x))) {
          if (!dst.has(t)) {
            diffs.push(`${t} missing in ${to}`);
            continue;
          }
          const a = scalarNumber(await s.query(`SELECT COUNT(*) FROM ${qualified(from, t)}`));
          const b = scalarNumber(await s.query(`SELECT COUNT(*) FROM ${qualified(to, t)}`));
          if (a !== b) diffs.push(`${t}: ${from} ${a} rows, ${to} ${b}`);
        }
        return diffs.length === 0
          ? {
              ok: true,
              detail: `${tables.filter((x) => src.has(x)).length} table(s) copied with equal row counts`,
            }
          : { ok: false, detail: diffs.join("; ") };
      });
    },
    undo: () => Promise.resolve(),
  };
}
