import { describe, expect, it } from "vitest";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { provisionSteps } from "../../../../src/steps/provision/index.js";
import { sourceContent } from "../../../../src/steps/provision/source.js";
import { maintainerScriptOutput } from "../../../../src/steps/provision/install.js";
import type { JsonObject, StepImpl } from "../../../../src/engine/step.js";
import { UserError } from "../../../../src/lib/errors.js";
import { FakeSql, allArgv, makeCtx, makeDeps } from "../support/harness.js";

function impl(kind: string, deps = makeDeps(new FakeSql())): StepImpl {
  return provisionSteps(deps).find((x) => x.kind === kind)!;
}

describe("pkg.source", () => {
  const p = {
    family: "debian",
    file: "/etc/apt/sources.list.d/handover.list",
    lines: ["deb http://198.51.100.254/debian bookworm main"],
    trusted: true,
  };

  it("writes the list ([trusted=yes]), refreshes apt, undo restores the previous file", async () => {
    const neu = new FakeHost("new", { unmatched: "throw" }).setFile(p.file, "deb old\n");
    neu.on(["apt-get", "update"], { stdout: "Hit:1 http://198.51.100.254/debian bookworm InRelease\n" });
    const h = makeCtx({ new: neu });
    const step = impl("pkg.source");
    const undo = (await step.run(h.ctx, p)) as JsonObject;
    expect(neu.fileText(p.file)).toBe(
      "# Written by handover: the target release's packages.\ndeb [trusted=yes] http://198.51.100.254/debian bookworm main\n",
    );
    expect(neu.calls.find((c) => c.kind === "exec")).toMatchObject({
      options: { env: { DEBIAN_FRONTEND: "noninteractive" } },
    });
    expect(await step.verify(h.ctx, p)).toMatchObject({ ok: true });
    await step.undo!(h.ctx, p, undo);
    expect(neu.fileText(p.file)).toBe("deb old\n");
  });

  it("apt-get update reporting a fetch error fails even with exit 0", async () => {
    const neu = new FakeHost("new").addDir("/etc/apt/sources.list.d").on(["apt-get", "update"], {
      stdout: "Err:1 http://198.51.100.254/debian bookworm InRelease\n  Could not connect\n",
    });
    const e = (await impl("pkg.source")
      .run(makeCtx({ new: neu }).ctx, p)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("PKG_SOURCE");
  });

  it("leaves lines with options alone", () => {
    expect(sourceContent("debian", ["deb [arch=amd64] http://x y main"], true)).toContain(
      "deb [arch=amd64] http://x y main",
    );
  });
});

describe("pkg.prevent-start / pkg.allow-start", () => {
  it("policy-rc.d written 0755 and removed again; each undo restores the state before it", async () => {
    const neu = new FakeHost("new");
    neu.addDir("/usr/sbin");
    const h = makeCtx({ new: neu });
    const prevent = impl("pkg.prevent-start");
    const pp = { file: "/usr/sbin/policy-rc.d", content: "#!/bin/sh\nexit 101\n", mode: "0755" };
    const u1 = (await prevent.run(h.ctx, pp)) as JsonObject;
    expect(neu.getFile(pp.file)).toMatchObject({ mode: 0o755 });
    expect(await prevent.verify(h.ctx, pp)).toMatchObject({ ok: true });
    const allow = impl("pkg.allow-start");
    const u2 = (await allow.run(h.ctx, { file: pp.file })) as JsonObject;
    expect(neu.getFile(pp.file)).toBeUndefined();
    expect(await allow.verify(h.ctx, { file: pp.file })).toMatchObject({ ok: true });
    await allow.undo!(h.ctx, { file: pp.file }, u2);
    expect(neu.fileText(pp.file)).toBe(pp.content);
    await prevent.undo!(h.ctx, pp, u1);
    expect(neu.getFile(pp.file)).toBeUndefined();
  });
});

describe("pkg.install", () => {
  const p = {
    family: "debian",
    packages: ["mariadb-server", "nova-api", "rsync"],
    debconf: ["nova-common nova/configure_db boolean false"],
  };

  function host(installed: string[]) {
    const neu = new FakeHost("new", { unmatched: "throw" });
    const have = new Set(installed);
    neu.on(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\\n", REST], ({ argv }) => ({
      stdout: argv
        .slice(3)
        .filter((x) => have.has(x))
        .map((x) => `${x} ii \n`)
        .join(""),
      exitCode: argv.slice(3).every((x) => have.has(x)) ? 0 : 1,
    }));
    neu.on(["debconf-set-selections"], {});
    // dpkg --configure -a (finishing what a killed run left) succeeds with nothing to do.
    neu.on(["dpkg", "--force-confdef", "--force-confold", "--configure", "-a"], {});
    neu.on(["apt-get", "install", REST], ({ argv }) => {
      for (const x of argv.slice(10)) have.add(x);
      return {};
    });
    neu.on(["apt-get", "purge", "-y", REST], ({ argv }) => {
      for (const x of argv.slice(3)) have.delete(x);
      return {};
    });
    return { neu, have };
  }

  it("checkpoints what is missing BEFORE installing, preseeds debconf, installs noninteractively; undo purges exactly those", async () => {
    const { neu, have } = host(["rsync"]);
    const h = makeCtx({ new: neu });
    const step = impl("pkg.install");
    const undo = (await step.run(h.ctx, p)) as JsonObject;
    expect(h.checkpoints).toEqual([{ newlyInstalled: ["mariadb-server", "nova-api"] }]);
    const dc = neu.calls.find((c) => c.kind === "exec" && c.argv[0] === "debconf-set-selections");
    expect(dc && "stdin" in dc ? dc.stdin.toString() : "").toBe(
      "nova-common nova/configure_db boolean false\n",
    );
    const inst = neu.calls.find((c) => c.kind === "exec" && c.argv[1] === "install")!;
    expect(inst).toMatchObject({ options: { env: { DEBIAN_FRONTEND: "noninteractive" } } });
    expect("argv" in inst ? inst.argv.slice(-2) : []).toEqual(["mariadb-server", "nova-api"]);
    expect(await step.verify(h.ctx, p)).toMatchObject({ ok: true });
    await step.undo!(h.ctx, p, undo);
    expect([...have]).toEqual(["rsync"]);
  });

  it("finishes an interrupted dpkg and waits for apt's lock (a killed run leaves apt-get running on new)", async () => {
    const { neu } = host([]);
    await impl("pkg.install").run(makeCtx({ new: neu }).ctx, p);
    const lines = neu.commandLines();
    const fix = lines.findIndex((l) => l.includes("--configure -a"));
    const inst = lines.findIndex((l) => l.startsWith("apt-get install"));
    expect(fix).toBeGreaterThanOrEqual(0);
    expect(fix).toBeLessThan(inst);
    expect(lines[inst]).toMatch(/-o DPkg::Lock::Timeout=\d+/);
  });

  it("a second run installs nothing; a redo keeps the first attempt's list", async () => {
    const { neu } = host(["rsync", "mariadb-server", "nova-api"]);
    const h = makeCtx({ new: neu }, { newlyInstalled: ["nova-api"] });
    const undo = await impl("pkg.install").run(h.ctx, p);
    expect(undo).toEqual({ newlyInstalled: ["nova-api"] });
    expect(neu.commandLines().some((l) => l.startsWith("apt-get install"))).toBe(false);
  });

  it("an apt failure is a UserError with apt's words", async () => {
    const { neu } = host([]);
    neu.on(["apt-get", "install", REST], { exitCode: 100, stderr: "E: Unable to locate package nova-api\n" });
    const e = (await impl("pkg.install")
      .run(makeCtx({ new: neu }).ctx, p)
      .catch((x: unknown) => x)) as UserError;
    expect(e.code).toBe("PKG_INSTALL");
    expect(e.message).toContain("Unable to locate package nova-api");
  });

  it("refuses a package name that looks like an option", async () => {
    await expect(
      impl("pkg.install").run(makeCtx({ new: new FakeHost("new") }).ctx, { ...p, packages: ["-o=x"] }),
    ).rejects.toThrow(UserError);
  });
});

