/**
 * db.create: the service's databases on new, and its database user(s) with the credentials the old configs use
 * (credentials: keep) or generated ones kept 0600 in `secretFile` on new (credentials: new). For every user,
 * 'localhost' and '%' entries, as the packages' own setup creates them. Idempotent: CREATE ... IF NOT EXISTS,
 * a password set only when it differs, grants re-stated (a no-op when present). The first step to need the new
 * MariaDB also makes the answer file's admin login work there (a fresh MariaDB has only root by unix socket).
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import { databaseExists } from "../../db/row-counts.js";
import type { SqlSession } from "../../db/sql-session.js";
import { ident, scalarNumber, withSession } from "../../db/sql-session.js";
import { UserError } from "../../lib/errors.js";
import type { Credentials, DbCredentialSource } from "../credentials.js";
import { readDbCredentials, readSecretFile, writeSecretFile } from "../credentials.js";
import type { StepDeps } from "../deps.js";
import { Params, strList, union } from "../params.js";
import { sqlFor } from "../sql.js";
import { NEW_DB_CHARSET } from "./copy.js";

export const USER_HOSTS = ["localhost", "%"] as const;

interface CreateParams {
  service: string;
  databases: string[];
  credentials: "keep" | "new";
  from: DbCredentialSource[];
  secretFile: string;
}

function read(raw: JsonObject): CreateParams {
  const p = new Params("db.create", raw);
  const cred = p.str("credentials", "keep");
  if (cred !== "keep" && cred !== "new")
    throw new UserError("PLAN_PARAM", `db.create: credentials must be keep or new`);
  return {
    service: p.str("service"),
    databases: p.strs("databases"),
    credentials: cred,
    from: p.objs("from", []).map((o) => {
      const q = new Params("db.create.from", o);
      return {
        database: q.str("database"),
        file: q.str("file"),
        section: q.str("section"),
        key: q.str("key"),
      };
    }),
    secretFile: p.str("secretFile", ""),
  };
}

/** Opens new's MySQL as admin (sqlFor sets up the admin login on a freshly installed server). */
export function newAdminSql(deps: StepDeps, ctx: StepContext, hostName = "new"): Promise<SqlSession> {
  return sqlFor(deps, ctx, hostName);
}

/** database -> credentials, for every database of the step (databases without their own URL share the first). */
async function credentialsFor(
  deps: StepDeps,
  ctx: StepContext,
  p: CreateParams,
): Promise<Map<string, Credentials>> {
  const out = new Map<string, Credentials>();
  if (p.credentials === "keep") {
    const found = await readDbCredentials(ctx.host("old"), p.from);
    // nova_cell0 has no URL of its own in nova.conf: it is reached with the main database's user.
    const fallback = found.get(p.databases.find((d) => found.has(d)) ?? "") ?? [...found.values()][0];
    for (const d of p.databases) {
      const c = found.get(d) ?? fallback;
      if (!c) {
        throw new UserError(
          "CREDENTIALS_NOT_FOUND",
          `${p.service}: no database URL names ${d} in the old configs`,
          {
            nextSteps: ["Use credentials: new in the answer file, or check the old controller's configs."],
          },
        );
      }
      out.set(d, c);
    }
    return out;
  }
  const neu = ctx.host("new");
  let c = await readSecretFile(neu, p.secretFile);
  if (!c) {
    c = { user: p.service, password: deps.generatePassword() };
    await writeSecretFile(neu, p.secretFile, c);
  }
  for (const d of p.databases) out.set(d, c);
  return out;
}

async function userExists(s: SqlSession, user: string, host: string): Promise<boolean> {
  return (
    scalarNumber(
      await s.query("SELECT COUNT(*) AS n FROM mysql.user WHERE User = ? AND Host = ?", [user, host]),
    ) > 0
  );
}

async function passwordMatches(s: SqlSession, c: Credentials, host: string): Promise<boolean> {
  const rows = await s.query(
    "SELECT (plugin IN ('mysql_native_password', '') AND authentication_string = PASSWORD(?)) AS same FROM mysql.user WHERE User = ? AND Host = ?",
    [c.password, c.user, host],
  );
  return scalarNumber(rows) === 1;
}

