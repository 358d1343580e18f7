/**
 * svc.manage: a service's manage command on new, as its user. Exit codes decide (with log_file set, keystone-
 * and cinder-manage write errors only to their logs, LAB.md): success is an exit code in `okExit`; with
 * `repeatOnExit` the command is run again while it exits with one of those codes (online data migrations: 1 =
 * more to do), up to `maxRepeats`. `configOverride` ("section.key" -> template) goes into a 0600 config file,
 * readable only by the service user, in a private temp dir, passed after the service's own config file and
 * removed afterwards (nova cell0's update_cell: `{db:nova_cell0}` is the service's own [database] connection
 * with the database name replaced, so no URL or password ever reaches an argv).
 *
 * On failure the error names the service, the command, the exit code, the tool's output without known noise and
 * the tail of its newest logs. Verify re-checks from the host: the tool's own check where there is one (keystone
 * `db_sync --check`), else the command again (every one of them is idempotent: a sync at head
 * and finished online migrations change nothing and exit 0).
 */
import { randomBytes } from "node:crypto";
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { tail } from "../../hosts/errors.js";
import { makeTempDir, removeTempDir } from "../../db/mysql-cli.js";
import { getValue, parseIni } from "../../config/oslo-ini.js";
import { BugError, UserError } from "../../lib/errors.js";
import { redact } from "../../lib/redact.js";
import { withDatabase } from "../credentials.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { asUserArgv, withoutNoise } from "./as-user.js";
import { tokenEnv, waitForEarlierRun } from "../earlier-run.js";

/** Long syncs on big databases take a while; a hung tool is stopped after this. */
const MANAGE_TIMEOUT_MS = 4 * 3600 * 1000;

export interface ManageParams {
  service: string;
  argv: string[];
  user: string;
  okExit: number[];
  repeatOnExit: number[];
  maxRepeats: number;
  configOverride?: Record<string, string>;
}

export function readManage(kind: string, raw: JsonObject): ManageParams {
  const p = new Params(kind, raw);
  const ov = p.obj("configOverride");
  const configOverride: Record<string, string> | undefined = ov
    ? Object.fromEntries(
        Object.entries(ov).map(([k, v]) => {
          if (typeof v !== "string") throw new BugError(`${kind}: configOverride.${k} must be a string`);
          return [k, v];
        }),
      )
    : undefined;
  const argv = p.strs("argv");
  if (argv.length === 0) throw new BugError(`${kind}: empty argv`);
  return {
    service: p.str("service"),
    argv,
    user: p.str("user"),
    okExit: p.nums("okExit", [0]),
    repeatOnExit: p.nums("repeatOnExit", []),
    maxRepeats: p.num("maxRepeats", 100),
    ...(configOverride ? { configOverride } : {}),
  };
}

export function mainConfigFile(service: string): string {
  return `/etc/${service}/${service}.conf`;
}

