import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../../src/answers/diagnostics.js";
import { parseAnswers, parseAnswersFile, type ParseResult } from "../../../src/answers/load.js";
import { SERVICES } from "../../../src/answers/schema.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const minimal = readFileSync(`${root}test/fixtures/answers/valid/minimal.yaml`, "utf8");

function ok(result: ParseResult) {
  if (!result.ok) throw new Error(`expected valid, got:\n${result.errors.map(formatDiagnostic).join("\n")}`);
  return result.loaded;
}

function errorsOf(result: ParseResult): string[] {
  if (result.ok) throw new Error("expected errors, the file was accepted");
  return result.errors.map(formatDiagnostic);
}

describe("valid answer files", () => {
  it("accepts the commented example in templates/ without warnings", async () => {
    const loaded = ok(
      await parseAnswersFile(`${root}templates/answers.example.yaml`, { displayName: "example" }),
    );
    expect(loaded.warnings).toEqual([]);
    expect(loaded.answers.services).toEqual([...SERVICES]);
    expect(loaded.answers.computes.discover).toBe(true);
  });

  it("names the JSON Schema for editors on the example's first line", () => {
    const first = readFileSync(`${root}templates/answers.example.yaml`, "utf8").split("\n")[0];
    expect(first).toBe("# yaml-language-server: $schema=./answers.schema.json");
  });

  it("fills in defaults", () => {
    const a = ok(parseAnswers(minimal, "m.yaml")).answers;
    expect(a.controllers.new.ssh).toMatchObject({ port: 22, user: "root", agent: false, sudo: false });
    expect(a.controllers.new.ssh.host_key_policy).toBe("strict");
    expect(a.controllers.new.mysql).toMatchObject({ port: 3306, host: "127.0.0.1" });
    expect(a.options).toEqual({
      concurrency: 4,
      freeze: "stop-apis",
      switch: "confirm",
      credentials: "keep",
    });
    expect(a.state_dir).toBe("/var/lib/handover");
  });

  it("fills in options when the section is left out", () => {
    const text = minimal.replace(/^options:\n( {2}.*\n)+/m, "");
    expect(text).not.toContain("options:");
    expect(ok(parseAnswers(text, "m.yaml")).answers.options.concurrency).toBe(4);
  });

  it("reads year-numbered releases written as YAML numbers, and code names", () => {
    const a = ok(parseAnswers(minimal.replace("target_release: zed", "target_release: 2023.1"), "m.yaml"));
    expect(a.answers.target_release).toBe("2023.1");
    const b = ok(parseAnswers(minimal.replace("target_release: zed", "target_release: Epoxy"), "m.yaml"));
    expect(b.answers.target_release).toBe("2025.1");
  });

  it("takes the release order as a parameter", () => {
    const order = ["zed", "victoria"]; // a catalog where victoria came later: the same file is now a downgrade
    const errors = errorsOf(parseAnswers(minimal, "m.yaml", { releases: order }));
    expect(errors).toEqual([expect.stringMatching(/^m\.yaml:4:17 target_release: expected a release newer/)]);
  });

  it("accepts IPv6 everywhere and hostnames for SSH", () => {
    const text = minimal
      .replace("address: 198.51.100.3", "address: old-ctl.example.org")
      .replace("address: 198.51.100.5", 'address: "2001:db8::5"')
      .replace("staging_address: 198.51.100.5", 'staging_address: "2001:db8::5"')
      .replace("cidr: 198.18.0.0/24", 'cidr: "2001:db8:18::/64"')
      .replace("address: 198.18.0.4", 'address: "2001:db8:18::4"')
      .replace(/198\.18\.0\.4:3260/g, '"[2001:db8:18::4]:3260"');
    const a = ok(parseAnswers(text, "v6.yaml")).answers;
    expect(a.networks[1]?.address).toBe("2001:db8:18::4");
  });

  it("accepts agent instead of key_file, and discovery with ssh_defaults", () => {
    const text = minimal
      .replace(
        / {6}key_file: \/root\/\.ssh\/id_ed25519\n {6}known_hosts: \/root\/\.ssh\/known_hosts\n {4}mysql:\n {6}user: root\n {6}password: \{ file/,
        "      agent: true\n    mysql:\n      user: root\n      password: { file",
      )
      .replace(
        "  discover: false\n",
        "  discover: true\n  ssh_defaults:\n    agent: true\n    user: stack\n    sudo: true\n",
      );
    const a = ok(parseAnswers(text, "agent.yaml")).answers;
    expect(a.controllers.new.ssh.agent).toBe(true);
    expect(a.controllers.new.ssh.key_file).toBeUndefined();
    expect(a.computes.ssh_defaults).toMatchObject({ agent: true, user: "stack", sudo: true, port: 22 });
  });

  it("allows YAML anchors and merge keys to share SSH settings", () => {
    const text = minimal.replace(
      "      ssh:\n        address: 198.51.100.10\n        key_file: /root/.ssh/id_ed25519\n",
      "      ssh: &compute_ssh\n        address: 198.51.100.10\n        key_file: /root/.ssh/id_ed25519\n" +
        "    - name: compute2\n      ssh:\n        <<: *compute_ssh\n        address: 198.51.100.11\n",
    );
    const a = ok(parseAnswers(text, "anchors.yaml")).answers;
    expect(a.computes.hosts[1]).toMatchObject({
      name: "compute2",
      ssh: { address: "198.51.100.11", key_file: "/root/.ssh/id_ed25519" },
    });
  });

  it("accepts several apt lines and no iscsi section", () => {
    const text = minimal
      .replace(/^iscsi:\n( {2}.*\n)+/m, "")
      .replace(
        '  source: "deb http://198.51.100.254:8080/ bookworm-zed main"',
        "  source: |\n    deb http://198.51.100.254:8080/ bookworm-zed main\n    # a comment line\n    deb [arch=amd64] http://198.51.100.254:8080/ bookworm-updates main",
      );
    const a = ok(parseAnswers(text, "apt.yaml")).answers;
    expect(a.iscsi).toBeUndefined();
    expect(a.packages.source.split("\n").filter((l) => l.startsWith("deb"))).toHaveLength(2);
  });
});

describe("error reporting", () => {
  it("reports every error at once, in file order", () => {
    const text = minimal
      .replace("port: 22", "port: 0")
      .replace("target_release: zed", "target_release: zedd")
      .replace("  concurrency: 4", "  concurrency: 99");
    const errors = errorsOf(parseAnswers(text, "many.yaml"));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^many\.yaml:4:17 target_release: /);
    expect(errors[1]).toMatch(
      /^many\.yaml:9:13 controllers\.old\.ssh\.port: expected an integer 1-65535, got 0$/,
    );
    expect(errors[2]).toMatch(/^many\.yaml:52:16 options\.concurrency: expected an integer 1-32, got 99$/);
  });

  it("reports every semantic error at once", () => {
    const text = minimal
      .replace("address: 198.51.100.3", "address: 198.51.100.4")
      .replace("staging_address: 198.51.100.5", "staging_address: 198.18.0.4");
    const errors = errorsOf(parseAnswers(text, "sem.yaml"));
    expect(errors.map((e) => e.split(" ")[1])).toEqual([
      "controllers.old.ssh.address:",
      "controllers.new.staging_address:",
    ]);
  });

  it("rejects an empty file, pointing at its start", () => {
    expect(errorsOf(parseAnswers("", "empty.yaml"))).toEqual([
      "empty.yaml:1:1 (top level): expected a mapping (key: value lines), got an empty value",
    ]);
  });

  it("rejects a file that is a list", () => {
    expect(errorsOf(parseAnswers("- version: 1\n", "list.yaml"))).toEqual([
      "list.yaml:1:1 (top level): expected a mapping (key: value lines), got a list",
    ]);
  });

  it("does not report a misspelt key also as missing", () => {
    const errors = errorsOf(
      parseAnswers(minimal.replace("staging_address:", "stageing_address:"), "typo.yaml"),
    );
    expect(errors).toEqual([
      'typo.yaml:24:5 controllers.new.stageing_address: unknown field "stageing_address"; did you mean "staging_address"?',
    ]);
  });

  it("points at the empty value rather than the next line for `port:` with nothing after it", () => {
    const errors = errorsOf(parseAnswers(minimal.replace("port: 22", "port:"), "empty-port.yaml"));
    expect(errors).toEqual([
      "empty-port.yaml:9:7 controllers.old.ssh.port: expected an integer 1-65535, got an empty value",
    ]);
  });
});

