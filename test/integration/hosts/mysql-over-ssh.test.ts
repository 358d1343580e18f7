/**
 * MysqlClient through an SshHost tunnel to a private MariaDB, both on loopback: the same path handover uses to
 * reach a controller's database at its own 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MysqlClient } from "../../../src/db/mysql-client.js";
import { SshHost } from "../../../src/hosts/ssh-host.js";
import { UserError } from "../../../src/lib/errors.js";
import { mariadbSkipReason, startMariaDb, type MariaDb } from "./fixtures/mariadb.js";
import { freePort, sshdSkipReason, startSshd, type Sshd } from "./fixtures/sshd.js";

const skip = sshdSkipReason() ?? mariadbSkipReason();
if (skip) console.warn(`SKIPPED MySQL-over-SSH integration tests: ${skip}`);

describe.skipIf(skip !== undefined)("MysqlClient over an SSH tunnel", () => {
  let sshd: Sshd;
  let db: MariaDb;
  let host: SshHost;

  beforeAll(async () => {
    [sshd, db] = await Promise.all([startSshd(), startMariaDb()]);
    host = new SshHost({
      name: "old",
      address: "127.0.0.1",
      port: sshd.port,
      keyFile: sshd.clientKey.privatePath,
      knownHostsFile: sshd.knownHosts("known_hosts", `${sshd.knownHostsLine}\n`),
    });
  });
  afterAll(async () => {
    await host?.close();
    await Promise.all([sshd?.stop(), db?.stop()]);
  });

  it("connects with user + password and runs parameterised queries", async () => {
    const c = await MysqlClient.connect(host, { user: db.user, password: db.password, port: db.port });
    try {
      const [v] = await c.query("SELECT VERSION() AS v");
      expect(String(v?.v)).toMatch(/MariaDB/);
      await c.execute("CREATE DATABASE IF NOT EXISTS t1");
      await c.execute("CREATE TABLE t1.kv (k VARCHAR(64) PRIMARY KEY, v TEXT)");
      const nasty = `x'); DROP TABLE t1.kv; -- "$(id)"`;
      expect((await c.execute("INSERT INTO t1.kv VALUES (?, ?)", ["a", nasty])).affectedRows).toBe(1);
      const rows = await c.query("SELECT v FROM t1.kv WHERE k = ?", ["a"]);
      expect(rows.map((r) => String(r.v))).toEqual([nasty]);
    } finally {
      await c.close();
    }
    // The SQL ran as our admin user over TCP from 127.0.0.1 (the tunnel's far end), not via the socket.
    expect(db.sql("SELECT COUNT(*) FROM t1.kv").trim()).toBe("1");
  });

  it("a wrong password is MYSQL_AUTH_FAILED and the password is not shown", async () => {
    const e = await MysqlClient.connect(host, {
      user: db.user,
      password: "wrong-pw-123",
      port: db.port,
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("MYSQL_AUTH_FAILED");
    expect((e as UserError).message).not.toContain("wrong-pw-123");
  });

  it("nothing listening on the port is MYSQL_UNREACHABLE", async () => {
    const port = await freePort();
    await expect(
      MysqlClient.connect(host, { user: db.user, password: db.password, port }),
    ).rejects.toMatchObject({
      code: "MYSQL_UNREACHABLE",
    });
  });

  it("a failing query is MYSQL_QUERY_FAILED showing the SQL but not the parameters", async () => {
    const c = await MysqlClient.connect(host, { user: db.user, password: db.password, port: db.port });
    try {
      const e = (await c
        .query("SELECT * FROM no_such_db.t WHERE x = ?", ["secret-param"])
        .catch((x: unknown) => x)) as UserError;
      expect(e.code).toBe("MYSQL_QUERY_FAILED");
      expect(e.message).toContain("no_such_db");
      expect(e.message).not.toContain("secret-param");
    } finally {
      await c.close();
    }
  });
});
