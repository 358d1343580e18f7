import { describe, expect, it } from "vitest";
import { ANY_ARG, FakeHost, REST } from "../../fakes/fake-host.js";
import { UserError } from "../../../src/lib/errors.js";

describe("FakeHost (the documented behaviour in FAKE-HOST.md)", () => {
  it("matches argv patterns; the latest matching rule wins; times spends a rule", async () => {
    const h = new FakeHost("old");
    h.on(["systemctl", "is-active", ANY_ARG], { stdout: "active\n" });
    h.on(["systemctl", "is-active", /nova-.*/], { stdout: "inactive\n", exitCode: 3 }, { times: 1 });
    expect((await h.exec(["systemctl", "is-active", "nova-api"])).exitCode).toBe(3);
    expect((await h.exec(["systemctl", "is-active", "nova-api"])).stdout).toBe("active\n");
    expect((await h.exec(["systemctl", "is-active", "a", "b"])).exitCode).toBe(127);
    h.on(["echo", REST], ({ argv }) => ({ stdout: argv.slice(1).join(" ") }));
    expect((await h.exec(["echo"])).stdout).toBe("");
    expect((await h.exec(["echo", "x", "y"])).stdout).toBe("x y");
    expect(h.commandLines()).toContain("echo x y");
  });

  it("run throws HOST_COMMAND_FAILED with redacted stderr", async () => {
    const h = new FakeHost("new").on(["mysql", REST], { exitCode: 1, stderr: "access denied for s3cret" });
    const err = await h.run(["mysql", "-e", "x"], { secretsToRedact: ["s3cret"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe("HOST_COMMAND_FAILED");
    expect((err as UserError).message).toContain("access denied for ***");
    expect((err as UserError).message).not.toContain("s3cret");
  });

  it("hang + timeout throws HOST_COMMAND_TIMEOUT", async () => {
    const h = new FakeHost("x").on(["sleep", REST], { hang: true });
    await expect(h.exec(["sleep", "9"], { timeoutMs: 10 })).rejects.toMatchObject({
      code: "HOST_COMMAND_TIMEOUT",
    });
  });

  it("files keep owner and mode on atomic write", async () => {
    const h = new FakeHost("x").setFile("/etc/nova/nova.conf", "a", { mode: 0o640, uid: 0, gid: 115 });
    await h.writeFileAtomic("/etc/nova/nova.conf", "b");
    expect(h.getFile("/etc/nova/nova.conf")).toMatchObject({ mode: 0o640, gid: 115 });
    expect(h.fileText("/etc/nova/nova.conf")).toBe("b");
    expect(await h.stat("/etc/nova")).toMatchObject({ isDirectory: true });
    expect(await h.stat("/nope")).toBeUndefined();
    await expect(h.readFile("/nope")).rejects.toMatchObject({ code: "HOST_FILE_NOT_FOUND" });
    await expect(h.writeFileAtomic("/no/dir/f", "x")).rejects.toMatchObject({ code: "HOST_FILE_ERROR" });
    await h.removeFile("/etc/nova/nova.conf");
    expect(h.getFile("/etc/nova/nova.conf")).toBeUndefined();
  });

  it("execStream: readsStdin hands stdin to the handler", async () => {
    const h = new FakeHost("x").on(["cat"], ({ stdin }) => ({ stdout: stdin.toString().toUpperCase() }), {
      readsStdin: true,
    });
    const s = await h.execStream(["cat"]);
    const out: Buffer[] = [];
    s.stdout.on("data", (c: Buffer) => out.push(c));
    s.stdin.end("hello");
    expect(await s.done).toEqual({ exitCode: 0 });
    expect(Buffer.concat(out).toString()).toBe("HELLO");
  });

  it("unreachable hosts throw HOST_UNREACHABLE and isReachable is false", async () => {
    const h = new FakeHost("c1").setReachable(false);
    expect(await h.isReachable()).toBe(false);
    await expect(h.exec(["true"])).rejects.toMatchObject({ code: "HOST_UNREACHABLE" });
  });
});
