import { describe, expect, it } from "vitest";
import { volumesCopyStep } from "../../../../src/steps/files/volumes.js";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";
import { scriptBasics, scriptHashes, scriptRsync } from "./sim.js";

const V1 = "1111aaaa-0000-0000-0000-000000000001";
const V2 = "2222bbbb-0000-0000-0000-000000000002";
const GIB = 1024 ** 3;

describe("volumes.copy (file backend)", () => {
  const LOC = "/var/lib/cinder/volumes";
  const params = {
    backend: "file",
    location: LOC,
    volumes: [
      { id: V1, sizeGb: 1 },
      { id: V2, sizeGb: 2 },
    ],
    pass: "final",
    concurrency: 2,
  };

  function setup(corrupt?: string) {
    const old = new FakeHost("old", { unmatched: "throw", address: "198.51.100.4" });
    const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
    old.setFile(`${LOC}/volume-${V1}`, "disk one");
    old.setFile(`${LOC}/volume-${V2}`, "disk two");
    old.setFile(`${LOC}/volume-not-listed`, "other");
    old.setFile("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAOLD root@old\n");
    scriptBasics(old);
    scriptHashes(old);
    scriptBasics(neu);
    scriptHashes(neu);
    const tmp = scriptTempDirs(neu);
    const rsync = scriptRsync(neu, old, corrupt ? { corrupt } : {});
    return { old, neu, tmp, rsync, deps: makeDeps(new FakeSql()) };
  }

  it("rsyncs only the listed volume files, sparse and in place, and proves them by sha256", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = volumesCopyStep(s.deps);
    const undo = await step.run(h.ctx, params);
    expect(s.rsync.argvs[0]).toEqual(
      expect.arrayContaining(["--sparse", "--inplace", `--include=/volume-${V1}`, "--exclude=*"]),
    );
    expect(s.neu.fileText(`${LOC}/volume-${V2}`)).toBe("disk two");
    expect(s.neu.fileText(`${LOC}/volume-not-listed`)).toBeUndefined();
    expect(undo).toMatchObject({ created: [V1, V2], tempKeys: [] });
    expect(h.checkpoints[1]).toMatchObject({ created: [V1, V2] });
    expect(await step.verify(h.ctx, params)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/sha256 equal/),
    });
    await step.undo!(h.ctx, params, undo ?? {});
    expect(s.neu.listFiles().filter((f) => f.startsWith(LOC))).toEqual([]);
  });

  it("journals the bytes rsync sent and the seconds per volume, and the pass's totals", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    // A clock that moves 1 s per reading, so durations are visible.
    let t = Date.parse("2026-01-01T00:00:00Z");
    const ctx = { ...h.ctx, now: () => new Date((t += 1000)) };
    const res = await volumesCopyStep(s.deps).run(ctx, params);
    expect(res).toMatchObject({
      bytes: "disk one".length + "disk two".length,
      copies: [
        { id: V1, bytes: "disk one".length, seconds: expect.any(Number) },
        { id: V2, bytes: "disk two".length, seconds: expect.any(Number) },
      ],
    });
    const copies = (res as { copies: { seconds: number }[] }).copies;
    for (const c of copies) expect(c.seconds).toBeGreaterThan(0);
    expect((res as { seconds: number }).seconds).toBeGreaterThanOrEqual(
      copies[0]!.seconds + copies[1]!.seconds,
    );
    expect(
      h.events.some(
        (e) => e.type === "log" && /final pass over 2 volume\(s\) moved 16 bytes in/.test(e.message),
      ),
    ).toBe(true);
  });

  it("final pass: a differing copy fails naming the volume", async () => {
    const s = setup(`volume-${V2}`);
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(volumesCopyStep(s.deps).run(h.ctx, params)).rejects.toThrow(
      new RegExp(`volume ${V2}: (sha256 differs|.*bytes)`),
    );
  });

  it("bulk pass: a volume still written through old's target is reported, not fatal; verify checks sizes", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const bulk = { ...params, pass: "bulk" };
    const step = volumesCopyStep(s.deps);
    // The instance writes to V1 right after the copy (same size, different bytes).
    s.neu.on(
      (a) => a[0] === "rsync",
      ({ host }) => {
        host.setFile(`${LOC}/volume-${V1}`, "disk ONE");
        host.setFile(`${LOC}/volume-${V2}`, "disk two");
        return {};
      },
    );
    const res = await step.run(h.ctx, bulk);
    expect(res).toMatchObject({ verified: 1 });
    expect(h.events.some((e) => e.type === "log" && e.message.includes(`volume ${V1}: sha256 differs`))).toBe(
      true,
    );
    expect(await step.verify(h.ctx, bulk)).toMatchObject({ ok: true });
  });
});

