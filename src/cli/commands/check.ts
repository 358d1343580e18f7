/**
 * `handover check -f FILE`: before anything changes, prove that every machine in the answer file can be reached
 * the way the upgrade will reach it. For each host (old, new, listed computes, and with `discover: true` the
 * computes nova knows): SSH with strict host key checking, login, a trivial command as root; for each
 * controller: MySQL through the SSH connection with the given credentials. Hosts are checked in parallel. Prints
 * a table of every check and exits 1 when any failed.
 */
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { loadAnswers, type Answers, type LoadedAnswers } from "../../answers/index.js";
import { formatDiagnostic, formatPath } from "../../answers/diagnostics.js";
import { nodeSecretReader, resolveSecretField, secretFields } from "../../answers/secrets.js";
import { MysqlClient } from "../../db/mysql-client.js";
import { sshHostFromEndpoint, type SshEnvironment } from "../../hosts/from-answers.js";
import type { SshHost } from "../../hosts/ssh-host.js";
import { UserError, errorMessage } from "../../lib/errors.js";
import { redact } from "../../lib/redact.js";
import { setExitCode } from "../exit.js";
import type { CliIo } from "../io.js";
import { addCommand } from "../program.js";

export type CheckResult = "pass" | "FAIL" | "skip";

export interface CheckRow {
  readonly host: string;
  readonly check: string;
  readonly result: CheckResult;
  readonly detail: string;
  /** For failures: what to do next (printed below the table). */
  readonly nextSteps?: readonly string[];
}

interface CheckOptions {
  readonly file: string;
  readonly timeout: string;
}

/** True when a MySQL or MariaDB server binary is installed on the host (read-only probe). */
async function hasMysqlServer(host: SshHost): Promise<boolean> {
  const probe = await host
    .exec(["sh", "-c", "test -x /usr/sbin/mariadbd || test -x /usr/sbin/mysqld"], { timeoutMs: 30_000 })
    .catch(() => undefined);
  return probe === undefined || probe.exitCode === 0;
}

interface Target {
  readonly name: string;
  readonly host: SshHost;
  readonly mysql?: {
    user: string;
    password: string | undefined;
    host: string;
    port: number;
    passwordPath: string;
    /**
     * The new controller is usually bare before `handover run` provisions it: no MySQL server there is a
     * finding, not a failure.
     */
    mayBeAbsent: boolean;
  };
}

/** Resolved secrets by field path; a secret that cannot be read becomes a failed row, not an exception. */
async function resolveSecrets(
  loaded: LoadedAnswers,
  io: CliIo,
  baseDir: string,
): Promise<{ values: Map<string, string>; rows: CheckRow[] }> {
  const reader = nodeSecretReader(io.env, baseDir);
  const values = new Map<string, string>();
  const rows: CheckRow[] = [];
  for (const field of secretFields(loaded.answers)) {
    const r = await resolveSecretField(field, loaded, reader);
    if (r.ok) values.set(formatPath(field.path), r.value);
    else rows.push({ host: "answers", check: "secret", result: "FAIL", detail: formatDiagnostic(r.error) });
  }
  return { values, rows };
}

function fail(host: string, check: string, e: unknown, secrets: readonly string[]): CheckRow {
  return {
    host,
    check,
    result: "FAIL",
    detail: redact(e instanceof UserError ? `[${e.code}] ${e.message}` : errorMessage(e), secrets),
    nextSteps: e instanceof UserError ? e.nextSteps.map((s) => redact(s, secrets)) : [],
  };
}