describe("paths", () => {
  it("expands ~ and defaults known_hosts", async () => {
    const { knownHostsFile, keyFile } = await import("../../../src/answers/paths.js");
    const a = ok(
      parseAnswers(minimal.replace("key_file: /root/.ssh/id_ed25519", "key_file: ~/.ssh/id_rsa"), "p.yaml"),
    ).answers;
    expect(keyFile(a.controllers.old.ssh, "/home/op")).toBe("/home/op/.ssh/id_rsa");
    expect(knownHostsFile(a.controllers.old.ssh, "/home/op")).toBe("/root/.ssh/known_hosts");
    expect(knownHostsFile(a.computes.hosts[0]!.ssh, "/home/op")).toBe("/home/op/.ssh/known_hosts");
  });
});

describe("hostile YAML", () => {
  it("refuses an alias bomb instead of expanding it", () => {
    const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(", ")}]`,
      );
    const result = parseAnswers(`${lines.join("\n")}\n`, "bomb.yaml");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.stage).toBe("yaml");
      expect(result.errors.map(formatDiagnostic)[0]).toMatch(/^bomb\.yaml:1:1 \(top level\): YAML: .*alias/i);
    }
  });
});

describe("schema and cross-field errors together", () => {
  it("checks the valid parts of a file that has schema errors", () => {
    const text = minimal
      .replace("  concurrency: 4", "  concurrency: many")
      .replace("staging_address: 198.51.100.5", "staging_address: 198.51.100.4")
      .replace("target_release: zed", "target_release: train");
    const result = parseAnswers(text, "both.yaml");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.stage).toBe("schema");
    expect(result.errors.map((d) => `${d.line} ${d.path}`)).toEqual([
      "4 target_release",
      "24 controllers.new.staging_address",
      "52 options.concurrency",
    ]);
  });

  it("does not check a part that is itself invalid", () => {
    // The compute's ssh has a bad port, so its (moved) address is not judged until the port is fixed.
    const text = minimal.replace(
      "        address: 198.51.100.10\n",
      "        address: 198.51.100.4\n        port: -1\n",
    );
    const result = parseAnswers(text, "part.yaml");
    expect(result.ok ? [] : result.errors.map((d) => d.path)).toEqual(["computes.hosts[0].ssh.port"]);
  });
});
