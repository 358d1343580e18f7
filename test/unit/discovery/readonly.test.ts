/**
 * The read-only guarantee, at its two gates: the command allow-list of ReadOnlyHost and the statement guard of
 * readOnlySql (plus MysqlReader putting every real connection in READ ONLY mode).
 */
import { describe, expect, it } from "vitest";
import type { MysqlClient } from "../../../src/db/mysql-client.js";
import {
  DPKG_QUERY_ARGV,
  dfArgv,
  isReadOnlyCommand,
  readOnly,
} from "../../../src/discovery/readonly-host.js";
import { MysqlReader, isReadOnlySql, readOnlySql } from "../../../src/discovery/sql.js";
import { BugError } from "../../../src/lib/errors.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { FakeSql } from "./fake-sql.js";

describe("read-only commands", () => {
  it("allows exactly the listed commands", () => {
    expect(isReadOnlyCommand([...DPKG_QUERY_ARGV])).toBe(true);
    expect(isReadOnlyCommand(["hostname"])).toBe(true);
    expect(isReadOnlyCommand(dfArgv("/var/lib/mysql"))).toBe(true);
  });
  it.each([
    [["hostname", "newname"]],
    [["rm", "-rf", "/"]],
    [["service", "nova-api", "stop"]],
    [["dpkg-query", "-W"]],
    [["df", "-B1", "--output=target,avail,size", "--", "relative"]],
    [["df", "-B1", "--output=target,avail,size", "--", "/var/../etc"]],
    [["df", "-B1", "--output=target,avail,size", "--", "/x; rm -rf /"]],
    [["ip", "addr", "add", "198.51.100.4/24", "dev", "eth0"]],
  ])("refuses %j", (argv) => {
    expect(isReadOnlyCommand(argv)).toBe(false);
  });
  it("never passes a refused command to the host", async () => {
    const host = new FakeHost("old");
    const ro = readOnly(host);
    await expect(ro.exec(["touch", "/tmp/x"])).rejects.toBeInstanceOf(BugError);
    expect(host.calls).toEqual([]);
  });
  it("has no way to write files", () => {
    const ro = readOnly(new FakeHost("old")) as unknown as Record<string, unknown>;
    expect(Object.keys(ro).sort()).toEqual(["address", "exec", "name", "readFile", "stat"]);
  });
  it("passes a timeout so a hung command cannot hang the plan", async () => {
    const host = new FakeHost("old").on(["hostname"], { stdout: "old\n" });
    await readOnly(host).exec(["hostname"]);
    const call = host.calls[0];
    expect(call?.kind === "exec" && call.options?.timeoutMs).toBeGreaterThan(0);
  });
});

describe("read-only SQL", () => {
  it.each([
    "SELECT 1",
    "  select name from role",
    "SHOW DATABASES",
    "CHECKSUM TABLE `nova`.`instances`",
    "SELECT (SELECT COUNT(*) FROM a) + (SELECT COUNT(*) FROM b)",
  ])("lets %j through", (sql) => {
    expect(isReadOnlySql(sql)).toBe(true);
  });
  it.each([
    "UPDATE role SET name = 'x'",
    "DELETE FROM services",
    "SELECT 1; DROP DATABASE nova",
    "SELECT * FROM instances FOR UPDATE",
    "SELECT * FROM instances LOCK IN SHARE MODE",
    "SELECT * INTO OUTFILE '/tmp/x' FROM role",
    "SELECT 1 INTO @x",
    "SET SESSION sql_log_bin = 0",
    "WITH x AS (SELECT 1) DELETE FROM y",
  ])("refuses %j", async (sql) => {
    expect(isReadOnlySql(sql)).toBe(false);
    const fake = new FakeSql().on("*", /.*/, []);
    await expect(readOnlySql(fake).query(undefined, sql)).rejects.toBeInstanceOf(BugError);
    expect(fake.calls).toEqual([]);
  });
  it("refuses odd database names", async () => {
    const fake = new FakeSql().on("*", /.*/, []);
    await expect(readOnlySql(fake).query("nova`; DROP", "SELECT 1")).rejects.toBeInstanceOf(BugError);
    expect(fake.calls).toEqual([]);
  });
});

/** A stand-in MysqlClient recording what is sent to it. */
function fakeClient(log: string[], database: string | undefined): MysqlClient {
  const tag = database ?? "-";
  return {
    query: (sql: string) => {
      log.push(`${tag} query ${sql}`);
      return Promise.resolve([{ ok: 1 }]);
    },
    execute: (sql: string) => {
      log.push(`${tag} execute ${sql}`);
      return Promise.resolve({ affectedRows: 0, insertId: 0 });
    },
    close: () => {
      log.push(`${tag} close`);
      return Promise.resolve();
    },
  } as unknown as MysqlClient;
}

describe("MysqlReader", () => {
  it("puts every connection in READ ONLY mode before any query, one connection per database", async () => {
    const log: string[] = [];
    const opened: (string | undefined)[] = [];
    const reader = await MysqlReader.open((db) => {
      opened.push(db);
      return Promise.resolve(fakeClient(log, db));
    });
    await reader.query(undefined, "SELECT VERSION()");
    await reader.query("nova", "SELECT 1");
    await reader.query("nova", "SELECT 2");
    await reader.close();
    expect(opened).toEqual([undefined, "nova"]);
    expect(log).toEqual([
      "- execute SET SESSION TRANSACTION READ ONLY",
      "- query SELECT VERSION()",
      "nova execute SET SESSION TRANSACTION READ ONLY",
      "nova query SELECT 1",
      "nova query SELECT 2",
      "- close",
      "nova close",
    ]);
  });
  it("fails to open when the server cannot be reached", async () => {
    await expect(MysqlReader.open(() => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
  });
});
