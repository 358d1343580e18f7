/** `handover validate` and `handover schema` run in-process through runCli with a recording CliIo. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { answersJsonSchema } from "../../../src/answers/schema.js";
import type { CliIo } from "../../../src/cli/io.js";
import { runCli } from "../../../src/cli/run-cli.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const minimal = readFileSync(`${root}test/fixtures/answers/valid/minimal.yaml`, "utf8");

function recordingIo(env: Record<string, string> = {}, cwd = root): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, env, cwd, isTTY: false, stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
}

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempAnswers(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "handover-answers-"));
  temps.push(dir);
  writeFileSync(join(dir, "answers.yaml"), text);
  return dir;
}

describe("handover validate", () => {
  it("prints a summary and exits 0 for the example (secrets not read)", async () => {
    const io = recordingIo();
    const code = await runCli(["validate", "--no-secrets", "-f", "templates/answers.example.yaml"], io);
    expect(io.err).toEqual([]);
    expect(code).toBe(0);
    const out = io.out.join("\n");
    expect(out).toContain("templates/answers.example.yaml is valid");
    expect(out).toMatch(/releases +victoria → zed/);
    expect(out).toMatch(/services +keystone, glance, placement, nova, neutron, cinder, horizon/);
    expect(out).toMatch(/networks +mgmt 198\.51\.100\.4 in 198\.51\.100\.0\/24 \(eth0 → eth0\); storage/);
    expect(out).toMatch(/warnings +none/);
  });

  it("reads secrets from the injected environment and files next to the answer file, warning on loose modes", async () => {
    const dir = tempAnswers(minimal.replace("{ file: /root/new-mysql.pass }", "{ file: new.pass }"));
    writeFileSync(join(dir, "new.pass"), "pw\n");
    chmodSync(join(dir, "new.pass"), 0o644);
    const io = recordingIo({ OLD_MYSQL_PW: "old" }, dir);
    const code = await runCli(["validate", "-f", "answers.yaml"], io);
    expect(code).toBe(0);
    const out = io.out.join("\n");
    expect(out).toMatch(/warnings +1/);
    expect(out).toContain(
      `answers.yaml:23:17 controllers.new.mysql.password: warning: secret file ${join(dir, "new.pass")} is accessible by group or others (mode 0644)`,
    );
    expect(out).not.toContain("old\n");
  });

  it("reports a secret that cannot be read here as a warning, not a failure", async () => {
    const io = recordingIo({});
    const code = await runCli(["validate", "-f", "test/fixtures/answers/valid/minimal.yaml"], io);
    expect(code).toBe(0);
    expect(io.out.join("\n")).toContain(
      "controllers.old.mysql.password: warning: environment variable OLD_MYSQL_PW is not set here",
    );
  });

  it("prints every error with file:line:col and exits 1", async () => {
    const dir = tempAnswers(
      minimal
        .replace("port: 22", "port: twenty-two")
        .replace("address: 198.51.100.10", "address: 198.51.100.4")
        .replace("  freeze: stop-apis", "  freeze: stop-apis\n  colour: blue"),
    );
    const io = recordingIo({}, dir);
    const code = await runCli(["validate", "-f", "answers.yaml"], io);
    expect(code).toBe(1);
    expect(io.out).toEqual([]);
    expect(io.err.join("\n").split("\n")).toEqual([
      'answers.yaml:9:13 controllers.old.ssh.port: expected an integer 1-65535, got "twenty-two"',
      'answers.yaml:30:18 computes.hosts[0].ssh.address: 198.51.100.4 is a moved address (network "mgmt", networks[0].address): it belongs to the controller, not to a compute host',
      'answers.yaml:54:3 options.colour: unknown field "colour"; expected one of: concurrency, freeze, switch, credentials',
      "answers.yaml: 3 errors, 0 warnings",
      "(checks that need an invalid field run once it is fixed)",
    ]);
  });

  it("says so when the file does not exist", async () => {
    const io = recordingIo();
    expect(await runCli(["validate", "-f", "no/such/answers.yaml"], io)).toBe(1);
    expect(io.err.join("\n")).toMatch(
      /^error \[ANSWERS_UNREADABLE\]: cannot read answer file .*no\/such\/answers\.yaml: no such file/,
    );
  });

  it("needs -f (usage error, exit 2)", async () => {
    const io = recordingIo();
    expect(await runCli(["validate"], io)).toBe(2);
    expect(io.err.join("")).toContain("required option '-f, --file <path>' not specified");
  });
});

describe("handover schema", () => {
  it("prints the JSON Schema", async () => {
    const io = recordingIo();
    expect(await runCli(["schema"], io)).toBe(0);
    expect(JSON.parse(io.out.join(""))).toEqual(answersJsonSchema());
  });
});
