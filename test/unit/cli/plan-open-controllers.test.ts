/** Opening the controllers for `plan`: secrets resolved all at once, hosts built from the answers, never contacted. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseAnswers, type LoadedAnswers } from "../../../src/answers/index.js";
import type { CliIo } from "../../../src/cli/io.js";
import { openControllers, resolveSecretsOrFail } from "../../../src/cli/open-controllers.js";

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { loaded: LoadedAnswers; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "handover-open-"));
  temps.push(dir);
  writeFileSync(join(dir, "old.pass"), "old-pw\n", { mode: 0o600 });
  const text = `version: 1
source_release: victoria
target_release: zed
controllers:
  old:
    ssh: { address: 198.51.100.3, key_file: /root/.ssh/id_ed25519 }
    mysql: { password: { file: old.pass } }
  new:
    ssh: { address: 198.51.100.5, key_file: /root/.ssh/id_ed25519, passphrase: { env: KEY_PASS } }
    mysql: { password: { env: NEW_MYSQL } }
    staging_address: 198.51.100.5
computes: { hosts: [{ name: compute1, ssh: { address: 198.51.100.10, key_file: /root/.ssh/id_ed25519 } }] }
services: [keystone]
networks: [{ name: mgmt, cidr: 198.51.100.0/24, address: 198.51.100.4, old_interface: eth0, new_interface: eth0 }]
packages: { source: "deb http://198.51.100.254:8080/ bookworm-zed main" }
`;
  const r = parseAnswers(text, join(dir, "answers.yaml"));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return { loaded: r.loaded, dir };
}

function io(env: Record<string, string>): CliIo {
  return { stdout: () => undefined, stderr: () => undefined, env, cwd: "/", isTTY: false };
}

describe("resolveSecretsOrFail", () => {
  it("names every secret that cannot be read, with its line, in one error", async () => {
    const { loaded, dir } = setup();
    await expect(resolveSecretsOrFail(loaded, io({}), dir)).rejects.toMatchObject({
      code: "ANSWERS_SECRET",
      message: expect.stringMatching(
        /2 secrets[\s\S]*:9:\d+ controllers\.new\.ssh\.passphrase: .*KEY_PASS is not set[\s\S]*:10:\d+ controllers\.new\.mysql\.password: .*NEW_MYSQL is not set/,
      ) as unknown,
    });
  });

  it("returns values by field path, the file one relative to the answer file", async () => {
    const { loaded, dir } = setup();
    const values = await resolveSecretsOrFail(loaded, io({ KEY_PASS: "kp", NEW_MYSQL: "new-pw" }), dir);
    expect(values.get("controllers.old.mysql.password")).toBe("old-pw");
    expect(values.get("controllers.new.mysql.password")).toBe("new-pw");
    expect(values.get("controllers.new.ssh.passphrase")).toBe("kp");
  });
});

describe("openControllers", () => {
  it("builds both controllers from the answers without connecting, and closes cleanly", async () => {
    const { loaded, dir } = setup();
    const values = await resolveSecretsOrFail(loaded, io({ KEY_PASS: "kp", NEW_MYSQL: "new-pw" }), dir);
    const ctl = openControllers(loaded.answers, values, io({ HOME: "/home/op" }));
    expect([ctl.old.host.name, ctl.old.host.address, ctl.new.host.name, ctl.new.host.address]).toEqual([
      "old",
      "198.51.100.3",
      "new",
      "198.51.100.5",
    ]);
    expect([...ctl.secrets].sort()).toEqual(["kp", "new-pw", "old-pw"]);
    await ctl.close();
  });
});
