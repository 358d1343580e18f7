/**
 * `handover wizard` as a command, in-process: refused without a terminal (exit 2, pointing at -f), `handover`
 * alone without a terminal says the same; on a "terminal" (io.isTTY with FakeAsk/FakeProbe) it writes the
 * answer file in a temp dir that the project's loader accepts, shows the plan through the plan dep, and runs only
 * on yes. Plan and run are recorded fakes here (their own tests cover them).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAnswers } from "../../../src/answers/index.js";
import type { CliIo } from "../../../src/cli/io.js";
import { runCli } from "../../../src/cli/run-cli.js";
import { realWizardFiles, wizardCommand, type WizardCommandDeps } from "../../../src/cli/commands/wizard.js";
import { DEFAULT, FakeAsk, type Scripted } from "./fake-ask.js";
import { FakeProbe } from "./fake-probe.js";

function capture(isTTY: boolean, cwd: string, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: { HOME: cwd, ...env },
    cwd,
    isTTY,
  };
  return { io, out, err };
}

describe("handover wizard command", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "handover-wizard-cmd-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses without a terminal, exit 2, naming handover run -f", async () => {
    const c = capture(false, dir);
    const code = await runCli(["wizard"], c.io);
    expect(code).toBe(2);
    const text = c.err.join("\n");
    expect(text).toContain("error [WIZARD_NEEDS_TERMINAL]");
    expect(text).toContain("handover run -f answers.yaml");
  });

  it("`handover` alone without a terminal prints the help and where to go (exit 2)", async () => {
    const c = capture(false, dir);
    const code = await runCli([], c.io);
    expect(code).toBe(2);
    expect(c.err.join("\n")).toContain("use an answer file: handover run -f answers.yaml");
    expect(c.err.join("\n")).toContain("Usage: handover");
  });

  function deps(script: Record<string, Scripted | Scripted[]>) {
    const key = join(dir, "id_ed25519");
    writeFileSync(key, "not really a key");
    writeFileSync(join(dir, "old.pass"), "old-pw\n", { mode: 0o600 });
    const ask = new FakeAsk({
      "controllers.old.ssh.address": "198.51.100.3",
      "controllers.old.ssh.key_file": key,
      "controllers.old.ssh.trust_host_key": true,
      "controllers.old.mysql.password.file": join(dir, "old.pass"),
      target_release: "zed",
      "controllers.new.ssh.address": "198.51.100.5",
      "controllers.new.ssh.trust_host_key": true,
      "controllers.new.mysql.password.kind": "env",
      "computes.mode": "discover",
      "networks[0].address": "198.51.100.4",
      "networks[0].cidr": "198.51.100.0/24",
      "networks[0].old_interface": "eth0",
      "networks.add": false,
      "iscsi.present": false,
      "packages.source": "deb http://198.51.100.254:8080/ bookworm-zed main",
      state_dir: join(dir, "state"),
      ...script,
    });
    const machine = (k: string, mysql: boolean) => ({
      key: k,
      accepts: [`root ${key}`],
      found: { hostname: k, release: "victoria", services: ["nova" as const], interfaces: [], notes: [] },
      ...(mysql
        ? {
            logins: { root: k === "OLD" ? "old-pw" : "new-pw" },
            mysql: { version: "10", databases: ["nova"], computes: [], notes: [] },
          }
        : {}),
    });
    const probe = new FakeProbe({
      "198.51.100.3:22": machine("OLD", true),
      "198.51.100.5:22": machine("NEW", true),
    });
    const calls: string[] = [];
    const d: WizardCommandDeps = {
      ask: () => ask,
      probe: () => probe,
      files: realWizardFiles,
      plan: (file, io) => {
        calls.push(`plan ${file}`);
        io.stdout("(the plan)");
        return Promise.resolve(0);
      },
      run: (file) => {
        calls.push(`run ${file}`);
        return Promise.resolve(0);
      },
      now: () => new Date("2026-11-22T05:00:00Z"),
    };
    return { d, ask, calls };
  }

  it("writes a loadable, commented answer file, shows the plan, and does not run on no", async () => {
    const c = capture(true, dir, { NEW_MYSQL_PASSWORD: "new-pw" });
    const { d, calls, ask } = deps({ run_now: false });
    const code = await wizardCommand({ file: "answers.yaml" }, c.io, d);
    expect(code).toBe(0);
    const file = join(dir, "answers.yaml");
    const loaded = await loadAnswers(file);
    expect(loaded.answers.controllers.old.ssh.address).toBe("198.51.100.3");
    expect(loaded.answers.services).toEqual(["nova"]);
    expect(readFileSync(file, "utf8")).toMatch(
      /^# handover answer file, written by `handover wizard` 2026-11-22T05:00:00Z/,
    );
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(calls).toEqual(["plan answers.yaml"]);
    expect(ask.asked.at(-1)).toMatchObject({ id: "run_now", default: false });
    expect(c.out.join("\n")).toContain("When you are ready, run:\n  handover run -f answers.yaml");
  });

  it("runs the run command's path on yes; a second session offers the first file's values and keeps a .bak", async () => {
    const c = capture(true, dir, { NEW_MYSQL_PASSWORD: "new-pw" });
    const first = deps({ run_now: true });
    expect(await wizardCommand({ file: "answers.yaml" }, c.io, first.d)).toBe(0);
    expect(first.calls).toEqual(["plan answers.yaml", "run answers.yaml"]);

    const again = deps({
      "controllers.old.ssh.address": DEFAULT,
      "controllers.old.ssh.key_file": DEFAULT,
      "controllers.old.mysql.password.file": DEFAULT,
      target_release: DEFAULT,
      "controllers.new.ssh.address": DEFAULT,
      "networks[0].address": DEFAULT,
      "networks[0].cidr": DEFAULT,
      "networks[0].old_interface": DEFAULT,
      "packages.source": DEFAULT,
      state_dir: DEFAULT,
      run_now: false,
    });
    const before = readFileSync(join(dir, "answers.yaml"), "utf8");
    expect(await wizardCommand({ file: "answers.yaml" }, c.io, again.d)).toBe(0);
    expect(again.ask.defaultsOf("controllers.old.ssh.address")).toEqual(["198.51.100.3"]);
    expect(again.ask.defaultsOf("packages.source")).toEqual([
      "deb http://198.51.100.254:8080/ bookworm-zed main",
    ]);
    expect(readFileSync(join(dir, "answers.yaml.bak"), "utf8")).toBe(before);
    expect((await loadAnswers(join(dir, "answers.yaml"))).answers).toEqual(
      (await loadAnswers(join(dir, "answers.yaml.bak"))).answers,
    );
  });
});
