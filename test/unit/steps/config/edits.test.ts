import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../../../src/engine/step.js";
import { configRewriteStep } from "../../../../src/steps/config/rewrite.js";
import { configHorizonStep } from "../../../../src/steps/config/horizon.js";
import { configEditStep } from "../../../../src/steps/config/edit.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, allArgv, makeCtx, makeDeps } from "../support/harness.js";

const NOVA_CONF = [
  "[DEFAULT]",
  "# the broker",
  "transport_url = rabbit://openstack:rabbitpw@198.51.100.4:5672,openstack:rabbitpw@controller:5672/",
  "my_ip = 198.51.100.4",
  "",
  "[api_database]",
  "connection = mysql+pymysql://nova:novapw@198.51.100.4/nova_api",
  "",
  "[database]",
  "connection = mysql+pymysql://nova:novapw@controller/nova?charset=utf8",
  "",
  "[keystone_authtoken]",
  "www_authenticate_uri = http://controller:5000/",
  "",
].join("\n");

const CINDER_CONF =
  "[DEFAULT]\nenabled_backends = lvm, lvm2\n\n[lvm]\nvolume_group = cinder-volumes\n\n[lvm2]\ntarget_ip_address = 198.18.0.4\n";

function hosts() {
  const old = new FakeHost("old", { unmatched: "throw" });
  const neu = new FakeHost("new", { unmatched: "throw" });
  neu.setFile("/etc/nova/nova.conf", NOVA_CONF, { mode: 0o640, uid: 0, gid: 64 });
  neu.setFile("/etc/cinder/cinder.conf", CINDER_CONF, { mode: 0o640 });
  neu.on(["mkdir", "-p", "-m", "0700", "--", /.*/], ({ argv, host }) => {
    host.addDir(argv[5]!);
    return {};
  });
  return { old, neu };
}

const rewrite: JsonObject = {
  service: "nova",
  credentials: "keep",
  secretFile: "/var/lib/handover/secrets/nova",
  diff: true,
  edits: [
    {
      file: "/etc/nova/nova.conf",
      section: "api_database",
      key: "connection",
      op: "db-url",
      database: "nova_api",
      host: "127.0.0.1",
    },
    {
      file: "/etc/nova/nova.conf",
      section: "database",
      key: "connection",
      op: "db-url",
      database: "nova",
      host: "127.0.0.1",
    },
    {
      file: "/etc/nova/nova.conf",
      section: "DEFAULT",
      key: "transport_url",
      op: "transport-url",
      host: "127.0.0.1",
    },
    { file: "/etc/nova/nova.conf", section: "upgrade_levels", key: "compute", op: "set", value: "auto" },
  ],
};

