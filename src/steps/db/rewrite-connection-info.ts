/**
 * db.rewrite-connection-info: on NEW only, every row whose connection_info names the old iSCSI portal gets the
 * new one, edited as JSON and written back with `UPDATE ... WHERE id = ? AND connection_info = ?` (parameters
 * only; the second condition makes a row changed by someone else since the read a no-op, counted and reported).
 * Verify: no row still names the old portal. Covered by the database's import undo.
 */
import type { JsonObject, StepImpl } from "../../engine/step.js";
import { UserError } from "../../lib/errors.js";
import type { SqlSession } from "../../db/sql-session.js";
import { qualified } from "../../db/sql-session.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";
import type { Json } from "./connection-info.js";
import { namesPortal, pythonJson, rewriteConnectionInfo, splitPortal } from "./connection-info.js";

function read(raw: JsonObject): { oldHost: string; newHost: string; tables: [string, string][] } {
  const p = new Params("db.rewrite-connection-info", raw);
  const oldHost = splitPortal(p.str("oldPortal")).host;
  const newHost = splitPortal(p.str("newPortal")).host;
  const tables = p.strs("tables").map((t): [string, string] => {
    const [db, table] = t.split(".");
    if (!db || !table)
      throw new UserError("PLAN_PARAM", `db.rewrite-connection-info: table ${t} is not db.table`);
    return [db, table];
  });
  return { oldHost, newHost, tables };
}

interface Candidate {
  id: number | string;
  text: string;
  doc: Json;
}

async function candidates(
  s: SqlSession,
  db: string,
  table: string,
  oldHost: string,
): Promise<{ rows: Candidate[]; unparsable: number }> {
  const rows = await s.query(
    `SELECT id, connection_info FROM ${qualified(db, table)} WHERE connection_info LIKE ?`,
    [`%${oldHost.replace(/[\\%_]/g, (c) => `\\${c}`)}%`],
  );
  const out: Candidate[] = [];
  let unparsable = 0;
  for (const r of rows) {
    const v = r.connection_info;
    const text = typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : "";
    try {
      out.push({ id: r.id as number | string, text, doc: JSON.parse(text) as Json });
    } catch {
      unparsable++;
    }
  }
  return { rows: out, unparsable };
}

export function rewriteConnectionInfoStep(deps: StepDeps): StepImpl {
  return {
    kind: "db.rewrite-connection-info",
    async run(ctx, raw) {
      const { oldHost, newHost, tables } = read(raw);
      const changed: JsonObject = {};
      if (oldHost.toLowerCase() === newHost.toLowerCase()) return { changed };
      await withSql(deps, ctx, "new", async (s) => {
        for (const [db, table] of tables) {
          const { rows, unparsable } = await candidates(s, db, table, oldHost);
          let n = 0;
          let raced = 0;
          for (const row of rows) {
            const { doc, changes } = rewriteConnectionInfo(row.doc, oldHost, newHost);
            if (changes === 0) continue;
            const r = await s.execute(
              `UPDATE ${qualified(db, table)} SET connection_info = ? WHERE id = ? AND connection_info = ?`,
              [pythonJson(doc), row.id, row.text],
            );
            if (r.affectedRows === 1) n++;
            else raced++;
          }
          changed[`${db}.${table}`] = n;
          ctx.emit({
            type: "log",
            level: unparsable + raced > 0 ? "warn" : "info",
            message: `${db}.${table}: ${n} row(s) now name portal ${newHost}${unparsable ? `; ${unparsable} row(s) mention ${oldHost} but are not JSON (left alone)` : ""}${raced ? `; ${raced} row(s) changed while rewriting (re-run to retry)` : ""}`,
          });
        }
      });
      return { changed };
    },
    async verify(ctx, raw) {
      const { oldHost, newHost, tables } = read(raw);
      if (oldHost.toLowerCase() === newHost.toLowerCase())
        return { ok: true, detail: "portal unchanged; nothing to rewrite" };
      return withSql(deps, ctx, "new", async (s) => {
        const left: string[] = [];
        for (const [db, table] of tables) {
          const { rows } = await candidates(s, db, table, oldHost);
          const still = rows.filter((r) => namesPortal(r.doc, oldHost)).length;
          if (still > 0) left.push(`${db}.${table}: ${still} row(s)`);
        }
        return left.length === 0
          ? {
              ok: true,
              detail: `no connection_info in ${tables.map((t) => t.join(".")).join(", ")} names portal ${oldHost}`,
            }
          : { ok: false, detail: `still naming portal ${oldHost}: ${left.join("; ")}` };
      });
    },
    undo: () => Promise.resolve(),
  };
}
