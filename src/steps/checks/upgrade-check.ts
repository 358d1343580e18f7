/**
 * svc.upgrade-check (read-only): `<svc>-status upgrade check` as the service user. Exit 0 ok, 1 warning
 * (journaled), 2 failure, 255 error (OPENSTACK.md). `failOn: failure` (new, against the upgraded databases)
 * stops the run on 2/255 with the check's own words; `failOn: none` (the baseline on old) only records.
 * Host: `host` param, else old for the baseline and new for the real check.
 *
 * `acknowledge`: checks (by their title) whose Failure the plan already accounts for, each with why. When every
 * failing check is acknowledged, the step passes with a warning naming them and the reason (for example nova's
 * "Older than N-1 computes" in a skip-level upgrade whose computes are upgraded right after the switch: the plan
 * sets nova's FFU workaround and says so). Any other failure still stops the run.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { tail } from "../../hosts/errors.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { asUserArgv, withoutNoise } from "../manage/as-user.js";
import { Params } from "../params.js";
import { checkHost } from "./host-param.js";

interface CheckParams {
  host: string;
  service: string;
  argv: string[];
  user: string;
  failOn: "none" | "failure";
  acknowledge: { check: string; why: string }[];
}

function read(raw: JsonObject): CheckParams {
  const p = new Params("svc.upgrade-check", raw);
  const failOn = p.str("failOn", "failure") === "none" ? "none" : "failure";
  return {
    host: checkHost("svc.upgrade-check", raw, failOn === "none" ? "old" : "new"),
    service: p.str("service"),
    argv: p.strs("argv"),
    user: p.str("user"),
    failOn,
    acknowledge: p.objs("acknowledge", []).map((o) => {
      const q = new Params("svc.upgrade-check acknowledge", o);
      return { check: q.str("check"), why: q.str("why") };
    }),
  };
}

/** The `Check: <title>` / `Result: <result>` pairs of an oslo.upgradecheck table. */
export function parseCheckTable(output: string): { check: string; result: string }[] {
  const out: { check: string; result: string }[] = [];
  let current: string | undefined;
  for (const raw of output.split("\n")) {
    const line = raw.replace(/^\|\s?/, "").replace(/\s*\|\s*$/, "");
    const c = /^Check:\s*(.+?)\s*$/.exec(line);
    if (c?.[1]) {
      current = c[1];
      continue;
    }
    const r = /^Result:\s*(\S+)/.exec(line);
    if (r?.[1] && current !== undefined) {
      out.push({ check: current, result: r[1] });
      current = undefined;
    }
  }
  return out;
}

interface Outcome {
  exitCode: number;
  output: string;
  level: "ok" | "warning" | "failure";
  /** Failing checks the plan acknowledged (the level is then "warning"). */
  acknowledged?: { check: string; why: string }[];
}

async function runCheck(ctx: StepContext, c: CheckParams): Promise<Outcome> {
  const r = await ctx.host(c.host).exec(asUserArgv(c.user, c.argv), { timeoutMs: 600_000 });
  const output = withoutNoise(`${r.stdout}\n${r.stderr}`);
  const level = r.exitCode === 0 ? "ok" : r.exitCode === 1 ? "warning" : "failure";
  if (r.exitCode === 2 && c.acknowledge.length > 0) {
    const failing = parseCheckTable(output).filter((x) => x.result === "Failure");
    const acked = failing.map((f) => c.acknowledge.find((a) => a.check === f.check));
    if (failing.length > 0 && acked.every((a) => a !== undefined))
      return {
        exitCode: r.exitCode,
        output,
        level: "warning",
        acknowledged: acked.filter((a) => a !== undefined),
      };
  }
  return { exitCode: r.exitCode, output, level };
}

function describe(c: CheckParams, o: Outcome): string {
  const what =
    o.level === "ok"
      ? "passed"
      : o.acknowledged
        ? `failed only checks the plan accounts for (${o.acknowledged.map((a) => `"${a.check}": ${a.why}`).join("; ")})`
        : o.level === "warning"
          ? "passed with warnings"
          : `FAILED (exit ${o.exitCode})`;
  return `${c.service}: \`${c.argv.join(" ")}\` on ${c.host} ${what}${o.level !== "ok" && o.output ? `:\n${tail(o.output, 4000)}` : ""}`;
}

export function upgradeCheckStep(_deps: StepDeps): StepImpl {
  return {
    kind: "svc.upgrade-check",
    async run(ctx, raw) {
      const c = read(raw);
      const o = await runCheck(ctx, c);
      if (o.level === "failure" && c.failOn === "failure") {
        throw new UserError("UPGRADE_CHECK_FAILED", describe(c, o), {
          nextSteps: [`Fix what ${c.argv[0] ?? "the check"} reports on ${c.host}, then re-run handover.`],
        });
      }
      const detail = describe(c, o);
      ctx.emit({ type: "log", level: o.level === "ok" ? "info" : "warn", message: detail });
      return { exitCode: o.exitCode, detail };
    },
    // verify is this same check again.
    provenByRun: () => true,
    async verify(ctx, raw): Promise<VerifyResult> {
      const c = read(raw);
      const o = await runCheck(ctx, c);
      if (o.level === "failure" && c.failOn === "failure") return { ok: false, detail: describe(c, o) };
      return { ok: true, detail: describe(c, o) };
    },
    undo: () => Promise.resolve(),
  };
}