/** SSH, command and (for controllers) MySQL checks for one host, in order; later ones skip when SSH fails. */
async function checkTarget(t: Target, secrets: readonly string[]): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const { name, host } = t;
  try {
    await host.connect();
    const k = host.hostKey;
    const key = k
      ? `${k.type} ${k.fingerprint} ${k.acceptedNew ? `(new: added to ${k.knownHostsFile})` : `(${k.knownHostsFile}:${k.line ?? "?"})`}`
      : "";
    rows.push({
      host: name,
      check: "ssh",
      result: "pass",
      detail: `${host.user}@${host.address}:${host.port} ${key}`.trim(),
    });
  } catch (e) {
    rows.push(fail(name, "ssh", e, secrets));
    rows.push({ host: name, check: "command", result: "skip", detail: "no SSH connection" });
    if (t.mysql) rows.push({ host: name, check: "mysql", result: "skip", detail: "no SSH connection" });
    return rows;
  }
  try {
    await host.run(["true"], { timeoutMs: 30_000 });
    const uname = (await host.run(["uname", "-n"], { timeoutMs: 30_000 })).stdout.trim();
    const uid = (await host.run(["id", "-u"], { timeoutMs: 30_000 })).stdout.trim();
    if (uid !== "0") {
      rows.push({
        host: name,
        check: "command",
        result: "FAIL",
        detail: `commands run as uid ${uid} on ${uname}; handover needs root`,
        nextSteps: [
          `Log in as root, or set sudo: true for ${name} and allow passwordless sudo for that user.`,
        ],
      });
    } else {
      rows.push({ host: name, check: "command", result: "pass", detail: `uname -n: ${uname}, as root` });
    }
  } catch (e) {
    rows.push(fail(name, "command", e, secrets));
  }
  if (t.mysql) {
    const m = t.mysql;
    if (m.password === undefined) {
      rows.push({
        host: name,
        check: "mysql",
        result: "skip",
        detail: `secret ${m.passwordPath} not available`,
      });
      return rows;
    }
    let client: MysqlClient | undefined;
    try {
      client = await MysqlClient.connect(host, {
        user: m.user,
        password: m.password,
        host: m.host,
        port: m.port,
      });
      const [row] = await client.query("SELECT VERSION() AS version");
      rows.push({
        host: name,
        check: "mysql",
        result: "pass",
        detail: `${m.user}@${m.host}:${m.port} via SSH: ${String(row?.version ?? "?")}`,
      });
    } catch (e) {
      if (m.mayBeAbsent && !(await hasMysqlServer(host))) {
        rows.push({
          host: name,
          check: "mysql",
          result: "skip",
          detail: "no MySQL/MariaDB server installed yet: `handover run` provisions MariaDB here",
        });
      } else {
        rows.push(fail(name, "mysql", e, secrets));
      }
    } finally {
      await client?.close();
    }
  }
  return rows;
}

/** Computes nova knows on the old controller (discover: true), read through the old MySQL. */
async function discoverComputes(
  old: Target,
  secrets: readonly string[],
): Promise<{ names: string[]; row: CheckRow }> {
  const m = old.mysql;
  if (!m?.password) {
    return {
      names: [],
      row: { host: old.name, check: "discover", result: "skip", detail: "no MySQL password" },
    };
  }
  let client: MysqlClient | undefined;
  try {
    client = await MysqlClient.connect(old.host, {
      user: m.user,
      password: m.password,
      host: m.host,
      port: m.port,
    });
    const rows = await client.query(
      "SELECT DISTINCT host FROM nova.services WHERE `binary` = ? AND deleted = 0 ORDER BY host",
      ["nova-compute"],
    );
    const names = rows.map((r) => String(r.host));
    return {
      names,
      row: {
        host: old.name,
        check: "discover",
        result: "pass",
        detail: `nova lists ${names.length} compute host(s): ${names.join(", ") || "none"}`,
      },
    };
  } catch (e) {
    return { names: [], row: fail(old.name, "discover", e, secrets) };
  } finally {
    await client?.close();
  }
}

export function renderTable(rows: readonly CheckRow[]): string {
  const header = ["HOST", "CHECK", "RESULT", "DETAIL"];
  const cells = rows.map((r) => [r.host, r.check, r.result, r.detail.split("\n")[0] ?? ""]);
  const width = (i: number): number => Math.max(header[i]!.length, ...cells.map((c) => c[i]!.length));
  const fmt = (c: readonly string[]): string =>
    [c[0]!.padEnd(width(0)), c[1]!.padEnd(width(1)), c[2]!.padEnd(width(2)), c[3]!].join("  ").trimEnd();
  return [fmt(header), ...cells.map(fmt)].join("\n");
}

