/**
 * src/data: the per-file rsync lines and the temporary key's helpers, on FakeHosts (behaviour in
 * test/fakes/FAKE-HOST.md; commands scripted by test/unit/steps/files/sim.ts).
 */
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { rsyncPull, sshPortOf } from "../../../src/data/pull.js";
import { LineSplitter, parseFileLine, parseProgress2, rsyncPullArgv } from "../../../src/data/rsync.js";
import {
  createTempKey,
  installedNonces,
  removeTempKeys,
  tempKeyMissing,
  type TempKey,
} from "../../../src/data/temp-key.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { scriptTempDirs } from "../steps/support/harness.js";
import { scriptBasics, scriptKeyFiles } from "../steps/files/sim.js";

const AK = "/root/.ssh/authorized_keys";

function hosts() {
  const old = new FakeHost("old", { unmatched: "throw", address: "198.51.100.4" });
  const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
  old.setFile("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAOLD root@old\n");
  old.setFile(AK, "ssh-ed25519 AAAAJUMP jump\n", { mode: 0o600 });
  scriptBasics(old);
  scriptBasics(neu);
  scriptKeyFiles(neu);
  const tmp = scriptTempDirs(neu);
  return { old, neu, tmp };
}

const make = (s: ReturnType<typeof hosts>) =>
  createTempKey(s.neu, s.old, {
    fromAddress: "198.51.100.5",
    sourceAddress: "198.51.100.4",
    onRecord: () => {},
  });

describe("per-file lines (--out-format)", () => {
  it("are asked for only when wanted, parsed apart from progress2 lines", () => {
    const base = {
      transport: {
        identityFile: "/tmp/handover-abcdefgh12/id",
        knownHostsFile: "/tmp/handover-abcdefgh12/known_hosts",
      },
      sourceUser: "root",
      sourceHost: "198.51.100.4",
      sourceDir: "/v",
      destDir: "/v",
    };
    expect(rsyncPullArgv(base).some((a) => a.startsWith("--out-format"))).toBe(false);
    expect(rsyncPullArgv({ ...base, perFile: true })).toContain("--out-format=handover-file %b %n");
    const lines = new LineSplitter().push(
      "      1048576  50%  10.00MB/s    0:00:01\rhandover-file 2097152 volume-a b\n     2097152 100%  10.00MB/s    0:00:00 (xfr#1, to-chk=0/1)\n",
    );
    expect(lines.map(parseFileLine)).toEqual([undefined, { bytes: 2097152, name: "volume-a b" }, undefined]);
    expect(lines.map((l) => parseProgress2(l)?.bytes)).toEqual([1048576, undefined, 2097152]);
  });
});

describe("temporary key helpers", () => {
  it("tempKeyMissing says which half is gone", async () => {
    const s = hosts();
    const key = await make(s);
    expect(await tempKeyMissing(s.neu, s.old, key)).toBeUndefined();
    expect(await installedNonces(s.old)).toEqual([key.nonce]);
    s.old.setFile(AK, "ssh-ed25519 AAAAJUMP jump\n");
    expect(await tempKeyMissing(s.neu, s.old, key)).toMatch(
      /line is gone from \/root\/\.ssh\/authorized_keys on old/,
    );
    await s.neu.removeFile(key.identityFile);
    expect(await tempKeyMissing(s.neu, s.old, key)).toMatch(/is gone from new/);
  });

  it("concurrent installs and removals on one source keep every line that should stay (edits are serialised)", async () => {
    const s = hosts();
    const keys: TempKey[] = await Promise.all([make(s), make(s), make(s), make(s)]);
    expect((await installedNonces(s.old)).sort()).toEqual(keys.map((k) => k.nonce).sort());
    await Promise.all([
      removeTempKeys(s.neu, s.old, [keys[0]!]),
      removeTempKeys(s.neu, s.old, [keys[2]!]),
      make(s).then((k) => keys.push(k)),
    ]);
    expect((await installedNonces(s.old)).sort()).toEqual(
      [keys[1]!, keys[3]!, keys[4]!].map((k) => k.nonce).sort(),
    );
    expect(s.old.fileText(AK)?.startsWith("ssh-ed25519 AAAAJUMP jump\n")).toBe(true);
  });

  it("the pull uses the source's SSH port when the host has one, else 22", () => {
    expect(sshPortOf(new FakeHost("x"))).toBe(22);
    expect(sshPortOf(Object.assign(new FakeHost("y"), { port: 2222 }))).toBe(2222);
  });
});

describe("rsyncPull's end of pass", () => {
  it("does not wait on a timer for output streams that ended before the exit status came", async () => {
    const s = hosts();
    const key = await make(s);
    /**
     * A destination whose only behaviour is execStream: it writes one progress2 line, ends stdout and stderr,
     * and resolves the exit status (0) only once both have emitted "end" (as ssh2 channels can: the exit status
     * arriving after the output). Any other Host call throws.
     */
    const streamFirst = new Proxy(s.neu, {
      get(target, prop, receiver) {
        if (prop !== "execStream") return Reflect.get(target, prop, receiver) as unknown;
        return () => {
          const stdout = new PassThrough();
          const stderr = new PassThrough();
          const ended = Promise.all([once(stdout, "end"), once(stderr, "end")]);
          setImmediate(() => {
            stdout.end("     1000 100%  1.00MB/s    0:00:00 (xfr#1, to-chk=0/1)\n");
            stderr.end();
          });
          return Promise.resolve({
            stdin: new PassThrough(),
            stdout,
            stderr,
            kill: () => undefined,
            done: ended.then(() => ({ exitCode: 0 })),
          });
        };
      },
    });
    // Only setTimeout is faked: a pull that needs the 2 s drain bound to fire never settles below.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let settled = false;
      const p = rsyncPull(
        {
          host: (n) => (n === "old" ? s.old : streamFirst),
          emit: () => undefined,
          signal: new AbortController().signal,
          now: () => new Date(0),
        },
        streamFirst,
        s.old,
        { sourceDir: "/src", destDir: "/dst", key, what: "t" },
      ).then((b) => {
        settled = true;
        return b;
      });
      for (let i = 0; i < 100 && !settled; i++) await new Promise((r) => setImmediate(r));
      expect(settled).toBe(true);
      expect(await p).toBe(1000);
    } finally {
      vi.useRealTimers();
    }
  });
});
