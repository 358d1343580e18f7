import { describe, expect, it } from "vitest";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { createStep } from "../../../../src/steps/db/create.js";
import { UserError } from "../../../../src/lib/errors.js";
import { MysqlErrorCode } from "../../../../src/db/mysql-client.js";
import type { SqlParam } from "../../../../src/db/mysql-client.js";
import { FakeSql, allArgv, makeCtx, makeDeps } from "../support/harness.js";

const NOVA_CONF = `[DEFAULT]
transport_url = rabbit://openstack:rabbitpw@198.51.100.4:5672/
[api_database]
connection = mysql+pymysql://nova:N0va%40pw@198.51.100.4/nova_api
[database]
# connection = sqlite://
connection = mysql+pymysql://nova:N0va%40pw@198.51.100.4/nova
`;

const params = {
  service: "nova",
  databases: ["nova_api", "nova", "nova_cell0"],
  credentials: "keep",
  from: [
    { database: "nova_api", file: "/etc/nova/nova.conf", section: "api_database", key: "connection" },
    { database: "nova", file: "/etc/nova/nova.conf", section: "database", key: "connection" },
  ],
  secretFile: "/var/lib/handover/secrets/nova",
};

/** A tiny model of MySQL's databases and users, driven through FakeSql rules. */
function mysqlModel(sql: FakeSql, opts: { dbs?: string[]; users?: Record<string, string> } = {}) {
  const dbs = new Set(opts.dbs ?? []);
  const users = new Map<string, string>(Object.entries(opts.users ?? {})); // "user@host" -> password
  const key = (p: readonly SqlParam[], i: number) => `${String(p[i])}@${String(p[i + 1])}`;
  sql.on(/FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = \?/, (p) =>
    dbs.has(String(p[0])) ? [{ SCHEMA_NAME: p[0] }] : [],
  );
  sql.on(/^CREATE DATABASE IF NOT EXISTS `(\w+)`/, () => ({ affectedRows: 1 }));
  sql.on(/FROM mysql.user WHERE User = \? AND Host = \?$/, (p) => [{ n: users.has(key(p, 0)) ? 1 : 0 }]);
  sql.on(/PASSWORD\(\?\)\) AS same/, (p) => [{ same: users.get(key(p, 1)) === p[0] ? 1 : 0 }]);
  sql.on(/^CREATE USER IF NOT EXISTS \?@\? IDENTIFIED BY \?/, (p) => {
    users.set(key(p, 0), String(p[2]));
    return { affectedRows: 0 };
  });
  sql.on(/^ALTER USER \?@\? IDENTIFIED BY \?/, (p) => {
    users.set(key(p, 0), String(p[2]));
    return { affectedRows: 0 };
  });
  sql.on(/@@GLOBAL.log_bin/, [{ b: 0, t: 0 }]);
  const created = (sqlText: string) => /^CREATE DATABASE IF NOT EXISTS `(\w+)`/.exec(sqlText)?.[1];
  return {
    dbs,
    users,
    sync: () => {
      for (const s of sql.statements) {
        const d = created(s.sql);
        if (d) dbs.add(d);
      }
    },
  };
}

function hosts() {
  const old = new FakeHost("old", { unmatched: "throw" }).setFile("/etc/nova/nova.conf", NOVA_CONF, {
    mode: 0o640,
  });
  const neu = new FakeHost("new", { unmatched: "throw" });
  return { old, neu };
}

