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
import { urlHost, withOpenstackCli, type OpenstackCli } from "./clouds.js";

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

/** Services asked over plain HTTP: port and the paths tried in turn (one answering 2xx/3xx is enough). */
const HTTP_CHECKS: Readonly<Record<string, { port: number; paths: readonly string[] }>> = {
  placement: { port: 8778, paths: ["/"] },
  // The dashboard's login page where Debian/Ubuntu (/horizon) and RDO (/dashboard) put it, then the root.
  horizon: { port: 80, paths: ["/horizon/auth/login/", "/dashboard/auth/login/", "/auth/login/"] },
};

/**
 * glance: download the smallest image and compare its md5 with the checksum glance recorded (issue 5: "a
 * download of one image compared to its checksum"), proving the copied files are served, not only listed.
 */
async function downloadSmallestImage(cli: OpenstackCli, host: Host): Promise<string> {
  const rows = (
    await cli.run(["image", "list", "--long", "-f", "value", "-c", "ID", "-c", "Size", "-c", "Status"])
  )
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length >= 3 && c[2] === "active" && /^\d+$/.test(c[1] ?? ""))
    .map((c) => ({ id: c[0] ?? "", size: Number(c[1]) }))
    .filter((r) => /^[0-9a-f-]{8,64}$/i.test(r.id))
    .sort((a, b) => a.size - b.size);
  const img = rows[0];
  if (!img) return "no active image to download";
  const recorded = (await cli.run(["image", "show", "-f", "value", "-c", "checksum", img.id])).trim();
  const file = `${cli.dir}/image`;
  await cli.run(["image", "save", "--file", file, img.id]);
  const r = await host.run(["md5sum", "--", file]);
  const got = /^([0-9a-f]{32})/.exec(r.stdout)?.[1];
  await host.removeFile(file);
  if (got !== recorded) {
    throw new UserError(
      "API_CHECK_FAILED",
      `image ${img.id} downloaded from ${host.name} has md5 ${got ?? "?"}, glance recorded ${recorded}`,
      {
        nextSteps: [
          `Compare ${img.id}'s file on the new controller with the old one's, then re-run the data copy.`,
        ],
      },
    );
  }
  return `image ${img.id} (${img.size} bytes) downloaded, md5 matches`;
}

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
      let last: unknown;
      for (const path of http.paths) {
        try {
          const code = await curl(neu, `http://${urlHost(address)}:${http.port}${path}`);
          return `${service} answers HTTP ${code} at ${address}:${http.port}${path}`;
        } catch (e) {
          last = e;
        }
      }
      throw last;
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
        if (service === "glance") out.push(await downloadSmallestImage(cli, neu));
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
