/**
 * api.check: the service answers through its real API (read-only). `target: new` asks the new controller at its
 * staging address; `target: old` asks the old controller before the freeze at the address its openrc names (the
 * same calls, so the report can show both side by side). Either way the `openstack` CLI runs ON new (nothing is
 * written on old, not even a temp file) with the admin credentials from old's openrc/clouds.yaml
 * (src/steps/api/clouds.ts); placement and horizon are asked over plain HTTP by python3's urllib, which every
 * OpenStack controller has (curl is not a dependency of the packages we install).
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { TEMP_DIR_PATTERN, removeTempDir } from "../../db/mysql-cli.js";
import { tail } from "../../hosts/errors.js";
import { BugError, UserError } from "../../lib/errors.js";
import { normaliseIp } from "../../net/addresses.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { API_CALLS, HTTP_CHECKS } from "../../plan/api-calls.js";
import { readAdminCredentials } from "./admin-credentials.js";
import { urlHost, withOpenstackCli, type OpenstackCli } from "./clouds.js";

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

/** Prints the final HTTP status of a GET (redirects followed); exits 0 for any status, 2 when unreachable. */
const HTTP_STATUS_PY = [
  "import sys, urllib.request, urllib.error",
  "h = {'Host': sys.argv[2]} if len(sys.argv) > 2 else {}",
  "try:",
  "    r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers=h), timeout=30); print(r.status)",
  "except urllib.error.HTTPError as e:",
  "    print(e.code)",
  "except Exception as e:",
  "    print(e, file=sys.stderr); sys.exit(2)",
].join("\n");

/** `hostHeader`: the name clients will use (the dashboard refuses Host values outside its ALLOWED_HOSTS). */
async function httpGet(host: Host, url: string, hostHeader?: string): Promise<string> {
  const argv = ["python3", "-c", HTTP_STATUS_PY, url, ...(hostHeader ? [hostHeader] : [])];
  const r = await host.exec(argv, { timeoutMs: 60_000 });
  const code = r.stdout.trim();
  if (r.exitCode !== 0 || !/^[23]\d\d$/.test(code)) {
    throw new UserError(
      "API_CHECK_FAILED",
      `on ${host.name}: GET ${url}${hostHeader ? ` (Host: ${hostHeader})` : ""} gave ${code ? `HTTP ${code}` : "no answer"}: ${tail(r.stderr, 800)}`,
      {
        nextSteps: [`Look at the service's log on the controller at ${url}, fix the cause, then re-run.`],
      },
    );
  }
  return code;
}

interface CheckParams {
  service: string;
  target: "new" | "old";
  /** Required for `new`; for `old` the host of the openrc's auth URL when not given. */
  address?: string;
  /** HTTP checks: the Host header to send (the moved address, as clients will reach the service). */
  hostHeader?: string;
}

function read(raw: JsonObject): CheckParams {
  const p = new Params("api.check", raw);
  const target = p.str("target", "new");
  if (target !== "new" && target !== "old")
    throw new UserError("PLAN_PARAM", `api.check: target must be new or old, not ${target}`);
  const address = p.has("address") ? normaliseIp(p.str("address")) : undefined;
  if (target === "new" && address === undefined)
    throw new UserError("PLAN_PARAM", "api.check: address is required for target new");
  return {
    service: p.str("service"),
    target,
    ...(address !== undefined ? { address } : {}),
    ...(p.has("hostHeader") ? { hostHeader: p.str("hostHeader") } : {}),
  };
}

/** The API host of old's auth URL (`http://198.51.100.4:5000/v3` -> 198.51.100.4). */
export function authUrlHost(authUrl: string | undefined): string | undefined {
  if (!authUrl) return undefined;
  try {
    const h = new URL(authUrl).hostname;
    return h.startsWith("[") ? h.slice(1, -1) : h;
  } catch {
    return undefined;
  }
}

export function apiCheckStep(_deps: StepDeps): StepImpl {
  async function check(ctx: StepContext, raw: JsonObject, journalTempDir: boolean): Promise<string> {
    const { service, target, address: given, hostHeader } = read(raw);
    const neu = ctx.host("new");
    const http = HTTP_CHECKS[service];
    const creds = http && given !== undefined ? undefined : await readAdminCredentials(ctx.host("old"));
    const address = given ?? authUrlHost(creds?.authUrl);
    if (address === undefined) {
      throw new UserError(
        "API_CHECK_FAILED",
        "old's openrc/clouds.yaml names no auth URL: cannot tell where the old controller's APIs are",
        { nextSteps: ["Add OS_AUTH_URL to the admin openrc on the old controller, then re-run."] },
      );
    }
    if (http) {
      let last: unknown;
      for (const path of http.paths) {
        try {
          const code = await httpGet(neu, `http://${urlHost(address)}:${http.port}${path}`, hostHeader);
          return `${service} answers HTTP ${code} at ${address}:${http.port}${path}`;
        } catch (e) {
          last = e;
        }
      }
      throw last;
    }
    const calls = API_CALLS[service];
    if (!calls) throw new UserError("PLAN_PARAM", `api.check: no check for service ${service}`);
    if (!creds) throw new BugError("api.check: credentials are read for every CLI check");
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
    return `${service} on ${target} (${address}): ${results.join("; ")}`;
  }

  return {
    kind: "api.check",
    async run(ctx, raw) {
      const detail = await check(ctx, raw, true);
      ctx.emit({ type: "log", level: "info", message: detail });
      return { detail, tempDir: "" };
    },
    // verify is this same check again (every CLI call a new python process).
    provenByRun: () => true,
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
