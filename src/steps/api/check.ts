/**
 * api.check: the service answers through its real API on the new controller's staging address (read-only). The
 * `openstack` CLI runs ON new with the admin credentials from old's openrc/clouds.yaml (src/steps/api/clouds.ts);
 * placement and horizon are asked with curl (no client plugin needed, no credentials involved).
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { TEMP_DIR_PATTERN, removeTempDir } from "../../db/mysql-cli.js";
import { displayCommand, tail } from "../../hosts/errors.js";
import { UserError } from "../../lib/errors.js";
import { normaliseIp } from "../../net/addresses.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { readAdminCredentials } from "./admin-credentials.js";
import { urlHost, withOpenstackCli } from "./clouds.js";

/** The CLI calls per service: each must exit 0; the output's line count is reported. */
export const API_CALLS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  keystone: [
    ["token", "issue", "-f", "value", "-c", "expires"],
    ["endpoint", "list", "-f", "value", "-c", "ID"],
  ],
  glance: [["image", "list", "-f", "value", "-c", "ID"]],
  nova: [
    ["compute", "service", "list", "-f", "value", "-c", "Binary"],
    ["server", "list", "--all-projects", "-f", "value", "-c", "ID"],
  ],
  neutron: [["network", "list", "-f", "value", "-c", "ID"]],
  cinder: [["volume", "list", "--all-projects", "-f", "value", "-c", "ID"]],
};

/** Services asked over plain HTTP: URL path and port. */
const HTTP_CHECKS: Readonly<Record<string, { port: number; path: string }>> = {
  placement: { port: 8778, path: "/" },
  horizon: { port: 80, path: "/" },
};

async function curl(host: Host, url: string): Promise<string> {
  const argv = ["curl", "-sS", "-L", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30", url];
  const r = await host.exec(argv, { timeoutMs: 60_000 });
  const code = r.stdout.trim();
  if (r.exitCode !== 0 || !/^[23]\d\d$/.test(code)) {
    throw new UserError(
      "API_CHECK_FAILED",
      `on ${host.name}: \`${displayCommand(argv)}\` gave HTTP ${code || "nothing"}: ${tail(r.stderr, 800)}`,
      {
        nextSteps: [`Look at the service's log on ${host.name}, fix the cause, then re-run.`],
      },
    );
  }
  return code;
}

function read(raw: JsonObject): { service: string; address: string } {
  const p = new Params("api.check", raw);
  return { service: p.str("service"), address: normaliseIp(p.str("address")) };
}

export function apiCheckStep(_deps: StepDeps): StepImpl {
  async function check(ctx: StepContext, raw: JsonObject, journalTempDir: boolean): Promise<string> {
    const { service, address } = read(raw);
    const neu = ctx.host("new");
    const http = HTTP_CHECKS[service];
    if (http) {
      const code = await curl(neu, `http://${urlHost(address)}:${http.port}${http.path}`);
      return `${service} answers HTTP ${code} on ${address}:${http.port}`;
    }
    const calls = API_CALLS[service];
    if (!calls) throw new UserError("PLAN_PARAM", `api.check: no check for service ${service}`);
    const creds = await readAdminCredentials(ctx.host("old"));
    const prev = ctx.previousUndoData?.tempDir;
    if (typeof prev === "string" && TEMP_DIR_PATTERN.test(prev)) await removeTempDir(neu, prev);
    const results = await withOpenstackCli(
      neu,
      creds,
      address,
      async (cli) => {
        const out: string[] = [];
        for (const args of calls) {
          const text = await cli.run(args);
          out.push(
            `${args.slice(0, args.indexOf("-f") < 0 ? args.length : args.indexOf("-f")).join(" ")}: ${text.split("\n").filter((l) => l.trim() !== "").length} line(s)`,
          );
        }
        return out;
      },
      (dir) => {
        // Only run journals (verify must not write the journal); a crash leaves the dir named there.
        if (journalTempDir) ctx.checkpoint?.({ tempDir: dir });
      },
    );
    return `${service} on ${address}: ${results.join("; ")}`;
  }

  return {
    kind: "api.check",
    async run(ctx, raw) {
      const detail = await check(ctx, raw, true);
      ctx.emit({ type: "log", level: "info", message: detail });
      return { detail, tempDir: "" };
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      try {
        return { ok: true, detail: await check(ctx, raw, false) };
      } catch (e) {
        if (e instanceof UserError) return { ok: false, detail: e.message };
        throw e;
      }
    },
    async undo(ctx, _raw, undoData) {
      // Read-only; only a clouds.yaml dir an interrupted run left behind is removed.
      const dir = undoData.tempDir;
      if (typeof dir === "string" && TEMP_DIR_PATTERN.test(dir)) await removeTempDir(ctx.host("new"), dir);
    },
  };
}