/** Expands `{db:<name>}` to the service's own [database] connection with the database name replaced. */
async function expandOverride(
  host: Host,
  service: string,
  ov: Record<string, string>,
): Promise<{ text: string; secrets: string[] }> {
  const conf = parseIni((await host.readFile(mainConfigFile(service))).toString("utf8"));
  const secrets: string[] = [];
  const bySection = new Map<string, string[]>();
  for (const [key, template] of Object.entries(ov)) {
    const dot = key.indexOf(".");
    if (dot <= 0) throw new BugError(`configOverride key ${key} is not section.key`);
    const value = template.replace(/\{db:([A-Za-z0-9_]+)\}/g, (_m, db: string) => {
      const url = getValue(conf, "database", "connection");
      if (!url) {
        throw new UserError(
          "CONFIG_MISSING",
          `on ${host.name}: ${mainConfigFile(service)} has no [database] connection`,
          {
            nextSteps: [`Check that the config steps for ${service} ran, then re-run.`],
          },
        );
      }
      const out = withDatabase(url, db);
      secrets.push(out);
      const pw = /:\/\/[^:/@]*:([^@]*)@/.exec(url)?.[1];
      if (pw) secrets.push(pw, decodeURIComponentSafe(pw));
      return out;
    });
    const section = key.slice(0, dot);
    bySection.set(section, [...(bySection.get(section) ?? []), `${key.slice(dot + 1)} = ${value}`]);
  }
  const text = [...bySection].map(([s, lines]) => `[${s}]\n${lines.join("\n")}\n`).join("\n");
  return { text, secrets };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function idOf(host: Host, user: string): Promise<{ uid: number; gid: number }> {
  const u = await host.run(["id", "-u", "--", user]);
  const g = await host.run(["id", "-g", "--", user]);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** The newest logs of the service, for an error message. */
export async function logTail(host: Host, service: string, secrets: readonly string[]): Promise<string> {
  const script =
    'for f in $(ls -t "$1"/*.log 2>/dev/null | head -n 2); do echo "==> $f <=="; tail -n 25 "$f"; done';
  const r = await host.exec(["sh", "-c", script, "sh", `/var/log/${service}`]);
  return redact(r.stdout.trim(), secrets);
}

export interface ManageOutcome {
  exitCode: number;
  runs: number;
}

/** Runs the command (with repeats); throws the UserError described above on failure. */
export async function runManage(
  ctx: StepContext,
  host: Host,
  m: ManageParams,
  options: {
    /** Journals what a crash would leave behind (the override's temp dir); absent in verify. */
    journal?: (data: JsonObject) => void;
    /** Marks the tool's processes (environment), so a redo can find one still running from a killed attempt. */
    token?: string;
  } = {},
): Promise<ManageOutcome> {
  let argv = [...m.argv];
  let dir: string | undefined;
  let secrets: string[] = [];
  try {
    if (m.configOverride) {
      const { text, secrets: s } = await expandOverride(host, m.service, m.configOverride);
      secrets = [...secrets, ...s];
      dir = await makeTempDir(host);
      options.journal?.({ tempDir: dir });
      const { uid, gid } = await idOf(host, m.user);
      // The service user must reach the file: the dir and the file become theirs, still 0700 / 0600.
      await host.run(["chown", `${uid}:${gid}`, "--", dir]);
      const file = `${dir}/override.conf`;
      await host.writeFileAtomic(file, text, { mode: 0o600, uid, gid });
      // Giving --config-file replaces the default file list, so the service's own file comes first.
      argv = [
        argv[0] ?? "",
        "--config-file",
        mainConfigFile(m.service),
        "--config-file",
        file,
        ...argv.slice(1),
      ];
    }
    const cmd = asUserArgv(m.user, argv);
    // An abort (Ctrl-C) is honoured between runs, not by killing a running tool: a schema migration killed
    // halfway through its DDL leaves a database that neither release can use, while one allowed to finish
    // leaves a state the step's redo or the import's undo handles.
    for (let runs = 1; ; runs++) {
      if (ctx.signal.aborted) throw stoppedBefore(m.service, m.argv);
      const r = await host.exec(cmd, {
        timeoutMs: MANAGE_TIMEOUT_MS,
        secretsToRedact: secrets,
        ...(options.token ? { env: tokenEnv(options.token) } : {}),
      });
      if (m.repeatOnExit.includes(r.exitCode)) {
        if (runs >= m.maxRepeats) {
          throw new UserError(
            "MANAGE_NOT_FINISHED",
            `${m.service}: \`${m.argv.join(" ")}\` still reported more work (exit ${r.exitCode}) after ${runs} runs`,
            {
              nextSteps: [
                `Run \`${m.argv.join(" ")}\` as ${m.user} on ${host.name} and look at what it reports, then re-run.`,
              ],
            },
          );
        }
        ctx.emit({
          type: "step-progress",
          message: `${m.argv.slice(0, 3).join(" ")}: run ${runs} exited ${r.exitCode}, more to do`,
        });
        continue;
      }
      if (m.okExit.includes(r.exitCode)) return { exitCode: r.exitCode, runs };
      const out = withoutNoise(`${r.stderr}\n${r.stdout}`);
      const logs = await logTail(host, m.service, secrets).catch(() => "");
      throw new UserError(
        "MANAGE_FAILED",
        redact(
          `${m.service}: \`${m.argv.join(" ")}\` (as ${m.user} on ${host.name}) ${r.signal ? `was killed by ${r.signal}` : `exited with ${r.exitCode}`} (expected ${m.okExit.join(" or ")})` +
            (out ? `\noutput:\n${tail(out, 2000)}` : "") +
            (logs ? `\nlog:\n${tail(logs, 3000)}` : ""),
          secrets,
        ),
        {
          nextSteps: [
            `Fix what the tool reports on ${host.name}, then re-run handover: the step runs again (the old controller's databases are untouched).`,
          ],
        },
      );
    }
  } finally {
    if (dir) await removeTempDir(host, dir).catch(() => undefined);
  }
}

/**
 * The operator's stop (the run's AbortSignal) honoured before a tool started: said as a stop, not a failure, so a
 * step stopped between its tool and the check that verifies it does not read "verification failed". The code
 * stays ABORTED: the engine journals the step as interrupted, and a resume verifies it and redoes it if need be.
 */
function stoppedBefore(service: string, argv: readonly string[], after = ""): UserError {
  return new UserError(
    "ABORTED",
    `${service}: stopped on request before \`${argv.join(" ")}\` started${after}`,
  );
}

export { FIND_TOKEN_SCRIPT } from "../earlier-run.js";

/** The check that proves a command's effect, where the tool has one. */
function checkFor(m: ManageParams): ManageParams | undefined {
  const [tool, ...rest] = m.argv;
  const args = rest.join(" ");
  const check = (argv: string[], okExit: number[]): ManageParams => ({
    service: m.service,
    user: m.user,
    argv,
    okExit,
    repeatOnExit: [],
    maxRepeats: 1,
  });
  if (tool === "keystone-manage") {
    // db_sync --check: 0 up to date, 2 expand needed, 3 migrate needed, 4 contract needed.
    if (args === "db_sync --expand") return check(["keystone-manage", "db_sync", "--check"], [0, 3, 4]);
    if (args === "db_sync --migrate") return check(["keystone-manage", "db_sync", "--check"], [0, 4]);
    if (args === "db_sync --contract" || args === "db_sync")
      return check(["keystone-manage", "db_sync", "--check"], [0]);
  }
  return undefined;
}

export function manageStep(deps: StepDeps, kind = "svc.manage"): StepImpl {
  return {
    kind,
    async run(ctx, raw) {
      const m = readManage(kind, raw);
      const host = ctx.host("new");
      const prev = ctx.previousUndoData;
      const prevToken = typeof prev?.token === "string" ? prev.token : undefined;
      const token = prevToken ?? randomBytes(12).toString("hex");
      ctx.checkpoint?.({ token });
      if (prevToken) {
        // A redo after handover itself was killed: the tool it had started may still be running on new (it
        // does not die with the SSH connection). Two migrations at once would corrupt the schema: wait for it.
        await waitForEarlierRun(
          deps,
          ctx,
          host,
          prevToken,
          `${m.service}: \`${m.argv.join(" ")}\``,
          MANAGE_TIMEOUT_MS,
        );
        if (typeof prev?.tempDir === "string") await removeTempDir(host, prev.tempDir);
      }
      const o = await runManage(ctx, host, m, {
        token,
        journal: (d) => ctx.checkpoint?.({ token, ...d }),
      });
      // A stop that came while the tool ran, where verify has a check of its own to start (keystone's
      // db_sync --check; without one the tool's exit is the verdict, provenByRun below): a stop must not start
      // another tool. Failing here as interrupted keeps the token for the resume, whose verify then finds the
      // work done (recovered) or redoes it.
      const check = checkFor(m);
      if (ctx.signal.aborted && check) {
        throw stoppedBefore(
          m.service,
          check.argv,
          ` to verify \`${m.argv.join(" ")}\` (which exited ${o.exitCode})`,
        );
      }
      return {
        exitCode: o.exitCode,
        runs: o.runs,
        token,
        detail: `${m.service}: \`${m.argv.join(" ")}\` exited ${o.exitCode}`,
      };
    },
    // The tool's exit status in run is its own verdict. verify would run it again (or keystone's db_sync --check):
    // a python start-up per step on the window's critical path (keystone's chain gates every other service). On
    // resume, where run's outcome is unknown, verify still runs.
    provenByRun: () => true,
    async awaitEarlierAttempt(ctx, raw, undoData) {
      if (typeof undoData.token !== "string") return; // never started its tool
      const m = readManage(kind, raw);
      await waitForEarlierRun(
        deps,
        ctx,
        ctx.host("new"),
        undoData.token,
        `${m.service}: \`${m.argv.join(" ")}\``,
        MANAGE_TIMEOUT_MS,
      );
    },
    async verify(ctx, raw) {
      const m = readManage(kind, raw);
      const check = checkFor(m) ?? m;
      try {
        const o = await runManage(ctx, ctx.host("new"), check);
        return { ok: true, detail: `${m.service}: \`${check.argv.join(" ")}\` exited ${o.exitCode}` };
      } catch (e) {
        // A stop is no verdict on the work: thrown, so the engine does not report the step's verification as failed.
        if (e instanceof UserError && !(e.code === "ABORTED" && ctx.signal.aborted))
          return { ok: false, detail: e.message };
        throw e;
      }
    },
    // Covered (the import's undo drops the database) or irreversible (the plan marks it; never undone).
    undo: () => Promise.resolve(),
  };
}
