/**
 * nova.delete-services (finalize, irreversible): deletes the old controller's nova service records through the
 * API (`openstack compute service delete`), or conductors refuse to start after a skip-level upgrade and the
 * minimum service version stays low (OPENSTACK.md). Verify: nova's table has no such live record.
 *
 * nova.pin-computes / nova.unpin-computes: the compute RPC pin on the compute hosts (pin-computes.ts).
 *
 * check.computes (switch, read-only): after the addresses moved, every listed compute's nova-compute heartbeat
 * (`services.updated_at`, written by the NEW conductor) must be newer than the step's start; polls with a bound.
 */
import type { StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";
import { readAdminCredentials } from "../api/admin-credentials.js";
import { withOpenstackCli } from "../api/clouds.js";
import { pinComputesSteps } from "./pin-computes.js";

const POLL_MS = 3000;
/** A heartbeat younger than this counts as alive in verify (nova's report_interval is 10 s; service_down_time 60 s). */
const ALIVE_SECONDS = 60;

function nameList(p: Params, key: string): string[] {
  const v = p.strs(key);
  for (const x of v)
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(x))
      throw new UserError("PLAN_PARAM", `unusual name ${JSON.stringify(x)}`);
  return v;
}

async function liveRecords(
  deps: StepDeps,
  ctx: StepContext,
  host: string,
  binaries: readonly string[],
): Promise<{ id: number; binary: string }[]> {
  if (binaries.length === 0) return [];
  const rows = await withSql(deps, ctx, "new", (s) =>
    s.query(
      `SELECT id, \`binary\` AS b FROM nova.services WHERE deleted = 0 AND host = ? AND \`binary\` IN (${binaries.map(() => "?").join(", ")})`,
      [host, ...binaries],
    ),
  );
  return rows.map((r) => ({ id: Number(r.id), binary: String(r.b) }));
}

/** Heartbeat age in seconds per compute host (absent: no live nova-compute record). */
async function heartbeatAges(
  deps: StepDeps,
  ctx: StepContext,
  computes: readonly string[],
): Promise<Map<string, number>> {
  if (computes.length === 0) return new Map();
  const rows = await withSql(deps, ctx, "new", (s) =>
    s.query(
      // nova writes naive UTC times; compare with the server's UTC clock, not ours.
      `SELECT host, TIMESTAMPDIFF(SECOND, COALESCE(updated_at, created_at), UTC_TIMESTAMP()) AS age
         FROM nova.services WHERE deleted = 0 AND \`binary\` = 'nova-compute' AND host IN (${computes.map(() => "?").join(", ")})`,
      [...computes],
    ),
  );
  const out = new Map<string, number>();
  for (const r of rows) {
    const age = Number(r.age);
    const prev = out.get(String(r.host));
    if (Number.isFinite(age) && (prev === undefined || age < prev)) out.set(String(r.host), age);
  }
  return out;
}

export function novaSteps(deps: StepDeps): StepImpl[] {
  const deleteServices: StepImpl = {
    kind: "nova.delete-services",
    async run(ctx, raw) {
      const p = new Params("nova.delete-services", raw);
      const host = p.str("host");
      const binaries = nameList(p, "binaries");
      const records = await liveRecords(deps, ctx, host, binaries);
      if (records.length === 0) return { deleted: [] };
      const neu = ctx.host("new");
      const creds = await readAdminCredentials(ctx.host("old"));
      await withOpenstackCli(neu, creds, neu.address, async (cli) => {
        for (const r of records) {
          ctx.emit({
            type: "log",
            level: "info",
            message: `deleting nova service ${r.binary} on ${host} (id ${r.id})`,
          });
          await cli.run(["compute", "service", "delete", String(r.id)]);
        }
      });
      return { deleted: records.map((r) => `${r.binary}@${host}`) };
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      const p = new Params("nova.delete-services", raw);
      const host = p.str("host");
      const left = await liveRecords(deps, ctx, host, nameList(p, "binaries"));
      return left.length === 0
        ? { ok: true, detail: `no live nova service record of ${host}` }
        : { ok: false, detail: `still recorded on ${host}: ${left.map((r) => r.binary).join(", ")}` };
    },
  };

  const checkComputes: StepImpl = {
    kind: "check.computes",
    async run(ctx, raw) {
      const computes = nameList(new Params("check.computes", raw), "computes");
      const started = ctx.now().getTime();
      const limit = deps.computeWaitMs ?? 180_000;
      for (;;) {
        const elapsed = Math.ceil((ctx.now().getTime() - started) / 1000);
        const ages = await heartbeatAges(deps, ctx, computes);
        // Newer than the step's start: reported after the switch, so through the new controller.
        const waiting = computes.filter((c) => (ages.get(c) ?? Number.POSITIVE_INFINITY) > elapsed);
        if (waiting.length === 0) {
          ctx.emit({
            type: "log",
            level: "info",
            message: `all ${computes.length} compute(s) reported to the new controller within ${elapsed} s`,
          });
          return { computes, seconds: elapsed };
        }
        if (ctx.now().getTime() - started >= limit) {
          throw new UserError(
            "COMPUTES_SILENT",
            `no heartbeat through the new controller within ${Math.round(limit / 1000)} s from: ${waiting.join(", ")}`,
            {
              nextSteps: [
                "Check nova-compute's log on those hosts (can they reach the moved addresses? RabbitMQ credentials?), or roll back with handover rollback.",
              ],
            },
          );
        }
        ctx.emit({
          type: "step-progress",
          message: `waiting for ${waiting.length} compute(s): ${waiting.join(", ")}`,
        });
        await deps.sleep(POLL_MS, ctx.signal);
      }
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      const computes = nameList(new Params("check.computes", raw), "computes");
      const ages = await heartbeatAges(deps, ctx, computes);
      const silent = computes.filter((c) => (ages.get(c) ?? Number.POSITIVE_INFINITY) > ALIVE_SECONDS);
      return silent.length === 0
        ? { ok: true, detail: `${computes.length} compute(s) heard from within ${ALIVE_SECONDS} s` }
        : { ok: false, detail: `silent for over ${ALIVE_SECONDS} s: ${silent.join(", ")}` };
    },
    undo: () => Promise.resolve(), // read-only
  };

  return [deleteServices, checkComputes, ...pinComputesSteps(deps)];
}