describe("config.rewrite", () => {
  it("points only the named options at 127.0.0.1, keeps every other byte, journals a masked diff, keeps owner/mode", async () => {
    const { old, neu } = hosts();
    const h = makeCtx({ old, new: neu });
    const step = configRewriteStep(makeDeps(new FakeSql()));
    const res = (await step.run(h.ctx, rewrite)) as { diffs: { path: string; unified: string }[] };
    const text = neu.fileText("/etc/nova/nova.conf")!;
    expect(text).toContain("connection = mysql+pymysql://nova:novapw@127.0.0.1/nova_api\n");
    expect(text).toContain("connection = mysql+pymysql://nova:novapw@127.0.0.1/nova?charset=utf8\n");
    expect(text).toContain(
      "transport_url = rabbit://openstack:rabbitpw@127.0.0.1:5672,openstack:rabbitpw@127.0.0.1:5672/\n",
    );
    // Not named, not touched: the auth URL and my_ip keep naming the moved address.
    expect(text).toContain("www_authenticate_uri = http://controller:5000/\n");
    expect(text).toContain("my_ip = 198.51.100.4\n");
    expect(text).toContain("[upgrade_levels]\ncompute = auto\n");
    expect(neu.getFile("/etc/nova/nova.conf")).toMatchObject({ mode: 0o640, gid: 64 });
    // The diff is in the result and a log event, passwords masked.
    expect(res.diffs).toHaveLength(1);
    expect(res.diffs[0]!.unified).toContain("+connection = mysql+pymysql://nova:***@127.0.0.1/nova_api");
    expect(JSON.stringify(res)).not.toContain("novapw");
    expect(h.events.some((e) => e.type === "log" && e.message.includes("-connection"))).toBe(true);
    expect(JSON.stringify(h.events)).not.toMatch(/novapw|rabbitpw/);
    // Checkpoint first, naming the file; a backup of the original, 0600.
    expect(h.checkpoints[0]).toMatchObject({ files: ["/etc/nova/nova.conf"] });
    expect(neu.getFile("/var/backups/handover/rewrite/etc/nova/nova.conf")).toMatchObject({ mode: 0o600 });
    expect(await step.verify(h.ctx, rewrite)).toMatchObject({ ok: true });
  });

  it("is idempotent and undo restores the original bytes", async () => {
    const { old, neu } = hosts();
    const h = makeCtx({ old, new: neu });
    const step = configRewriteStep(makeDeps(new FakeSql()));
    await step.run(h.ctx, rewrite);
    const once = neu.fileText("/etc/nova/nova.conf");
    const again = makeCtx({ old, new: neu }, h.checkpoints.at(-1));
    const undo = (await step.run(again.ctx, rewrite)) ?? {};
    expect(neu.fileText("/etc/nova/nova.conf")).toBe(once);
    await step.undo!(again.ctx, rewrite, undo);
    expect(neu.fileText("/etc/nova/nova.conf")).toBe(NOVA_CONF);
    await step.undo!(again.ctx, rewrite, undo);
    expect(neu.fileText("/etc/nova/nova.conf")).toBe(NOVA_CONF);
  });

  it("credentials: new puts the generated user/password in the URLs, never in an argv or the result", async () => {
    const { old, neu } = hosts();
    neu.setFile("/var/lib/handover/secrets/nova", JSON.stringify({ user: "nova2", password: "s3cr/t@x" }), {
      mode: 0o600,
    });
    neu.setFile("/var/lib/handover/secrets/amqp", JSON.stringify({ user: "rmq", password: "amqp-pw" }), {
      mode: 0o600,
    });
    const h = makeCtx({ old, new: neu });
    const p = { ...rewrite, credentials: "new" };
    const step = configRewriteStep(makeDeps(new FakeSql()));
    const res = await step.run(h.ctx, p);
    const text = neu.fileText("/etc/nova/nova.conf")!;
    expect(text).toContain("connection = mysql+pymysql://nova2:s3cr%2Ft%40x@127.0.0.1/nova_api\n");
    expect(text).toContain(
      "transport_url = rabbit://rmq:amqp-pw@127.0.0.1:5672,rmq:amqp-pw@127.0.0.1:5672/\n",
    );
    expect(JSON.stringify(res) + JSON.stringify(h.events) + allArgv(neu)).not.toMatch(/s3cr|amqp-pw/);
    expect(await step.verify(h.ctx, p)).toMatchObject({ ok: true });
    // The old password still in place is a verify failure.
    neu.setFile(
      "/etc/nova/nova.conf",
      NOVA_CONF.replaceAll("198.51.100.4", "127.0.0.1").replaceAll("@controller", "@127.0.0.1"),
    );
    expect(await step.verify(h.ctx, p)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/other credentials/),
    });
  });

  it("*backends* sets the option in every enabled backend's section", async () => {
    const { old, neu } = hosts();
    const h = makeCtx({ old, new: neu });
    const p = {
      service: "cinder",
      credentials: "keep",
      secretFile: "",
      edits: [
        {
          file: "/etc/cinder/cinder.conf",
          section: "*backends*",
          key: "target_ip_address",
          op: "set",
          value: "198.18.0.5",
        },
      ],
    };
    const step = configRewriteStep(makeDeps(new FakeSql()));
    await step.run(h.ctx, p);
    const text = neu.fileText("/etc/cinder/cinder.conf")!;
    expect(text).toContain("[lvm]\nvolume_group = cinder-volumes\ntarget_ip_address = 198.18.0.5\n");
    expect(text).toContain("[lvm2]\ntarget_ip_address = 198.18.0.5\n");
    expect(await step.verify(h.ctx, p)).toMatchObject({ ok: true });
  });

  it("fails naming the file and option when a URL option to rewrite is absent", async () => {
    const { old, neu } = hosts();
    neu.setFile("/etc/nova/nova.conf", "[DEFAULT]\n");
    const h = makeCtx({ old, new: neu });
    await expect(configRewriteStep(makeDeps(new FakeSql())).run(h.ctx, rewrite)).rejects.toThrow(
      /\/etc\/nova\/nova.conf has no URL in \[api_database\] connection/,
    );
    expect(neu.fileText("/etc/nova/nova.conf")).toBe("[DEFAULT]\n");
  });
});

const NEW_SETTINGS =
  'import os\nOPENSTACK_HOST = "127.0.0.1"\nALLOWED_HOSTS = ["localhost"]\nOPENSTACK_KEYSTONE_DEFAULT_ROLE = "_member_"\n# end\n';