describe("db.create", () => {
  it("creates the databases and the old configs' user for localhost and % with grants; parameterised, nothing in argv", async () => {
    const { old, neu } = hosts();
    const sql = new FakeSql();
    const m = mysqlModel(sql);
    const h = makeCtx({ old, new: neu });
    const undo = await createStep(makeDeps(sql)).run(h.ctx, params);
    m.sync();
    expect([...m.dbs].sort()).toEqual(["nova", "nova_api", "nova_cell0"]);
    expect(m.users.get("nova@localhost")).toBe("N0va@pw");
    expect(m.users.get("nova@%")).toBe("N0va@pw");
    const grants = sql.statements.filter((s) => s.sql.startsWith("GRANT"));
    expect(grants.map((g) => `${g.sql} ${g.params.join("@")}`)).toEqual([
      "GRANT ALL PRIVILEGES ON `nova_api`.* TO ?@? nova@localhost",
      "GRANT ALL PRIVILEGES ON `nova_api`.* TO ?@? nova@%",
      "GRANT ALL PRIVILEGES ON `nova`.* TO ?@? nova@localhost",
      "GRANT ALL PRIVILEGES ON `nova`.* TO ?@? nova@%",
      "GRANT ALL PRIVILEGES ON `nova_cell0`.* TO ?@? nova@localhost",
      "GRANT ALL PRIVILEGES ON `nova_cell0`.* TO ?@? nova@%",
    ]);
    expect(sql.statements.some((s) => s.sql.includes("N0va"))).toBe(false);
    expect(undo).toMatchObject({
      createdDatabases: ["nova_api", "nova", "nova_cell0"],
      createdUsers: ["nova@localhost", "nova@%"],
    });
    expect(h.checkpoints[0]).toEqual(undo);
    expect(JSON.stringify(h.checkpoints)).not.toContain("N0va");
    expect(allArgv(old, neu)).not.toContain("N0va");
  });

  it("a second run changes nothing: no CREATE USER, no ALTER USER, nothing recorded as created", async () => {
    const { old, neu } = hosts();
    const sql = new FakeSql();
    mysqlModel(sql, {
      dbs: ["nova_api", "nova", "nova_cell0"],
      users: { "nova@localhost": "N0va@pw", "nova@%": "N0va@pw" },
    });
    const h = makeCtx({ old, new: neu });
    const undo = await createStep(makeDeps(sql)).run(h.ctx, params);
    expect(sql.statements.filter((s) => /^(CREATE|ALTER|DROP)/.test(s.sql))).toEqual([]);
    expect(undo).toMatchObject({ createdDatabases: [], createdUsers: [] });
  });

  it("a user that exists with another password is altered (and the warning says so), not recreated", async () => {
    const { old, neu } = hosts();
    const sql = new FakeSql();
    const m = mysqlModel(sql, { users: { "nova@localhost": "other", "nova@%": "N0va@pw" } });
    const h = makeCtx({ old, new: neu });
    await createStep(makeDeps(sql)).run(h.ctx, params);
    expect(
      sql.statements.filter((s) => s.sql.startsWith("ALTER USER")).map((s) => s.params.slice(0, 2).join("@")),
    ).toEqual(["nova@localhost"]);
    expect(m.users.get("nova@localhost")).toBe("N0va@pw");
    expect(h.events.some((e) => e.type === "log" && e.level === "warn")).toBe(true);
  });

  it("a redo keeps what the first attempt created in its undo data", async () => {
    const { old, neu } = hosts();
    const sql = new FakeSql();
    mysqlModel(sql, { dbs: ["nova_api"], users: { "nova@localhost": "N0va@pw" } });
    const h = makeCtx(
      { old, new: neu },
      { createdDatabases: ["nova_api"], createdUsers: ["nova@localhost"] },
    );
    const undo = await createStep(makeDeps(sql)).run(h.ctx, params);
    expect(undo).toMatchObject({
      createdDatabases: ["nova_api", "nova", "nova_cell0"],
      createdUsers: ["nova@localhost", "nova@%"],
    });
  });

  it("sets up the answer file's admin login through root's unix socket when the fresh MariaDB refuses it", async () => {
    const { old, neu } = hosts();
    neu.on(["mysql", "--protocol=socket", "-u", "root", "-N", "-B"], {});
    const sql = new FakeSql().failOpen("new", new UserError(MysqlErrorCode.authFailed, "refused"), {
      times: 1,
      user: "root",
    });
    mysqlModel(sql);
    const h = makeCtx({ old, new: neu });
    await createStep(makeDeps(sql)).run(h.ctx, params);
    const boot = neu.calls.find((c) => c.kind === "exec" && c.argv[0] === "mysql");
    const stdin = boot && "stdin" in boot ? boot.stdin.toString() : "";
    expect(stdin).toContain(
      "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('new-admin-pw') OR unix_socket",
    );
    expect(stdin).toContain("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
    expect(allArgv(neu)).not.toContain("new-admin-pw");
  });

  it("the unix_socket refusal (1698, reported as unreachable with 'Access denied') also triggers the setup, on new only", async () => {
    const { old, neu } = hosts();
    neu.on(["mysql", "--protocol=socket", "-u", "root", "-N", "-B"], {});
    const refusal = new UserError(
      MysqlErrorCode.unreachable,
      "cannot talk to MySQL on new: Access denied for user 'root'@'localhost'",
    );
    const sql = new FakeSql().failOpen("new", refusal, { times: 1, user: "root" });
    mysqlModel(sql);
    await createStep(makeDeps(sql)).run(makeCtx({ old, new: neu }).ctx, params);
    expect(neu.commandLines()).toContain("mysql --protocol=socket -u root -N -B");
    // On old the same refusal is the operator's to fix: no setup, the error stands.
    const { sqlFor } = await import("../../../../src/steps/sql.js");
    const sql2 = new FakeSql().failOpen("old", refusal);
    await expect(sqlFor(makeDeps(sql2), makeCtx({ old, new: neu }).ctx, "old")).rejects.toBe(refusal);
    // A plain unreachable server is not a refusal.
    const down = new UserError(MysqlErrorCode.unreachable, "cannot reach MySQL on new: Connection refused");
    const sql3 = new FakeSql().failOpen("new", down);
    await expect(sqlFor(makeDeps(sql3), makeCtx({ old, new: neu }).ctx, "new")).rejects.toBe(down);
  });

  it("keystone with binary logging on: log_bin_trust_function_creators set now and in a config file", async () => {
    const { old, neu } = hosts();
    old.setFile(
      "/etc/keystone/keystone.conf",
      "[database]\nconnection = mysql+pymysql://keystone:ks@198.51.100.4/keystone\n",
    );
    neu.addDir("/etc/mysql/mariadb.conf.d");
    const sql = new FakeSql();
    mysqlModel(sql);
    sql.on(/@@GLOBAL.log_bin/, [{ b: 1, t: 0 }]);
    const h = makeCtx({ old, new: neu });
    await createStep(makeDeps(sql)).run(h.ctx, {
      service: "keystone",
      databases: ["keystone"],
      credentials: "keep",
      from: [
        { database: "keystone", file: "/etc/keystone/keystone.conf", section: "database", key: "connection" },
      ],
      secretFile: "/x/keystone",
    });
    expect(sql.sqlOn("new")).toContain("SET GLOBAL log_bin_trust_function_creators = 1");
    expect(neu.fileText("/etc/mysql/mariadb.conf.d/99-handover.cnf")).toContain(
      "log_bin_trust_function_creators = 1",
    );
  });

  it("credentials: new generates a password once, keeps it 0600 on new, and reuses it on a second run", async () => {
    const { old, neu } = hosts();
    neu.on(["mkdir", "-p", "-m", "0700", "--", REST], ({ argv, host }) => (host.addDir(argv[5]!), {}));
    const sql = new FakeSql();
    const m = mysqlModel(sql);
    let n = 0;
    const deps = makeDeps(sql, { generatePassword: () => `gen-${++n}` });
    const p = { ...params, credentials: "new" };
    await createStep(deps).run(makeCtx({ old, new: neu }).ctx, p);
    await createStep(deps).run(makeCtx({ old, new: neu }).ctx, p);
    expect(n).toBe(1);
    expect(neu.getFile(params.secretFile)).toMatchObject({ mode: 0o600 });
    expect(JSON.parse(neu.fileText(params.secretFile)!)).toEqual({ user: "nova", password: "gen-1" });
    expect(m.users.get("nova@%")).toBe("gen-1");
  });

  it("verify logs in as the service user to each database; a refused login fails naming user and database", async () => {
    const { old, neu } = hosts();
    const sql = new FakeSql();
    const h = makeCtx({ old, new: neu });
    expect(await createStep(makeDeps(sql)).verify(h.ctx, params)).toMatchObject({ ok: true });
    expect(
      sql.opens.filter((o) => o.options.as).map((o) => `${o.options.as!.user}/${o.options.database}`),
    ).toEqual(["nova/nova_api", "nova/nova", "nova/nova_cell0"]);
    sql.failOpen("new", new UserError(MysqlErrorCode.authFailed, "Access denied"), { user: "nova" });
    const v = await createStep(makeDeps(sql)).verify(h.ctx, params);
    expect(v.ok).toBe(false);
    expect(v.detail).toContain("nova cannot use nova_api");
  });

  it("undo drops only what it created", async () => {
    const { old, neu } = hosts();
    const sql = new FakeSql();
    const h = makeCtx({ old, new: neu });
    await createStep(makeDeps(sql)).undo!(h.ctx, params, {
      createdDatabases: ["nova_cell0"],
      createdUsers: ["nova@%"],
      secretFile: "",
    });
    expect(sql.statements.map((s) => `${s.sql} ${s.params.join("@")}`.trim())).toEqual([
      "DROP DATABASE IF EXISTS `nova_cell0`",
      "DROP USER IF EXISTS ?@? nova@%",
    ]);
  });

  it("fails clearly when the old config has no database URL", async () => {
    const { neu } = hosts();
    const old = new FakeHost("old").setFile("/etc/nova/nova.conf", "[database]\n# connection = x\n");
    const e = (await createStep(makeDeps(new FakeSql()))
      .run(makeCtx({ old, new: neu }).ctx, params)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("CREDENTIALS_NOT_FOUND");
    expect(e.message).toContain("/etc/nova/nova.conf has no [api_database] connection");
  });
});
