/**
 * StepDeps for a real run: MySQL through each controller's SSH connection (MysqlClient over direct-tcpip), admin
 * credentials from the answer file, real timers, crypto-random passwords.
 */
import { randomBytes } from "node:crypto";
import type { Answers } from "../answers/index.js";
import { MysqlClient, type TcpTunnel } from "../db/mysql-client.js";
import { clientSession } from "../db/sql-session.js";
import type { Host } from "../hosts/host.js";
import { BugError } from "../lib/errors.js";
import { realSleep, type MysqlAdmin, type StepDeps } from "./deps.js";

function isTunnel(h: Host): h is Host & TcpTunnel {
  return typeof (h as Partial<TcpTunnel>).openTunnel === "function";
}

export function realStepDeps(admins: Readonly<Record<string, MysqlAdmin>>): StepDeps {
  const mysqlAdmin = (name: string): MysqlAdmin => {
    const a = admins[name];
    if (!a) throw new BugError(`no MySQL admin credentials for host ${name}`);
    return a;
  };
  return {
    mysqlAdmin,
    async openSql(host, options = {}) {
      if (!isTunnel(host)) throw new BugError(`host ${host.name} cannot open a TCP tunnel for MySQL`);
      const a = mysqlAdmin(host.name);
      const client = await MysqlClient.connect(host, {
        user: options.as?.user ?? a.user,
        password: options.as?.password ?? a.password,
        host: a.host,
        port: a.port,
        ...(options.database !== undefined ? { database: options.database } : {}),
      });
      return clientSession(client);
    },
    sleep: realSleep,
    // 24 random bytes, URL-safe: no character that needs quoting in a URL, an INI file or SQL.
    generatePassword: () => randomBytes(24).toString("base64url"),
  };
}

/** The controllers' MySQL admin logins from the answer file and its resolved secrets (by field path). */
export function mysqlAdminsFromAnswers(
  answers: Answers,
  secrets: ReadonlyMap<string, string>,
): Record<string, MysqlAdmin> {
  const one = (name: "old" | "new"): MysqlAdmin => {
    const m = answers.controllers[name].mysql;
    return {
      user: m.user,
      password: secrets.get(`controllers.${name}.mysql.password`) ?? "",
      host: m.host,
      port: m.port,
    };
  };
  return { old: one("old"), new: one("new") };
}