const OLD_SETTINGS =
  "OPENSTACK_HOST = '198.51.100.4'\nALLOWED_HOSTS = ['*', 'dash.example']\nTIME_ZONE = \"UTC\"\n";

describe("config.horizon", () => {
  const params = {
    file: "/etc/openstack-dashboard/local_settings.py",
    oldFile: "/etc/openstack-dashboard/local_settings.py",
    carryOver: ["OPENSTACK_HOST", "ALLOWED_HOSTS", "TIME_ZONE", "WEBROOT"],
    set: { OPENSTACK_KEYSTONE_DEFAULT_ROLE: "member" },
  };
  function setup() {
    const old = new FakeHost("old", { unmatched: "throw" });
    old.setFile(params.oldFile, OLD_SETTINGS);
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.setFile(params.file, NEW_SETTINGS, { mode: 0o640, gid: 33 });
    neu.on(["mkdir", "-p", "-m", "0700", "--", /.*/], ({ argv, host }) => {
      host.addDir(argv[5]!);
      return {};
    });
    return { old, neu };
  }

  it("edits the NEW file in place with old's values and the role; undo restores it", async () => {
    const { old, neu } = setup();
    const h = makeCtx({ old, new: neu });
    const step = configHorizonStep(makeDeps(new FakeSql()));
    const undo = (await step.run(h.ctx, params)) ?? {};
    expect(neu.fileText(params.file)).toBe(
      "import os\nOPENSTACK_HOST = '198.51.100.4'\nALLOWED_HOSTS = ['*', 'dash.example']\nOPENSTACK_KEYSTONE_DEFAULT_ROLE = \"member\"\n# end\nTIME_ZONE = \"UTC\"\n",
    );
    expect(
      h.events.some((e) => e.type === "log" && e.level === "warn" && e.message.includes("WEBROOT")),
    ).toBe(true);
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    await step.undo!(h.ctx, params, undo);
    expect(neu.fileText(params.file)).toBe(NEW_SETTINGS);
    expect(neu.getFile(params.file)).toMatchObject({ mode: 0o640, gid: 33 });
  });

  it("verify notices a setting that is not as planned", async () => {
    const { old, neu } = setup();
    const h = makeCtx({ old, new: neu });
    expect(await configHorizonStep(makeDeps(new FakeSql())).verify(h.ctx, params)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        /OPENSTACK_HOST, ALLOWED_HOSTS, TIME_ZONE, OPENSTACK_KEYSTONE_DEFAULT_ROLE/,
      ),
    });
  });
});

describe("config.edit", () => {
  const params = {
    file: "/etc/nova/nova.conf",
    remove: [
      { section: "upgrade_levels", key: "compute" },
      { section: "workarounds", key: "disable_compute_service_check_for_ffu" },
    ],
    requireComputesAtLeast: "zed",
  };
  const CONF =
    "[DEFAULT]\ndebug = False\n\n[upgrade_levels]\ncompute = auto\n\n[workarounds]\ndisable_compute_service_check_for_ffu = True\n";
  function setup(versions: number[]) {
    const neu = new FakeHost("new", { unmatched: "throw" });
    neu.setFile(params.file, CONF);
    neu.on(["mkdir", "-p", "-m", "0700", "--", /.*/], ({ argv, host }) => {
      host.addDir(argv[5]!);
      return {};
    });
    const sql = new FakeSql().on(
      /FROM nova\.services/,
      versions.map((v, i) => ({ host: `compute${i + 1}`, version: v })),
      { host: "new" },
    );
    return { neu, sql };
  }

  it("refuses while a compute is older than the target, naming it, and changes nothing", async () => {
    const { neu, sql } = setup([64, 52]);
    const h = makeCtx({ new: neu });
    await expect(configEditStep(makeDeps(sql)).run(h.ctx, params)).rejects.toThrow(
      /compute2 \(version 52, victoria\)/,
    );
    expect(neu.fileText(params.file)).toBe(CONF);
  });

  it("removes the keys once every compute runs the target; undo restores them", async () => {
    const { neu, sql } = setup([64, 66]);
    const h = makeCtx({ new: neu });
    const step = configEditStep(makeDeps(sql));
    const undo = (await step.run(h.ctx, params)) ?? {};
    expect(neu.fileText(params.file)).toBe("[DEFAULT]\ndebug = False\n\n[upgrade_levels]\n\n[workarounds]\n");
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    await step.undo!(h.ctx, params, undo);
    expect(neu.fileText(params.file)).toBe(CONF);
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: false });
  });
});