/** keystone's triggers need this when binary logging is on (OPENSTACK.md); set it now and for restarts. */
async function trustFunctionCreators(ctx: StepContext, s: SqlSession): Promise<boolean> {
  const rows = await s.query("SELECT @@GLOBAL.log_bin AS b, @@GLOBAL.log_bin_trust_function_creators AS t");
  const r = rows[0] ?? {};
  if (Number(r.b) !== 1 || Number(r.t) === 1) return false;
  await s.execute("SET GLOBAL log_bin_trust_function_creators = 1");
  const neu = ctx.host("new");
  const dir = (await neu.stat("/etc/mysql/mariadb.conf.d")) ? "/etc/mysql/mariadb.conf.d" : "/etc/my.cnf.d";
  await neu.writeFileAtomic(
    `${dir}/99-handover.cnf`,
    "# Written by handover: keystone's triggers need it with binary logging on.\n[mysqld]\nlog_bin_trust_function_creators = 1\n",
    { mode: 0o644 },
  );
  return true;
}

export function createStep(deps: StepDeps): StepImpl {
  return {
    kind: "db.create",
    async run(ctx, raw) {
      const p = read(raw);
      const creds = await credentialsFor(deps, ctx, p);
      return withSession(newAdminSql(deps, ctx), async (s) => {
        // What exists before the FIRST attempt is not ours to drop on undo.
        const prev = ctx.previousUndoData;
        const createdDatabases = strList(prev?.createdDatabases);
        const createdUsers = strList(prev?.createdUsers);
        const missingDbs = [];
        for (const d of p.databases) if (!(await databaseExists(s, d))) missingDbs.push(d);
        const users = [...new Map([...creds.values()].map((c) => [c.user, c])).values()];
        const missingUsers: string[] = [];
        for (const c of users)
          for (const h of USER_HOSTS)
            if (!(await userExists(s, c.user, h))) missingUsers.push(`${c.user}@${h}`);
        const undo: JsonObject = {
          createdDatabases: union(createdDatabases, missingDbs),
          createdUsers: union(createdUsers, missingUsers),
          secretFile: p.credentials === "new" ? p.secretFile : "",
        };
        ctx.checkpoint?.(undo);
        for (const d of missingDbs)
          await s.execute(`CREATE DATABASE IF NOT EXISTS ${ident(d)} ${NEW_DB_CHARSET}`);
        for (const c of users) {
          for (const h of USER_HOSTS) {
            if (missingUsers.includes(`${c.user}@${h}`)) {
              await s.execute("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", [c.user, h, c.password]);
            } else if (!(await passwordMatches(s, c, h))) {
              ctx.emit({
                type: "log",
                level: "warn",
                message: `${c.user}@${h} existed with another password; set to the old controller's`,
              });
              await s.execute("ALTER USER ?@? IDENTIFIED BY ?", [c.user, h, c.password]);
            }
          }
        }
        for (const [d, c] of creds) {
          for (const h of USER_HOSTS)
            await s.execute(`GRANT ALL PRIVILEGES ON ${ident(d)}.* TO ?@?`, [c.user, h]);
        }
        if (p.service === "keystone" && (await trustFunctionCreators(ctx, s))) {
          ctx.emit({
            type: "log",
            level: "info",
            message: "binary logging is on: set log_bin_trust_function_creators = 1 (keystone's triggers)",
          });
        }
        return undo;
      });
    },
    async verify(ctx, raw) {
      const p = read(raw);
      const creds = await credentialsFor(deps, ctx, p);
      const problems: string[] = [];
      for (const [d, c] of creds) {
        try {
          // Logging in with the service's own credentials and that database as default proves user, password
          // and grant at once (through the tunnel the login comes from 127.0.0.1, as the services' will).
          await withSession(sqlFor(deps, ctx, "new", { database: d, as: c }), (s) => s.query("SELECT 1"));
        } catch (e) {
          problems.push(`${c.user} cannot use ${d}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      return problems.length === 0
        ? {
            ok: true,
            detail: `${p.service}: ${[...creds.keys()].join(", ")} usable with the service's credentials`,
          }
        : { ok: false, detail: problems.join("; ") };
    },
    async undo(ctx, raw, undoData) {
      const p = read(raw);
      await withSession(newAdminSql(deps, ctx), async (s) => {
        for (const d of strList(undoData.createdDatabases))
          await s.execute(`DROP DATABASE IF EXISTS ${ident(d)}`);
        for (const u of strList(undoData.createdUsers)) {
          const at = u.lastIndexOf("@");
          await s.execute("DROP USER IF EXISTS ?@?", [u.slice(0, at), u.slice(at + 1)]);
        }
      });
      const secretFile = typeof undoData.secretFile === "string" ? undoData.secretFile : "";
      if (secretFile !== "" && secretFile === p.secretFile) await ctx.host("new").removeFile(secretFile);
    },
  };
}
