import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { remoteCommand } from "../../../src/hosts/remote-command.js";
import { Semaphore } from "../../../src/hosts/semaphore.js";

describe("remoteCommand", () => {
  it("quotes argv, adds sudo -n --, cwd and env", () => {
    expect(remoteCommand(["systemctl", "stop", "nova-api"])).toBe(`'systemctl' 'stop' 'nova-api'`);
    expect(remoteCommand(["id", "-u"], { sudo: true })).toBe(`sudo -n -- 'id' '-u'`);
    expect(remoteCommand(["pwd"], { cwd: "/tmp" })).toBe(`cd -- '/tmp' && exec 'pwd'`);
    expect(remoteCommand(["env"], { env: { A: "x'y" }, sudo: true })).toBe(
      `sudo -n -- sh -c 'export A='\\''x'\\''\\'\\'''\\''y'\\'' && exec '\\''env'\\'''`,
    );
    expect(() => remoteCommand([])).toThrow();
    expect(() => remoteCommand(["x"], { env: { "A;rm": "1" } })).toThrow(/invalid environment/);
  });

  it("what it builds runs in a real sh with the right cwd and env", () => {
    const cmd = remoteCommand(["sh", "-c", 'printf "%s|%s" "$(pwd)" "$V"'], {
      cwd: "/",
      env: { V: "$(id) 'q'" },
    });
    const r = spawnSync("/bin/sh", ["-c", cmd], { encoding: "utf8" });
    expect(r.stdout).toBe("/|$(id) 'q'");
  });
});

describe("Semaphore", () => {
  it("never lets more than capacity run, and serves waiters in order", async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await sem.acquire();
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setImmediate(r));
        running--;
        release();
        release(); // double release is harmless
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
