/**
 * `handover check` end to end, in-process through runCli: a generated answer file whose controllers and computes
 * are one real sshd listening on several loopback addresses, and a private MariaDB as both controllers' MySQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../../src/cli/run-cli.js";
import type { CliIo } from "../../../src/cli/io.js";
import { mariadbSkipReason, startMariaDb, type MariaDb } from "../hosts/fixtures/mariadb.js";
import { genKey, sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";

const skip = sshdSkipReason() ?? mariadbSkipReason();
if (skip) console.warn(`SKIPPED handover check integration tests: ${skip}`);

const OLD = "127.0.0.1";
const NEW = "127.0.0.2";
const C1 = "127.0.0.3";
const DISCOVERED = "127.0.0.4";

interface Run {
  code: number;
  out: string;
  err: string;
}

describe.skipIf(skip !== undefined)("handover check", () => {
  let sshd: Sshd;
  let db: MariaDb;
  let dir: string;
  let goodKh: string;

  beforeAll(async () => {
    [sshd, db] = await Promise.all([startSshd([OLD, NEW, C1, DISCOVERED]), startMariaDb()]);
    dir = mkdtempSync(join(tmpdir(), "handover-check-"));
    goodKh = sshd.knownHosts("known_hosts", `${sshd.knownHostsLine}\n`);
    writeFileSync(join(dir, "old.pass"), `${db.password}\n`, { mode: 0o600 });
    db.sql(
      "CREATE DATABASE nova; CREATE TABLE nova.services (id INT PRIMARY KEY AUTO_INCREMENT, host VARCHAR(255), `binary` VARCHAR(255), deleted INT DEFAULT 0);" +
        `INSERT INTO nova.services (host, \`binary\`) VALUES ('compute1', 'nova-compute'), ('${DISCOVERED}', 'nova-compute'), ('ctl', 'nova-scheduler');`,
    );
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), db?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function answerFile(name: string, over: { c1KnownHosts?: string; discover?: boolean } = {}): string {
    const ssh = (address: string, kh = goodKh): string =>
      `{ address: "${address}", port: ${sshd.port}, key_file: "${sshd.clientKey.privatePath}", known_hosts: "${kh}" }`;
    const text = `version: 1
source_release: victoria
target_release: zed
controllers:
  old:
    ssh: ${ssh(OLD)}
    mysql: { user: ${db.user}, password: { file: ./old.pass }, port: ${db.port} }
  new:
    ssh: ${ssh(NEW)}
    mysql: { user: ${db.user}, password: { env: NEW_MYSQL_PW }, port: ${db.port} }
    staging_address: "${NEW}"
computes:
  discover: ${over.discover ?? false}
  ssh_defaults: { port: ${sshd.port}, key_file: "${sshd.clientKey.privatePath}", known_hosts: "${goodKh}" }
  hosts:
    - name: compute1
      ssh: ${ssh(C1, over.c1KnownHosts)}
services: [keystone, glance, placement, nova, neutron, cinder, horizon]
networks:
  - { name: mgmt, cidr: 198.51.100.0/24, address: 198.51.100.4, old_interface: eth0, new_interface: eth0 }
packages: { source: "deb http://198.51.100.254:8080/ bookworm-zed main", trusted: true }
state_dir: ${dir}/state
`;
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  async function check(file: string, env: Record<string, string>): Promise<Run> {
    let out = "";
    let err = "";
    const io: CliIo = {
      stdout: (t) => (out += t.endsWith("\n") ? t : `${t}\n`),
      stderr: (t) => (err += t.endsWith("\n") ? t : `${t}\n`),
      env: { HOME: dir, ...env },
      cwd: dir,
      isTTY: false,
    };
    const code = await runCli(["check", "-f", file, "--timeout", "10"], io);
    return { code, out, err };
  }

  /** The table rows as [host, check, result]. */
  function rows(out: string): string[][] {
    return out
      .split("\n")
      .filter((l) => /^\S+\s+\S+\s+(pass|FAIL|skip)\b/.test(l))
      .map((l) => l.split(/\s+/).slice(0, 3));
  }

  /** The checks of answerFile()'s hosts, in the order the table lists them. */
  const CHECKS = [
    ["old", "ssh"],
    ["old", "command"],
    ["old", "mysql"],
    ["new", "ssh"],
    ["new", "command"],
    ["new", "mysql"],
    ["compute1", "ssh"],
    ["compute1", "command"],
  ] as const;

  /** The whole table expected: every check passes except those named ("host check" -> result). */
  function passingExcept(results: Record<string, "FAIL" | "skip"> = {}): string[][] {
    return CHECKS.map(([host, c]) => [host, c, results[`${host} ${c}`] ?? "pass"]);
  }

  it("passes when every host and database is reachable with the given keys and credentials", async () => {
    const r = await check(answerFile("good.yaml"), { NEW_MYSQL_PW: db.password });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^HOST\s+CHECK\s+RESULT\s+DETAIL/m);
    expect(rows(r.out)).toEqual(passingExcept());
    expect(r.out).toMatch(/old\s+mysql\s+pass\s+.*MariaDB/);
    expect(r.out).toMatch(/8 passed, 0 failed/);
    expect(r.out).not.toContain(db.password);
  });

  it("fails, exit 1, on a changed host key and a wrong MySQL password, naming each", async () => {
    const other = genKey(sshd.dir, "not_the_host_key");
    const badKh = sshd.knownHosts("kh-bad", `[${C1}]:${sshd.port} ${other.typeAndBlob}\n`);
    const r = await check(answerFile("bad.yaml", { c1KnownHosts: badKh }), {
      NEW_MYSQL_PW: "not-the-password-42",
    });
    expect(r.code).toBe(1);
    expect(rows(r.out)).toEqual(
      passingExcept({ "new mysql": "FAIL", "compute1 ssh": "FAIL", "compute1 command": "skip" }),
    );
    expect(r.out).toMatch(/compute1\s+ssh\s+FAIL\s+\[HOST_KEY_CHANGED\]/);
    expect(r.out).toMatch(/new\s+mysql\s+FAIL\s+\[MYSQL_AUTH_FAILED\]/);
    expect(r.out).toContain(`ssh-keygen -R '[${C1}]:${sshd.port}' -f ${badKh}`);
    expect(r.out).toMatch(/5 passed, 2 failed, 1 skipped/);
    expect(r.out).not.toContain("not-the-password-42");
  });

  it("a secret that cannot be read is a failed row, and that database check is skipped", async () => {
    const r = await check(answerFile("nosecret.yaml"), {});
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/answers\s+secret\s+FAIL\s+.*NEW_MYSQL_PW is not set/);
    expect(r.out).toMatch(/new\s+mysql\s+skip/);
  });

  it("with discover: true, checks the compute hosts nova lists that are not in the file", async () => {
    const r = await check(answerFile("discover.yaml", { discover: true }), { NEW_MYSQL_PW: db.password });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/old\s+discover\s+pass\s+nova lists 2 compute host\(s\): 127\.0\.0\.4, compute1/);
    expect(rows(r.out)).toContainEqual([DISCOVERED, "ssh", "pass"]);
    expect(rows(r.out)).toContainEqual([DISCOVERED, "command", "pass"]);
  });

  it("an invalid answer file is reported with its location, without touching hosts", async () => {
    const file = join(dir, "invalid.yaml");
    writeFileSync(file, "version: 1\nsource_release: victoria\n");
    const r = await check(file, {});
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ANSWERS_INVALID/);
  });
});
