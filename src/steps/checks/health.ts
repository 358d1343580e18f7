/**
 * check.health (read-only): the host answers over SSH, the listed units are active, MariaDB answers for each
 * listed database, and none of `mustBeEmpty` exists (new must not hold OpenStack data yet: a leftover database
 * there would be silently dropped by the import). On new before provisioning there may be no MariaDB at all:
 * that counts as empty. Its host: `host` param, else "new" when `mustBeEmpty` is given, else "old".
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { ServiceManager } from "../../hosts/service-manager.js";
import { MysqlErrorCode } from "../../db/mysql-client.js";
import { SOCKET_ROOT_ARGV } from "../../db/mysql-cli.js";
import { errorMessage, isUserError, UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { isLoginRefused, withSql } from "../sql.js";
import { checkHost } from "./host-param.js";

function read(raw: JsonObject): {
  host: string;
  units: string[];
  databases: string[];
  mustBeEmpty: string[];
} {
  const p = new Params("check.health", raw);
  const mustBeEmpty = p.strs("mustBeEmpty", []);
  return {
    host: checkHost("check.health", raw, p.has("mustBeEmpty") ? "new" : "old"),
    units: p.strs("units", []),
    databases: p.strs("databases", []),
    mustBeEmpty,
  };
}

async function existingDatabases(
  deps: StepDeps,
  ctx: StepContext,
  hostName: string,
): Promise<string[] | "no-server"> {
  try {
    return await withSql(
      deps,
      ctx,
      hostName,
      async (s) =>
        (await s.query("SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA")).map((r) => String(r.n)),
      {},
      // A check changes nothing, not even the admin login.
      { bootstrapAdmin: false },
    );
  } catch (e) {
    if (!isUserError(e)) throw e;
    if (!isLoginRefused(e)) {
      if (e.code === MysqlErrorCode.unreachable) return "no-server";
      throw e;
    }
    // A MariaDB whose admin login the answers do not know yet (fresh install): ask as root through the socket.
    const r = await ctx.host(hostName).exec([...SOCKET_ROOT_ARGV, "-e", "SHOW DATABASES"]);
    if (r.exitCode !== 0) throw e;
    return r.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  }
}

async function check(deps: StepDeps, ctx: StepContext, raw: JsonObject): Promise<VerifyResult> {
  const { host, units, databases, mustBeEmpty } = read(raw);
  const h = ctx.host(host);
  const problems: string[] = [];
  if (!(await h.isReachable()))
    return { ok: false, detail: `${host} (${h.address}) does not answer over SSH` };
  const sm = new ServiceManager(h);
  for (const u of units) if (!(await sm.isActive(u))) problems.push(`${u} is not active`);
  if (databases.length > 0) {
    try {
      await withSql(
        deps,
        ctx,
        host,
        async (s) => {
          for (const d of databases) {
            try {
              const rows = await s.query(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                [d],
              );
              if (rows.length === 0) problems.push(`database ${d} does not exist`);
            } catch (e) {
              problems.push(`database ${d}: ${errorMessage(e)}`);
            }
          }
        },
        {},
        { bootstrapAdmin: false },
      );
    } catch (e) {
      problems.push(`MariaDB: ${errorMessage(e)}`);
    }
  }
  let note = "";
  if (mustBeEmpty.length > 0) {
    const found = await existingDatabases(deps, ctx, host).catch((e: unknown) => {
      problems.push(`MariaDB: ${errorMessage(e)}`);
      return [] as string[];
    });
    if (found === "no-server") note = "; no MariaDB running yet";
    else {
      const clash = mustBeEmpty.filter((d) => found.includes(d));
      if (clash.length > 0) problems.push(`already holds database(s) ${clash.join(", ")}`);
    }
  }
  return problems.length === 0
    ? {
        ok: true,
        detail: `${host}: reachable${units.length ? `, ${units.length} unit(s) active` : ""}${databases.length ? `, ${databases.length} database(s) answer` : ""}${mustBeEmpty.length ? `, none of ${mustBeEmpty.length} OpenStack database(s) present` : ""}${note}`,
      }
    : { ok: false, detail: `${host}: ${problems.join("; ")}` };
}

export function healthStep(deps: StepDeps): StepImpl {
  return {
    kind: "check.health",
    async run(ctx, raw) {
      const r = await check(deps, ctx, raw);
      if (!r.ok) {
        throw new UserError("CHECK_HEALTH", `health check failed: ${r.detail}`, {
          nextSteps: [
            "Fix what the check names (start the service, drop a leftover database on new), then re-run.",
          ],
        });
      }
      ctx.emit({ type: "log", level: "info", message: r.detail });
    },
    verify: (ctx, raw) => check(deps, ctx, raw),
    undo: () => Promise.resolve(),
  };
}
