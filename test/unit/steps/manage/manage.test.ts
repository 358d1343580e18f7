import { describe, expect, it } from "vitest";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { FIND_TOKEN_SCRIPT, manageStep } from "../../../../src/steps/manage/manage.js";
import { asUserArgv } from "../../../../src/steps/manage/as-user.js";
import { UserError } from "../../../../src/lib/errors.js";
import { FakeSql, allArgv, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";

const step = manageStep(makeDeps(new FakeSql()));

function su(argv: string[], user: string): string[] {
  return ["su", "-s", "/bin/sh", "-c", argv.map((a) => `'${a}'`).join(" "), user];
}

describe("svc.manage", () => {
  it("runs the command as the service user through su with each word quoted", () => {
    expect(asUserArgv("keystone", ["keystone-manage", "db_sync", "--expand"])).toEqual([
      "su",
      "-s",
      "/bin/sh",
      "-c",
      "'keystone-manage' 'db_sync' '--expand'",
      "keystone",
    ]);
    expect(() => asUserArgv("root; rm -rf /", ["x"])).toThrow(UserError);
  });

  it("exit codes in okExit succeed (keystone db_sync --check 4 = contract still to do)", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.on(su(["keystone-manage", "db_sync", "--check"], "keystone"), {
      exitCode: 4,
      stderr:
        "Exception ignored in: <function _removeHandlerRef>\nAttributeError: 'NoneType' object has no attribute 'getcurrent'\n",
    });
    const p = {
      service: "keystone",
      argv: ["keystone-manage", "db_sync", "--check"],
      user: "keystone",
      okExit: [0, 4],
    };
    expect(await step.run(makeCtx({ new: neu }).ctx, p)).toMatchObject({ exitCode: 4, runs: 1 });
  });

  it("repeats while the exit code says more to do (online data migrations), then succeeds on 0", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    const argv = ["nova-manage", "db", "online_data_migrations"];
    neu.on(su(argv, "nova"), { exitCode: 0 });
    neu.on(su(argv, "nova"), { exitCode: 1, stdout: "Running batches of 50 until complete\n" }, { times: 3 });
    const h = makeCtx({ new: neu });
    const p = { service: "nova", argv, user: "nova", okExit: [0], repeatOnExit: [1], maxRepeats: 100 };
    expect(await step.run(h.ctx, p)).toMatchObject({ exitCode: 0, runs: 4 });
    expect(h.events.filter((e) => e.type === "step-progress")).toHaveLength(3);
  });

  it("gives up after maxRepeats", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    const argv = ["cinder-manage", "db", "online_data_migrations"];
    neu.on(su(argv, "cinder"), { exitCode: 1 });
    const p = { service: "cinder", argv, user: "cinder", okExit: [0], repeatOnExit: [1], maxRepeats: 3 };
    const e = (await step.run(makeCtx({ new: neu }).ctx, p).catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("MANAGE_NOT_FINISHED");
    expect(neu.commands()).toHaveLength(3);
  });

  it("a failure names service, command, exit code, the output without noise and the log tail", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    const argv = ["cinder-manage", "db", "sync"];
    neu.on(su(argv, "cinder"), {
      exitCode: 1,
      stderr:
        "INFO  [alembic.runtime.migration] Context impl MySQLImpl.\nSome oslo_policy warning\nERROR: Migration cannot continue until all volumes have been migrated to the `__DEFAULT__` volume type.\n",
    });
    neu.on(["sh", "-c", REST], {
      stdout:
        "==> /var/log/cinder/cinder-manage.log <==\n2026-01-01 ERROR cinder.db.sqlalchemy.api There are still untyped volumes unmigrated.\n",
    });
    const p = { service: "cinder", argv, user: "cinder", okExit: [0] };
    const e = (await step.run(makeCtx({ new: neu }).ctx, p).catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("MANAGE_FAILED");
    expect(e.message).toContain(
      "cinder: `cinder-manage db sync` (as cinder on new) exited with 1 (expected 0)",
    );
    expect(e.message).toContain("Migration cannot continue");
    expect(e.message).not.toContain("alembic.runtime");
    expect(e.message).not.toContain("oslo_policy");
    expect(e.message).toContain("untyped volumes unmigrated");
    const logCall = neu.commands().find((a) => a[0] === "sh")!;
    expect(logCall.at(-1)).toBe("/var/log/cinder");
  });

  it("configOverride: a 0600 file owned by the service user with the cell0 URL, after nova.conf; removed; URL never in argv", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.setFile(
      "/etc/nova/nova.conf",
      "[database]\nconnection = mysql+pymysql://nova:S3cr%2Ft@127.0.0.1/nova?charset=utf8\n[api_database]\nconnection = mysql+pymysql://nova:S3cr%2Ft@127.0.0.1/nova_api\n",
      { mode: 0o640 },
    );
    const tmp = scriptTempDirs(neu);
    neu.on(["id", "-u", "--", "nova"], { stdout: "64060\n" });
    neu.on(["id", "-g", "--", "nova"], { stdout: "64061\n" });
    neu.on(["chown", REST], {});
    let override = "";
    neu.on(
      (a) => a[0] === "su",
      ({ host, argv }) => {
        const file = /'--config-file' '(\/tmp\/[^']+)'/.exec(argv[4]!)?.[1] ?? "";
        override = host.fileText(file) ?? "";
        expect(host.getFile(file)).toMatchObject({ mode: 0o600, uid: 64060, gid: 64061 });
        return { exitCode: 0 };
      },
    );
    const argv = [
      "nova-manage",
      "cell_v2",
      "update_cell",
      "--cell_uuid",
      "00000000-0000-0000-0000-000000000000",
    ];
    const p = {
      service: "nova",
      argv,
      user: "nova",
      okExit: [0],
      configOverride: { "database.connection": "{db:nova_cell0}", "DEFAULT.transport_url": "none:///" },
      coveredBy: "db.nova_api.import",
    };
    const h = makeCtx({ new: neu });
    await step.run(h.ctx, p);
    expect(override).toBe(
      "[database]\nconnection = mysql+pymysql://nova:S3cr%2Ft@127.0.0.1/nova_cell0?charset=utf8\n\n[DEFAULT]\ntransport_url = none:///\n",
    );
    const suCall = neu.commands().find((a) => a[0] === "su")!;
    expect(suCall[4]).toMatch(
      /^'nova-manage' '--config-file' '\/etc\/nova\/nova.conf' '--config-file' '\/tmp\/handover-new\d+\/override.conf' 'cell_v2' 'update_cell'/,
    );
    expect(allArgv(neu)).not.toContain("S3cr");
    expect(tmp.removed).toEqual(tmp.made);
    expect(neu.listFiles()).toEqual(["/etc/nova/nova.conf"]);
    const token = h.checkpoints[0]!.token as string;
    expect(token).toMatch(/^[0-9a-f]{24}$/);
    expect(h.checkpoints).toEqual([{ token }, { token, tempDir: tmp.made[0] }]);
    // The tool runs with the token in its environment, so a redo can find it.
    expect(neu.calls.find((c) => c.kind === "exec" && c.argv[0] === "su")).toMatchObject({
      options: { env: { HANDOVER_STEP_TOKEN: token } },
    });
  });

  it("a redo after handover was killed waits for the earlier attempt's tool, still running on new, before running again", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    const argv = ["nova-manage", "db", "sync"];
    const find = ["sh", "-c", FIND_TOKEN_SCRIPT, "sh", "HANDOVER_STEP_TOKEN=abc123"];
    neu.on(find, { exitCode: 1 });
    neu.on(find, { exitCode: 0 }, { times: 2 });
    neu.on(su(argv, "nova"), { exitCode: 0 });
    const h = makeCtx({ new: neu }, { token: "abc123" });
    const res = await step.run(h.ctx, { service: "nova", argv, user: "nova", okExit: [0] });
    expect(res).toMatchObject({ exitCode: 0, token: "abc123" });
    expect(neu.commandLines().map((l) => l.split(" ")[0])).toEqual(["sh", "sh", "sh", "su"]);
    expect(h.events.some((e) => e.type === "log" && /still running/.test(e.message))).toBe(true);
    expect(h.checkpoints[0]).toEqual({ token: "abc123" });
  });

  it("verify uses keystone's own check for db_sync steps, else runs the (idempotent) command again", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.on(su(["keystone-manage", "db_sync", "--check"], "keystone"), { exitCode: 4 });
    const expand = {
      service: "keystone",
      argv: ["keystone-manage", "db_sync", "--expand"],
      user: "keystone",
      okExit: [0],
    };
    expect(await step.verify(makeCtx({ new: neu }).ctx, expand)).toMatchObject({ ok: true });
    const contract = { ...expand, argv: ["keystone-manage", "db_sync", "--contract"] };
    expect(await step.verify(makeCtx({ new: neu }).ctx, contract)).toMatchObject({ ok: false });
    expect(
      neu
        .commandLines()
        .filter((l) => l.startsWith("su"))
        .every((l) => l.includes("--check")),
    ).toBe(true);

    neu.on(su(["neutron-db-manage", "upgrade", "heads"], "neutron"), { exitCode: 0 });
    const heads = {
      service: "neutron",
      argv: ["neutron-db-manage", "upgrade", "heads"],
      user: "neutron",
      okExit: [0],
    };
    expect(await step.verify(makeCtx({ new: neu }).ctx, heads)).toMatchObject({ ok: true });
  });
});
