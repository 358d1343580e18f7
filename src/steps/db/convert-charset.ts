/**
 * db.convert-charset: `ALTER TABLE ... CONVERT TO CHARACTER SET` for the listed tables on new (seed 002 step 4:
 * latin1 glance tables break foreign keys against utf8 ones in newer migrations). Covered: the import's undo
 * drops the whole database.
 */
import type { JsonObject, StepImpl } from "../../engine/step.js";
import { UserError } from "../../lib/errors.js";
import { ident, qualified } from "../../db/sql-session.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";

const COLLATION: Record<string, string> = {
  utf8: "utf8_general_ci",
  utf8mb3: "utf8mb3_general_ci",
  utf8mb4: "utf8mb4_general_ci",
};

function read(raw: JsonObject): { database: string; tables: string[]; charset: string } {
  const p = new Params("db.convert-charset", raw);
  const charset = p.str("charset", "utf8");
  if (!COLLATION[charset])
    throw new UserError("PLAN_PARAM", `db.convert-charset: unsupported charset ${charset}`);
  return { database: p.str("database"), tables: p.strs("tables"), charset };
}

/** Table -> collation for those that are not in `charset` yet (utf8 and utf8mb3 are the same thing). */
async function notConverted(
  s: {
    query: (
      sql: string,
      params?: readonly (string | number)[],
    ) => Promise<readonly Readonly<Record<string, unknown>>[]>;
  },
  database: string,
  tables: readonly string[],
  charset: string,
): Promise<Map<string, string>> {
  const rows = await s.query(
    "SELECT TABLE_NAME AS t, TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    [database],
  );
  const prefix = charset === "utf8" ? /^utf8(mb3)?_/ : new RegExp(`^${charset}_`);
  const out = new Map<string, string>();
  for (const r of rows) {
    const t = String(r.t);
    if (tables.includes(t) && !prefix.test(String(r.c))) out.set(t, String(r.c));
  }
  return out;
}

export function convertCharsetStep(deps: StepDeps): StepImpl {
  return {
    kind: "db.convert-charset",
    async run(ctx, raw) {
      const { database, tables, charset } = read(raw);
      await withSql(deps, ctx, "new", async (s) => {
        const todo = await notConverted(s, database, tables, charset);
        // Foreign keys between tables converted one at a time would refuse the intermediate state.
        await s.execute("SET SESSION foreign_key_checks = 0");
        for (const t of todo.keys()) {
          ctx.emit({ type: "log", level: "info", message: `${database}.${t}: ${todo.get(t)} -> ${charset}` });
          await s.execute(
            `ALTER TABLE ${qualified(database, t)} CONVERT TO CHARACTER SET ${charset} COLLATE ${COLLATION[charset]}`,
          );
        }
        await s.execute(
          `ALTER DATABASE ${ident(database)} CHARACTER SET ${charset} COLLATE ${COLLATION[charset]}`,
        );
      });
    },
    async verify(ctx, raw) {
      const { database, tables, charset } = read(raw);
      const left = await withSql(deps, ctx, "new", (s) => notConverted(s, database, tables, charset));
      return left.size === 0
        ? { ok: true, detail: `${database}: ${tables.length} table(s) in ${charset}` }
        : {
            ok: false,
            detail: `${database}: not ${charset}: ${[...left].map(([t, c]) => `${t} (${c})`).join(", ")}`,
          };
    },
    undo: () => Promise.resolve(),
  };
}
