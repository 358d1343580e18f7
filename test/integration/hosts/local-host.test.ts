import { createHash, randomBytes } from "node:crypto";
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHost } from "../../../src/hosts/local-host.js";

describe("LocalHost", () => {
  const host = new LocalHost({ name: "ctl" });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "handover-local-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs an argv without a shell: metacharacters are plain arguments", async () => {
    const r = await host.exec(["printf", "%s|", "$(id)", "`id`", "a b", "'"]);
    expect(r).toEqual({ exitCode: 0, stdout: "$(id)|`id`|a b|'|", stderr: "" });
    expect((await host.exec(["sh", "-c", "echo e >&2; exit 4"])).exitCode).toBe(4);
  });

  it("stdin, cwd and env", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const r = await host.exec(["sha256sum"], { stdin: data });
    expect(r.stdout.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));
    expect((await host.exec(["sh", "-c", "exit 5"], { stdin: randomBytes(8 * 1024 * 1024) })).exitCode).toBe(
      5,
    );
    const r2 = await host.exec(["sh", "-c", 'printf "%s %s" "$(pwd)" "$X"'], { cwd: dir, env: { X: "y" } });
    expect(r2.stdout).toBe(`${dir} y`);
  });

  it("run throws a redacted HOST_COMMAND_FAILED; a missing program fails clearly", async () => {
    await expect(
      host.run(["sh", "-c", "echo bad pw s3cr3t >&2; exit 1"], { secretsToRedact: ["s3cr3t"] }),
    ).rejects.toMatchObject({ code: "HOST_COMMAND_FAILED", message: expect.stringContaining("bad pw ***") });
    await expect(host.exec(["/nonexistent/prog"])).rejects.toMatchObject({ code: "HOST_COMMAND_FAILED" });
  });

  it("timeout kills the command and its children", async () => {
    await expect(
      host.exec(["sh", "-c", "sleep 60 & sleep 60; wait"], { timeoutMs: 200 }),
    ).rejects.toMatchObject({
      code: "HOST_COMMAND_TIMEOUT",
    });
  });

  it("execStream: large binary output, and kill()", async () => {
    const bin = randomBytes(20 * 1024 * 1024);
    writeFileSync(join(dir, "b"), bin);
    const s = await host.execStream(["cat", join(dir, "b")]);
    s.stdin.end();
    const h = createHash("sha256");
    s.stdout.on("data", (c: Buffer) => h.update(c));
    s.stderr.resume();
    expect(await s.done).toEqual({ exitCode: 0 });
    expect(h.digest("hex")).toBe(createHash("sha256").update(bin).digest("hex"));
    const k = await host.execStream(["sleep", "60"]);
    k.stdout.resume();
    k.stderr.resume();
    k.kill();
    expect(await k.done).toEqual({ exitCode: -1, signal: "SIGKILL" });
  });

  it("writeFileAtomic keeps owner and mode and leaves no temp file", async () => {
    const f = join(dir, "conf");
    writeFileSync(f, "old", { mode: 0o640 });
    if (process.getuid?.() === 0) chownSync(f, 1234, 2345);
    const before = statSync(f);
    await host.writeFileAtomic(f, "new");
    const after = statSync(f);
    expect(readFileSync(f, "utf8")).toBe("new");
    expect([after.uid, after.gid, after.mode & 0o7777]).toEqual([before.uid, before.gid, 0o640]);
    expect(await host.stat(f)).toMatchObject({ mode: 0o640, size: 3, isDirectory: false });
    await host.writeFileAtomic(join(dir, "fresh"), "x", { mode: 0o600 });
    expect(statSync(join(dir, "fresh")).mode & 0o7777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.includes("handover"))).toEqual([]);
    await expect(host.readFile(join(dir, "missing"))).rejects.toMatchObject({ code: "HOST_FILE_NOT_FOUND" });
    expect(await host.stat(join(dir, "missing"))).toBeUndefined();
    await host.removeFile(join(dir, "fresh"));
    await host.removeFile(join(dir, "fresh"));
    await expect(host.writeFileAtomic(join(dir, "no", "dir"), "x")).rejects.toMatchObject({
      code: "HOST_FILE_ERROR",
    });
  });
});
