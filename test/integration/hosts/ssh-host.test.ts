/**
 * SshHost against a real OpenSSH server on 127.0.0.1 (see fixtures/sshd.ts). The "remote" machine is this one, so
 * the tests check effects (files, owners, modes) directly on the local filesystem.
 */
import { createHash, randomBytes } from "node:crypto";
import { chownSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshHost, type SshHostConfig } from "../../../src/hosts/ssh-host.js";
import { fingerprintSha256 } from "../../../src/hosts/known-hosts.js";
import { UserError } from "../../../src/lib/errors.js";
import { freePort, genKey, sshdSkipReason, startSshd, type Sshd } from "./fixtures/sshd.js";

const skip = sshdSkipReason();
if (skip) console.warn(`SKIPPED SshHost integration tests: ${skip}`);

describe.skipIf(skip !== undefined)("SshHost against a real sshd on loopback", () => {
  let sshd: Sshd;
  let host: SshHost;
  let goodKnownHosts: string;
  const opened: SshHost[] = [];

  function mk(over: Partial<SshHostConfig> = {}): SshHost {
    const h = new SshHost({
      name: "testhost",
      address: "127.0.0.1",
      port: sshd.port,
      user: "root",
      keyFile: sshd.clientKey.privatePath,
      knownHostsFile: goodKnownHosts,
      connectTimeoutMs: 10_000,
      ...over,
    });
    opened.push(h);
    return h;
  }

  async function failure(p: Promise<unknown>): Promise<UserError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }

  const hostFp = (): string =>
    fingerprintSha256(Buffer.from(sshd.hostKey.typeAndBlob.split(" ")[1]!, "base64"));

  beforeAll(async () => {
    sshd = await startSshd();
    goodKnownHosts = sshd.knownHosts("known_hosts", `# test\n${sshd.knownHostsLine}\n`);
    host = mk();
  });

  afterAll(async () => {
    await Promise.all(opened.map((h) => h.close()));
    await sshd?.stop();
  });

  it("runs a command and returns stdout, stderr and the exit code", async () => {
    const r = await host.exec(["uname", "-n"]);
    expect(r).toEqual({ exitCode: 0, stdout: `${hostname()}\n`, stderr: "" });
    const r2 = await host.exec(["sh", "-c", "echo out; echo err >&2; exit 7"]);
    expect(r2).toEqual({ exitCode: 7, stdout: "out\n", stderr: "err\n" });
  });

  it("passes stdin (binary, 4 MB) and closes it", async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const r = await host.exec(["sha256sum"], { stdin: data });
    expect(r.stdout.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
    // A command that ignores a large stdin still gives its exit status (no crash on the unread input).
    expect((await host.exec(["sh", "-c", "exit 5"], { stdin: randomBytes(8 * 1024 * 1024) })).exitCode).toBe(
      5,
    );
    // No stdin given: the command sees EOF at once instead of waiting.
    expect((await host.exec(["cat"])).stdout).toBe("");
  });

  it("run throws HOST_COMMAND_FAILED naming host, command and stderr, with secrets redacted", async () => {
    const e = await failure(
      host.run(["sh", "-c", "echo 'denied for hunter2-pw' >&2; exit 3", "hunter2-pw"], {
        secretsToRedact: ["hunter2-pw"],
      }),
    );
    expect(e.code).toBe("HOST_COMMAND_FAILED");
    expect(e.message).toContain("testhost");
    expect(e.message).toContain("exited with code 3");
    expect(e.message).toContain("denied for ***");
    expect(e.message).not.toContain("hunter2");
  });

  it("cwd and env reach the command", async () => {
    const r = await host.exec(["sh", "-c", 'pwd; printf "%s" "$GREETING"'], {
      cwd: sshd.dir,
      env: { GREETING: "it's $HOME" },
    });
    expect(r.stdout).toBe(`${sshd.dir}\nit's $HOME`);
  });

  it("nasty arguments arrive byte for byte (property, over SSH)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constantFrom("", "'", "$(id)", "`id`", "-n", "a\nb", "*", "\\", '"', "%s", "é"),
            fc.string({ unit: "grapheme", maxLength: 12 }),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        async (args) => {
          const clean = args.map((a) => a.replaceAll("\0", ""));
          const r = await host.exec(["printf", "%s\\0", ...clean]);
          expect(r.stdout.split("\0").slice(0, -1)).toEqual(clean);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("returns large output (50 MB) whole, by exec and by execStream", async () => {
    const text = randomBytes(25 * 1024 * 1024).toString("hex"); // 50 MB of text
    const file = join(sshd.dir, "big.txt");
    writeFileSync(file, text);
    const want = createHash("sha256").update(text).digest("hex");
    const r = await host.exec(["cat", file]);
    expect(r.stdout.length).toBe(text.length);
    expect(createHash("sha256").update(r.stdout).digest("hex")).toBe(want);

    const bin = randomBytes(20 * 1024 * 1024);
    writeFileSync(join(sshd.dir, "big.bin"), bin);
    const s = await host.execStream(["cat", join(sshd.dir, "big.bin")]);
    s.stdin.end();
    const hash = createHash("sha256");
    s.stdout.on("data", (c: Buffer) => hash.update(c));
    s.stderr.resume();
    expect(await s.done).toEqual({ exitCode: 0 });
    expect(hash.digest("hex")).toBe(createHash("sha256").update(bin).digest("hex"));
  });

  it("execStream pipes stdin through", async () => {
    const s = await host.execStream(["tr", "a-z", "A-Z"]);
    const out: Buffer[] = [];
    s.stdout.on("data", (c: Buffer) => out.push(c));
    s.stderr.resume();
    s.stdin.end("hello pipe");
    expect(await s.done).toEqual({ exitCode: 0 });
    expect(Buffer.concat(out).toString()).toBe("HELLO PIPE");
  });

  it("a timeout stops the command and the remote process", async () => {
    const marker = `handover-timeout-${randomBytes(4).toString("hex")}`;
    const e = await failure(host.exec(["sh", "-c", `sleep 60; : ${marker}`], { timeoutMs: 300 }));
    expect(e.code).toBe("HOST_COMMAND_TIMEOUT");
    // The remote shell is killed (not left running): wait until it is gone from the process list.
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      const ps = await host.exec(["ps", "-eo", "args"]);
      alive = ps.stdout.split("\n").some((l) => l.includes(marker) && !l.includes("ps -eo"));
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    expect(alive).toBe(false);
  });

  it("execStream kill() stops a command that never ends", async () => {
    const s = await host.execStream(["sleep", "600"]);
    s.stdout.resume();
    s.stderr.resume();
    s.kill();
    const r = await s.done;
    expect(r.exitCode === 0).toBe(false);
  });

  it("queues channels beyond MaxSessions instead of failing (30 at once over one connection)", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => host.exec(["sh", "-c", `sleep 0.2; echo ${i}`])),
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  for (const transport of ["sftp", "command"] as const) {
    it(`writeFileAtomic keeps owner and mode, leaves no temp file, and readFile/stat/removeFile work (${transport})`, async () => {
      const host = mk({ fileTransport: transport });
      const dir = join(sshd.dir, `etc-${transport}`);
      await host.run(["mkdir", "-p", dir]);
      const file = join(dir, "nova.conf");
      writeFileSync(file, "old\n", { mode: 0o640 });
      chownSync(file, 1234, 2345);
      const content = Buffer.concat([Buffer.from("[database]\nconnection = x\n"), randomBytes(600 * 1024)]);
      await host.writeFileAtomic(file, content);
      const st = statSync(file);
      expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({
        uid: 1234,
        gid: 2345,
        mode: 0o640,
      });
      expect(readFileSync(file).equals(content)).toBe(true);
      expect(readdirSync(dir)).toEqual(["nova.conf"]);
      expect(await host.stat(file)).toEqual({
        mode: 0o640,
        uid: 1234,
        gid: 2345,
        size: content.length,
        isDirectory: false,
      });
      expect((await host.readFile(file)).equals(content)).toBe(true);

      // A new file gets the requested mode.
      const fresh = join(dir, "new.conf");
      await host.writeFileAtomic(fresh, "x", { mode: 0o600 });
      expect(statSync(fresh).mode & 0o7777).toBe(0o600);

      expect(await host.stat(join(dir, "missing"))).toBeUndefined();
      expect((await failure(host.readFile(join(dir, "missing")))).code).toBe("HOST_FILE_NOT_FOUND");
      await host.removeFile(fresh);
      await host.removeFile(fresh); // missing is fine
      expect(existsSync(fresh)).toBe(false);
      expect((await host.stat(dir))?.isDirectory).toBe(true);
    });
  }

  it("refuses a CHANGED host key, showing fingerprint, file, line and how to fix", async () => {
    const other = genKey(sshd.dir, "other_host_key");
    const kh = sshd.knownHosts("kh-changed", `# one\n[127.0.0.1]:${sshd.port} ${other.typeAndBlob}\n`);
    const e = await failure(mk({ knownHostsFile: kh }).exec(["true"]));
    expect(e.code).toBe("HOST_KEY_CHANGED");
    expect(e.message).toContain(hostFp());
    expect(e.message).toContain(`${kh} has line 2`);
    expect(e.nextSteps.join("\n")).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}' -f ${kh}`);
    // accept-new never accepts a changed key, and never writes to the file for it.
    const before = readFileSync(kh, "utf8");
    expect((await failure(mk({ knownHostsFile: kh, hostKeyPolicy: "accept-new" }).exec(["true"]))).code).toBe(
      "HOST_KEY_CHANGED",
    );
    expect(readFileSync(kh, "utf8")).toBe(before);
  });

  it("refuses a @revoked host key even when it is also listed as good", async () => {
    const kh = sshd.knownHosts(
      "kh-revoked",
      `${sshd.knownHostsLine}\n@revoked * ${sshd.hostKey.typeAndBlob}\n`,
    );
    const e = await failure(mk({ knownHostsFile: kh }).exec(["true"]));
    expect(e.code).toBe("HOST_KEY_REVOKED");
    expect(e.message).toContain("line 2");
    expect(e.message).toContain(hostFp());
  });

  it("refuses an UNKNOWN key under strict, accepts and records it under accept-new", async () => {
    const kh = join(sshd.dir, "kh-new", "known_hosts"); // does not exist yet
    const e = await failure(mk({ knownHostsFile: kh }).exec(["true"]));
    expect(e.code).toBe("HOST_KEY_UNKNOWN");
    expect(e.message).toContain(hostFp());
    expect(e.nextSteps.join("\n")).toContain(`ssh-keyscan -p ${sshd.port} -t ssh-ed25519 127.0.0.1 >> ${kh}`);
    expect(e.nextSteps.join("\n")).toContain("accept-new");
    expect(existsSync(kh)).toBe(false);

    expect((await mk({ knownHostsFile: kh, hostKeyPolicy: "accept-new" }).exec(["true"])).exitCode).toBe(0);
    expect(readFileSync(kh, "utf8")).toBe(`${sshd.knownHostsLine}\n`);
    // Now known: strict works.
    expect((await mk({ knownHostsFile: kh }).exec(["true"])).exitCode).toBe(0);
  });

  it("hashed known_hosts entries (ssh-keygen -H) are honoured", async () => {
    const kh = sshd.knownHosts("kh-hashed", `${sshd.knownHostsLine}\n`);
    (await import("node:child_process")).execFileSync("ssh-keygen", ["-q", "-H", "-f", kh]);
    expect(readFileSync(kh, "utf8")).toContain("|1|");
    expect((await mk({ knownHostsFile: kh }).exec(["true"])).exitCode).toBe(0);
  });

  it("a key file the server does not accept fails with HOST_AUTH_FAILED", async () => {
    const stranger = genKey(sshd.dir, "stranger_key");
    const e = await failure(mk({ keyFile: stranger.privatePath }).exec(["true"]));
    expect(e.code).toBe("HOST_AUTH_FAILED");
    const missing = await failure(mk({ keyFile: join(sshd.dir, "no-such-key") }).exec(["true"]));
    expect(missing.code).toBe("HOST_AUTH_FAILED");
    expect(missing.message).toContain("no-such-key");
  });

  it("an encrypted key works with its passphrase; a wrong passphrase fails without leaking it", async () => {
    const enc = genKey(sshd.dir, "enc_key", "ed25519", "correct horse");
    sshd.authorize(enc);
    expect(
      (await mk({ keyFile: enc.privatePath, passphrase: "correct horse" }).exec(["true"])).exitCode,
    ).toBe(0);
    const e = await failure(mk({ keyFile: enc.privatePath, passphrase: "wrong-pass-xyz" }).exec(["true"]));
    expect(e.code).toBe("HOST_AUTH_FAILED");
    expect(`${e.message}\n${e.nextSteps.join("\n")}`).not.toContain("wrong-pass-xyz");
  });

  it("an unreachable port fails with HOST_UNREACHABLE", async () => {
    const port = await freePort();
    const e = await failure(mk({ port }).exec(["true"]));
    expect(e.code).toBe("HOST_UNREACHABLE");
    expect(e.message).toContain(`port ${port}`);
    expect(await mk({ port }).isReachable()).toBe(false);
    expect(await host.isReachable()).toBe(true);
  });

  it("uses one connection per host for many commands", async () => {
    const established = async (): Promise<number> => {
      const r = await host.exec(["ss", "-Htn", "state", "established", `( sport = :${sshd.port} )`]);
      return r.stdout.split("\n").filter((l) => l.trim() !== "").length;
    };
    const before = await established();
    const h = mk();
    await Promise.all(Array.from({ length: 12 }, () => h.exec(["true"])));
    await h.readFile(join(sshd.dir, "authorized_keys"));
    expect(await established()).toBe(before + 1);
    await h.close();
  });

  it("logs in through ssh-agent", async () => {
    const sock = join(sshd.dir, "agent.sock");
    const { spawn, execFileSync } = await import("node:child_process");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      execFileSync("ssh-add", ["-q", sshd.clientKey.privatePath], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
      });
      const h = mk({ keyFile: undefined, agentSocket: sock });
      expect((await h.exec(["echo", "via agent"])).stdout).toBe("via agent\n");
    } finally {
      if (agent.pid !== undefined) process.kill(agent.pid, "SIGTERM");
    }
  });

  it("reconnects after close()", async () => {
    const h = mk();
    expect((await h.exec(["true"])).exitCode).toBe(0);
    await h.close();
    expect((await h.exec(["echo", "again"])).stdout).toBe("again\n");
  });
});
