import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { apiCheckStep } from "../../../../src/steps/api/check.js";
import { parseCloudsYaml, parseOpenrc } from "../../../../src/steps/api/admin-credentials.js";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { FakeSql, allArgv, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";

const OPENRC =
  "export OS_USERNAME=admin\nexport OS_PASSWORD='Adm1n-pw'\nexport OS_PROJECT_NAME=admin\nexport OS_AUTH_URL=http://198.51.100.4:5000/v3\n";

function setup(opts: { fail?: boolean } = {}) {
  const old = new FakeHost("old", { unmatched: "throw" });
  old.setFile("/root/openrc", OPENRC, { mode: 0o600 });
  const neu = new FakeHost("new", { unmatched: "throw" });
  const tmp = scriptTempDirs(neu);
  const seen: { argv: string[]; clouds: Record<string, unknown>; mode: number | undefined }[] = [];
  neu.on(["openstack", "--os-cloud", "handover", REST], ({ argv, options, host }) => {
    const file = options.env?.OS_CLIENT_CONFIG_FILE ?? "";
    seen.push({
      argv: [...argv],
      clouds: parse(host.fileText(file) ?? "{}") as Record<string, unknown>,
      mode: host.getFile(file)?.mode,
    });
    if (opts.fail)
      return {
        exitCode: 1,
        stderr: "The request you have made requires authentication (password Adm1n-pw rejected). (HTTP 401)",
      };
    return { stdout: "id-1\nid-2\n" };
  });
  // python3 -c <script> URL: the script prints the final HTTP status.
  neu.on(["python3", "-c", REST], { stdout: "200\n" });
  return { old, neu, tmp, seen, deps: makeDeps(new FakeSql()) };
}

describe("api.check", () => {
  it("runs the CLI on new against the staging address via a 0600 clouds.yaml (no secret in argv), removed afterwards", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const res = await apiCheckStep(s.deps).run(h.ctx, { service: "keystone", address: "198.51.100.5" });
    expect(s.seen.map((x) => x.argv.slice(3, 5))).toEqual([
      ["token", "issue"],
      ["endpoint", "list"],
    ]);
    const cloud = (s.seen[0]!.clouds.clouds as Record<string, Record<string, unknown>>).handover!;
    expect(cloud).toMatchObject({
      auth: {
        auth_url: "http://198.51.100.5:5000/v3",
        username: "admin",
        password: "Adm1n-pw",
        project_name: "admin",
      },
      identity_endpoint_override: "http://198.51.100.5:5000/v3",
      image_endpoint_override: "http://198.51.100.5:9292",
    });
    expect(s.seen[0]!.mode).toBe(0o600);
    expect(allArgv(s.neu)).not.toContain("Adm1n-pw");
    expect(s.tmp.removed).toEqual(s.tmp.made);
    expect(s.neu.listFiles().filter((f) => f.includes("clouds.yaml"))).toEqual([]);
    expect(res).toMatchObject({
      detail: "keystone on new (198.51.100.5): token issue: 2 line(s); endpoint list: 2 line(s)",
    });
    expect(h.checkpoints).toEqual([{ tempDir: s.tmp.made[0] }]);
  });

  it("a failing call stops the step with the CLI's words, the password redacted, the temp dir removed", async () => {
    const s = setup({ fail: true });
    const h = makeCtx({ old: s.old, new: s.neu });
    const err = await apiCheckStep(s.deps)
      .run(h.ctx, { service: "glance", address: "198.51.100.5" })
      .then(
        () => "resolved",
        (e: unknown) => (e instanceof Error ? e.message : "not an Error"),
      );
    expect(err).toMatch(/openstack --os-cloud handover image list .* exited with 1: .*HTTP 401/);
    expect(err).not.toContain("Adm1n-pw");
    expect(s.tmp.removed).toEqual(s.tmp.made);
    expect(
      await apiCheckStep(s.deps).verify(h.ctx, { service: "glance", address: "198.51.100.5" }),
    ).toMatchObject({ ok: false });
  });

  it("placement and horizon are asked over HTTP", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    await apiCheckStep(s.deps).run(h.ctx, { service: "placement", address: "198.51.100.5" });
    expect(s.neu.commands().at(-1)?.at(-1)).toBe("http://198.51.100.5:8778/");
    s.neu.on(["python3", "-c", REST], { stdout: "503\n" });
    await expect(
      apiCheckStep(s.deps).run(h.ctx, { service: "horizon", address: "198.51.100.5" }),
    ).rejects.toThrow(/gave HTTP 503/);
    s.neu.on(["python3", "-c", REST], { exitCode: 2, stderr: "Connection refused\n" });
    await expect(
      apiCheckStep(s.deps).run(h.ctx, { service: "placement", address: "198.51.100.5" }),
    ).rejects.toThrow(/no answer: Connection refused/);
  });

  it("target old asks the address of old's OS_AUTH_URL, still from new", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const res = await apiCheckStep(s.deps).run(h.ctx, { service: "keystone", target: "old" });
    const cloud = (s.seen[0]!.clouds.clouds as Record<string, Record<string, unknown>>).handover!;
    expect(cloud).toMatchObject({ auth: { auth_url: "http://198.51.100.4:5000/v3" } });
    expect(res).toMatchObject({ detail: expect.stringMatching(/^keystone on old \(198\.51\.100\.4\)/) });
    expect(s.old.commands().filter((c) => c[0] !== "stat")).toEqual([]);
    await apiCheckStep(s.deps).run(h.ctx, { service: "placement", target: "old" });
    expect(s.neu.commands().at(-1)?.at(-1)).toBe("http://198.51.100.4:8778/");
  });
});