describe("volumes.copy (LVM, fake host only: no device-mapper here)", () => {
  const params = {
    backend: "lvm",
    location: "cinder-volumes",
    volumes: [{ id: V1, sizeGb: 1 }],
    pass: "bulk",
    concurrency: 2,
  };
  const DEV = `/dev/cinder-volumes/volume-${V1}`;

  function setup(opts: { ddExit?: number; segtype?: string } = {}) {
    const old = new FakeHost("old", { unmatched: "throw" });
    const neu = new FakeHost("new", { unmatched: "throw" });
    let lvExists = false;
    let written = "";
    old.on(["blockdev", "--getsize64", DEV], { stdout: `${GIB}\n` });
    old.on(["dd", `if=${DEV}`, REST], {
      stdout: "BLOCKS",
      exitCode: opts.ddExit ?? 0,
      stderr: opts.ddExit ? "dd: error reading: Input/output error" : "",
    });
    // old has no openssl here (exit 127): its digest comes from sha256sum; new answers through openssl.
    old.on(["openssl", "dgst", "-sha256", "-r", "--", DEV], { exitCode: 127, stderr: "openssl: not found" });
    old.on(["sha256sum", "--", DEV], { stdout: `${"a".repeat(64)}  ${DEV}\n` });
    neu.on(["blockdev", "--getsize64", DEV], () =>
      lvExists ? { stdout: `${GIB}\n` } : { exitCode: 1, stderr: "blockdev: cannot open" },
    );
    neu.on(["lvcreate", REST], () => {
      lvExists = true;
      return {};
    });
    neu.on(["lvs", REST], { stdout: `  ${opts.segtype ?? "linear"}\n` });
    neu.on(
      ["dd", `of=${DEV}`, REST],
      ({ stdin }) => {
        written = stdin.toString();
        return {};
      },
      { readsStdin: true },
    );
    neu.on(["openssl", "dgst", "-sha256", "-r", "--", DEV], () => ({
      stdout: `${written === "BLOCKS" ? "a".repeat(64) : "b".repeat(64)} *${DEV}\n`,
    }));
    neu.on(["lvremove", "-f", `cinder-volumes/volume-${V1}`], () => {
      lvExists = false;
      return {};
    });
    return { old, neu, deps: makeDeps(new FakeSql()), written: () => written, lvExists: () => lvExists };
  }

  it("creates an LV of the same size, streams dd into dd, verifies; undo removes the LV it created", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = volumesCopyStep(s.deps);
    const undo = await step.run(h.ctx, params);
    expect(s.neu.commands()).toContainEqual([
      "lvcreate",
      "--yes",
      "-L",
      "1G",
      "-n",
      `volume-${V1}`,
      "cinder-volumes",
    ]);
    // A thick LV holds stale data: every block is written (no conv=sparse).
    expect(s.neu.commands()).toContainEqual(["dd", `of=${DEV}`, "bs=4M", "conv=fdatasync", "status=none"]);
    expect(s.written()).toBe("BLOCKS");
    expect(undo).toMatchObject({
      bytes: "BLOCKS".length,
      copies: [{ id: V1, bytes: "BLOCKS".length, seconds: 0 }],
    });
    expect(h.checkpoints.at(-1)).toMatchObject({ created: [V1] });
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
    await step.undo!(h.ctx, params, undo ?? {});
    expect(s.lvExists()).toBe(false);
  });

  it("a thin LV is written sparse; an existing LV is not created again", async () => {
    const s = setup({ segtype: "thin" });
    const h = makeCtx({ old: s.old, new: s.neu });
    await volumesCopyStep(s.deps).run(h.ctx, params);
    expect(s.neu.commands()).toContainEqual([
      "dd",
      `of=${DEV}`,
      "bs=4M",
      "conv=sparse,fdatasync",
      "status=none",
    ]);
    await volumesCopyStep(s.deps).run(makeCtx({ old: s.old, new: s.neu }).ctx, params);
    expect(s.neu.commands().filter((a) => a[0] === "lvcreate")).toHaveLength(1);
  });

  it("a read error on old fails naming the volume and dd's words", async () => {
    const s = setup({ ddExit: 1 });
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(volumesCopyStep(s.deps).run(h.ctx, params)).rejects.toThrow(
      new RegExp(`volume ${V1} failed:[\\s\\S]*Input/output error`),
    );
  });
});