function renderFailures(rows: readonly CheckRow[]): string[] {
  const out: string[] = [];
  for (const r of rows.filter((x) => x.result === "FAIL")) {
    out.push("", `${r.host} ${r.check}: ${r.detail}`);
    for (const s of r.nextSteps ?? []) out.push(`  → ${s}`);
  }
  return out;
}

export async function check(options: CheckOptions, io: CliIo): Promise<number> {
  const path = resolve(io.cwd, options.file);
  const loaded = await loadAnswers(path, { displayName: options.file });
  const answers: Answers = loaded.answers;
  const timeoutSeconds = Number(options.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UserError(
      "CHECK_USAGE",
      `--timeout must be a positive number of seconds, not ${options.timeout}`,
    );
  }
  const { values, rows: secretRows } = await resolveSecrets(loaded, io, dirname(path));
  const secrets = [...values.values()];
  const env: SshEnvironment = {
    home: io.env.HOME ?? "/root",
    agentSocket: io.env.SSH_AUTH_SOCK,
    connectTimeoutMs: timeoutSeconds * 1000,
  };
  const pass = (p: string): string | undefined => values.get(p);
  const controller = (name: "old" | "new"): Target => {
    const c = answers.controllers[name];
    const base = `controllers.${name}`;
    return {
      name,
      host: sshHostFromEndpoint(name, c.ssh, env, pass(`${base}.ssh.passphrase`)),
      mysql: {
        user: c.mysql.user,
        password: pass(`${base}.mysql.password`),
        host: c.mysql.host,
        port: c.mysql.port,
        passwordPath: `${base}.mysql.password`,
        mayBeAbsent: name === "new",
      },
    };
  };
  const targets: Target[] = [controller("old"), controller("new")];
  answers.computes.hosts.forEach((h, i) => {
    targets.push({
      name: h.name,
      host: sshHostFromEndpoint(h.name, h.ssh, env, pass(`computes.hosts[${i}].ssh.passphrase`)),
    });
  });

  try {
    const results = await Promise.all(targets.map((t) => checkTarget(t, secrets)));
    const rows: CheckRow[] = [...secretRows, ...results.flat()];

    if (answers.computes.discover) {
      const old = targets[0]!;
      const { names, row } = await discoverComputes(old, secrets);
      rows.push(row);
      const listed = new Set(answers.computes.hosts.map((h) => h.name));
      const extra: Target[] = [];
      for (const n of names.filter((x) => !listed.has(x))) {
        const defaults = answers.computes.ssh_defaults;
        if (!defaults) {
          rows.push({
            host: n,
            check: "ssh",
            result: "FAIL",
            detail:
              "discovered in nova, but neither listed in computes.hosts nor covered by computes.ssh_defaults",
            nextSteps: [`Add ${n} to computes.hosts, or set computes.ssh_defaults.`],
          });
          continue;
        }
        const t = {
          name: n,
          host: sshHostFromEndpoint(
            n,
            { ...defaults, address: n },
            env,
            pass("computes.ssh_defaults.passphrase"),
          ),
        };
        targets.push(t);
        extra.push(t);
      }
      rows.push(...(await Promise.all(extra.map((t) => checkTarget(t, secrets)))).flat());
    }

    const failed = rows.filter((r) => r.result === "FAIL").length;
    const passed = rows.filter((r) => r.result === "pass").length;
    const skipped = rows.filter((r) => r.result === "skip").length;
    const lines = [
      renderTable(rows),
      ...renderFailures(rows),
      "",
      `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`,
    ];
    // Belt and braces: no resolved secret ever reaches the terminal.
    const text = redact(lines.join("\n"), secrets);
    io.stdout(text);
    return failed > 0 ? 1 : 0;
  } finally {
    await Promise.all(targets.map((t) => t.host.close()));
  }
}

addCommand((program, io) => {
  program
    .command("check")
    .description(
      "connect to every host in the answer file (strict host keys), run a trivial command, reach MySQL",
    )
    .requiredOption("-f, --file <path>", "the answer file (YAML)")
    .option("--timeout <seconds>", "SSH connect timeout per host", "15")
    .action(async (options: CheckOptions, command: Command) => {
      setExitCode(command, await check(options, io));
    });
});