describe("api.check glance download", () => {
  function glanceHost(saved: string) {
    const s = setup();
    s.neu.on(["openstack", "--os-cloud", "handover", "image", "list", "--long", REST], {
      stdout: "aaaaaaaa-1111 5000 active\nbbbbbbbb-2222 12 active\ncccccccc-3333 1 queued\n",
    });
    s.neu.on(
      [
        "openstack",
        "--os-cloud",
        "handover",
        "image",
        "show",
        "-f",
        "value",
        "-c",
        "checksum",
        "bbbbbbbb-2222",
      ],
      {
        stdout: `${createHash("md5").update("twelve bytes").digest("hex")}\n`,
      },
    );
    s.neu.on(
      ["openstack", "--os-cloud", "handover", "image", "save", "--file", /.*\/image/, "bbbbbbbb-2222"],
      ({ argv, host }) => {
        host.setFile(argv[6]!, saved);
        return {};
      },
    );
    s.neu.on(["md5sum", "--", /.*/], ({ argv, host }) => ({
      stdout: `${createHash("md5")
        .update(host.getFile(argv[2]!)?.data ?? "")
        .digest("hex")}  ${argv[2]!}\n`,
    }));
    return s;
  }

  it("downloads the smallest active image through the API and compares glance's md5", async () => {
    const s = glanceHost("twelve bytes");
    const h = makeCtx({ old: s.old, new: s.neu });
    const res = await apiCheckStep(s.deps).run(h.ctx, { service: "glance", address: "198.51.100.5" });
    expect(res).toMatchObject({
      detail: expect.stringContaining("image bbbbbbbb-2222 (12 bytes) downloaded, md5 matches"),
    });
    expect(s.neu.listFiles().filter((f) => f.startsWith("/tmp/handover-"))).toEqual([]);
  });

  it("a download that differs from glance's checksum fails naming the image", async () => {
    const s = glanceHost("twelve bytez");
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(
      apiCheckStep(s.deps).run(h.ctx, { service: "glance", address: "198.51.100.5" }),
    ).rejects.toThrow(/image bbbbbbbb-2222 downloaded from new has md5 [0-9a-f]{32}, glance recorded/);
  });
});

describe("admin credentials", () => {
  it("reads openrc (quoted values, no expansion) and clouds.yaml (admin cloud first)", () => {
    expect(parseOpenrc(OPENRC)).toMatchObject({
      username: "admin",
      password: "Adm1n-pw",
      projectName: "admin",
      userDomainName: "Default",
    });
    expect(parseOpenrc("export OS_USERNAME=admin\n")).toBeUndefined();
    const yaml =
      "clouds:\n  demo:\n    auth: {username: demo, password: d}\n  admin:\n    auth: {username: admin, password: a, project_name: adm}\n    region_name: R1\n";
    expect(parseCloudsYaml(yaml)).toMatchObject({
      username: "admin",
      password: "a",
      projectName: "adm",
      regionName: "R1",
    });
  });
});