describe("amqp.user", () => {
  const p = { credentials: "keep", fromConfig: "/etc/nova/nova.conf", secretFile: "/s/amqp" };

  function rabbit(users: Record<string, string>, vhosts: string[]) {
    const neu = new FakeHost("new", { unmatched: "throw" });
    const perms = new Map<string, string>();
    neu.on(["rabbitmqctl", "-q", "list_users", "--no-table-headers"], () => ({
      stdout: Object.keys(users)
        .map((u) => `${u}\t[]\n`)
        .join(""),
    }));
    neu.on(["rabbitmqctl", "-q", "list_vhosts", "--no-table-headers"], () => ({
      stdout: vhosts.map((v) => `${v}\n`).join(""),
    }));
    neu.on(["rabbitmqctl", "add_vhost", REST], ({ argv }) => (vhosts.push(argv[2]!), {}));
    neu.on(
      ["rabbitmqctl", "add_user", REST],
      ({ argv, stdin }) => ((users[argv[2]!] = stdin.toString().trim()), {}),
    );
    neu.on(
      ["rabbitmqctl", "change_password", REST],
      ({ argv, stdin }) => ((users[argv[2]!] = stdin.toString().trim()), {}),
    );
    neu.on(["rabbitmqctl", "authenticate_user", REST], ({ argv, stdin }) => ({
      exitCode: users[argv[2]!] === stdin.toString().trim() ? 0 : 65,
    }));
    neu.on(["rabbitmqctl", "set_permissions", REST], ({ argv }) => (perms.set(argv[4]!, argv[3]!), {}));
    neu.on(["rabbitmqctl", "-q", "list_user_permissions", "--no-table-headers", REST], ({ argv }) => ({
      stdout: perms.has(argv[4]!) ? `${perms.get(argv[4]!)}\t.*\t.*\t.*\n` : "",
    }));
    neu.on(["rabbitmqctl", "delete_user", REST], ({ argv }) => (delete users[argv[2]!], {}));
    return { neu, users, vhosts };
  }

  const old = () =>
    new FakeHost("old").setFile(
      "/etc/nova/nova.conf",
      "[DEFAULT]\ntransport_url = rabbit://openstack:R%40bbit@198.51.100.4:5672/\n",
    );

  it("creates the old transport_url's user with the password on stdin only, sets permissions; verify logs in", async () => {
    const { neu, users } = rabbit({ guest: "guest" }, ["/"]);
    const h = makeCtx({ old: old(), new: neu });
    const step = impl("amqp.user");
    const undo = (await step.run(h.ctx, p)) as JsonObject;
    expect(users.openstack).toBe("R@bbit");
    expect(allArgv(neu)).not.toContain("R@bbit");
    expect(neu.commandLines()).toContain("rabbitmqctl set_permissions -p / openstack .* .* .*");
    expect(undo).toMatchObject({ user: "openstack", vhost: "/", createdUser: true, createdVhost: false });
    expect(await step.verify(h.ctx, p)).toMatchObject({ ok: true });
    // Second run: nothing created, password unchanged.
    const again = await step.run(makeCtx({ old: old(), new: neu }).ctx, p);
    expect(again).toMatchObject({ createdUser: false });
    expect(neu.commandLines().filter((l) => l.startsWith("rabbitmqctl add_user"))).toHaveLength(1);
    expect(neu.commandLines().some((l) => l.startsWith("rabbitmqctl change_password"))).toBe(false);
    await step.undo!(h.ctx, p, undo);
    expect(users.openstack).toBeUndefined();
  });

  it("an existing user with another password gets the old one (change_password on stdin)", async () => {
    const { neu, users } = rabbit({ openstack: "x" }, ["/"]);
    await impl("amqp.user").run(makeCtx({ old: old(), new: neu }).ctx, p);
    expect(users.openstack).toBe("R@bbit");
  });
});

describe("maintainerScriptOutput", () => {
  it("keeps what a failed package's postinst printed, not only apt's closing summary", () => {
    const stdout = [
      "Setting up apache2 (2.4.57-2) ...",
      "Enabling module mpm_event.",
      "Setting up openstack-dashboard (3:23.0.0-3) ...",
      "Collecting static files...",
      "AH00526: Syntax error on line 32 of /etc/apache2/sites-enabled/default-ssl.conf:",
      "Invalid command 'SSLEngine'",
      "Setting up python3-foo (1.0) ...",
      "Errors were encountered while processing:",
      " openstack-dashboard",
    ].join("\n");
    const stderr =
      "dpkg: error processing package openstack-dashboard (--configure):\n installed openstack-dashboard package post-installation script subprocess returned error exit status 1\n";
    const out = maintainerScriptOutput(stdout, stderr);
    expect(out).toContain("Invalid command 'SSLEngine'");
    expect(out).toContain("Setting up openstack-dashboard");
    expect(out).not.toContain("mpm_event");
    expect(out).not.toContain("python3-foo");
  });

  it("is empty when dpkg names no failed package", () => {
    expect(maintainerScriptOutput("Setting up a (1) ...\n", "E: Unable to locate package zz\n")).toBe("");
  });
});
