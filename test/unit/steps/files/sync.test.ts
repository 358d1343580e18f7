import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { filesSyncStep } from "../../../../src/steps/files/sync.js";
import { FakeHost } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";
import { scriptBasics, scriptFind, scriptHashes, scriptRsync } from "./sim.js";

const DIR = "/var/lib/glance/images";
const IMAGES: Record<string, string> = {
  "11111111-aaaa": "cirros image bytes",
  "22222222-bbbb": "another image",
};
const md5 = (s: string): string => createHash("md5").update(s).digest("hex");
const sha512 = (s: string): string => createHash("sha512").update(s).digest("hex");

function setup(opts: { rsyncExit?: number; corrupt?: string; checksums?: Record<string, string> } = {}) {
  const old = new FakeHost("old", { unmatched: "throw", address: "198.51.100.4" });
  const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
  for (const [id, data] of Object.entries(IMAGES)) old.setFile(`${DIR}/${id}`, data, { mode: 0o640 });
  old.setFile("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAOLDHOSTKEY root@old\n");
  old.setFile("/root/.ssh/authorized_keys", "ssh-ed25519 AAAAJUMP jump\n", { mode: 0o600 });
  scriptBasics(old);
  scriptFind(old);
  const basics = scriptBasics(neu);
  scriptFind(neu);
  scriptHashes(neu);
  const tmp = scriptTempDirs(neu);
  neu.addDir(DIR);
  neu.setFile(`${DIR}/preexisting`, "was here before");
  let seenKey = "";
  const rsync = scriptRsync(neu, old, {
    ...(opts.rsyncExit
      ? { exitCode: opts.rsyncExit, stderr: "ssh: connect to host 198.51.100.4 port 22: No route to host" }
      : {}),
    ...(opts.corrupt ? { corrupt: opts.corrupt } : {}),
    rsyncCheck: () => {
      seenKey = old.fileText("/root/.ssh/authorized_keys") ?? "";
    },
  });
  const sql = new FakeSql().on(/information_schema\.COLUMNS/, [{ n: 1 }], { host: "old" }).on(
    /FROM glance\.images/,
    () =>
      Object.entries(IMAGES).map(([id, data]) => ({
        id,
        name: `img-${id.slice(0, 4)}`,
        checksum: opts.checksums?.[id] ?? md5(data),
        os_hash_algo: "sha512",
        os_hash_value: sha512(data),
        location: `file://${DIR}/${id}`,
      })),
    { host: "old" },
  );
  return { old, neu, tmp, basics, rsync, sql, deps: makeDeps(sql), seenKey: () => seenKey };
}

const warm = { from: "old", to: "new", path: DIR, pass: "warm", owner: "glance" };
const delta = { ...warm, pass: "delta", verifyChecksums: "glance" };

describe("files.sync", () => {
  it("new pulls with rsync through a temporary key restricted to its address, removed afterwards; progress in bytes", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const res = await filesSyncStep(s.deps).run(h.ctx, warm);
    expect(s.neu.fileText(`${DIR}/11111111-aaaa`)).toBe(IMAGES["11111111-aaaa"]);
    // While rsync ran, old's authorized_keys held our from=-restricted key; afterwards only the original line.
    expect(s.seenKey()).toMatch(
      /^ssh-ed25519 AAAAJUMP jump\nfrom="198\.51\.100\.5",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 \S+ handover-temp-[0-9a-f]{16}\n$/,
    );
    expect(s.old.fileText("/root/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAJUMP jump\n");
    expect(s.old.getFile("/root/.ssh/authorized_keys")?.mode).toBe(0o600);
    // known_hosts written by us with old's host key for the address rsync uses.
    const kh = s.neu.calls.find((c) => c.kind === "writeFileAtomic" && c.path.endsWith("/known_hosts"));
    expect(kh && "data" in kh ? kh.data.toString() : "").toBe("198.51.100.4 ssh-ed25519 AAAAOLDHOSTKEY\n");
    expect(s.tmp.removed).toEqual(s.tmp.made);
    // The key was journaled BEFORE old was touched.
    const keyCp = h.checkpoints.find((c) => Array.isArray(c.tempKeys) && c.tempKeys.length > 0);
    expect(keyCp).toBeDefined();
    expect(s.basics.chowns).toEqual([["chown", "-R", "glance:glance", "--", DIR]]);
    const progress = h.events.filter((e) => e.type === "step-progress");
    expect(progress.map((e) => (e.type === "step-progress" ? e.bytes : 0))).toEqual([15, 31]);
    expect(res).toMatchObject({ preexisting: ["preexisting"], tempKeys: [] });
    expect(await filesSyncStep(s.deps).verify(h.ctx, warm)).toMatchObject({ ok: true });
  });

  it("delta with verifyChecksums: every image matches glance's md5 and sha512; verify re-checks from the hosts", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    await filesSyncStep(s.deps).run(h.ctx, delta);
    expect(await filesSyncStep(s.deps).verify(h.ctx, delta)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/glance checksums match/),
    });
    // Old's SQL was read-only.
    expect(
      s.sql.sqlOn("old").filter((q) => !/^\s*(SELECT|SET SESSION TRANSACTION READ ONLY$)/i.test(q)),
    ).toEqual([]);
    s.neu.setFile(`${DIR}/22222222-bbbb`, "another imagE");
    expect(await filesSyncStep(s.deps).verify(h.ctx, delta)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/22222222-bbbb \(img-2222\): md5/),
    });
  });

  it("delta: run hashes only the files the pass copied; verify hashes every image and names a bad one", async () => {
    const s = setup();
    const step = filesSyncStep(s.deps);
    await step.run(makeCtx({ old: s.old, new: s.neu }).ctx, warm);
    // The warm copy of 2222 went bad on new since; the delta pass re-sends only 1111 (rsync's quick check).
    s.neu.setFile(`${DIR}/22222222-bbbb`, "another imagE");
    s.neu.on(
      (a) => a[0] === "rsync",
      ({ host }) => {
        host.setFile(`${DIR}/11111111-aaaa`, IMAGES["11111111-aaaa"]!);
        return {
          stdout:
            "handover-file 18 11111111-aaaa\n          18 100%  1.00MB/s    0:00:00 (xfr#1, to-chk=0/2)\n",
        };
      },
    );
    const before = s.neu.commands().length;
    const h = makeCtx({ old: s.old, new: s.neu });
    await step.run(h.ctx, delta);
    const hashed = s.neu
      .commands()
      .slice(before)
      .filter((a) => /^(md5|sha512)sum$/.test(a[0] ?? ""));
    expect(hashed.map((a) => a.slice(2))).toEqual([[`${DIR}/11111111-aaaa`], [`${DIR}/11111111-aaaa`]]);
    expect(await step.verify(h.ctx, delta)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/22222222-bbbb \(img-2222\): md5/),
    });
  });

  it("a copied file that does not match glance's checksum fails the step naming the image", async () => {
    const s = setup({ corrupt: "11111111-aaaa" });
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(filesSyncStep(s.deps).run(h.ctx, delta)).rejects.toThrow(
      /image 11111111-aaaa \(img-1111\): md5 [0-9a-f]+ on new, glance recorded/,
    );
    expect(s.old.fileText("/root/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAJUMP jump\n");
  });

  it("an rsync failure says why and still removes the key", async () => {
    const s = setup({ rsyncExit: 255 });
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(filesSyncStep(s.deps).run(h.ctx, warm)).rejects.toThrow(
      /rsync on new exited with 255 \(ssh failed\): ssh: connect to host/,
    );
    expect(s.old.fileText("/root/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAJUMP jump\n");
    expect(s.tmp.removed).toEqual(s.tmp.made);
  });

  it("undo removes only the files the step created and any key a crash left behind", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = filesSyncStep(s.deps);
    const undo = (await step.run(h.ctx, warm)) ?? {};
    // A crash of another attempt left a key on old and its dir on new.
    s.old.setFile(
      "/root/.ssh/authorized_keys",
      'ssh-ed25519 AAAAJUMP jump\nfrom="198.51.100.5" ssh-ed25519 XX handover-temp-deadbeefdeadbeef\n',
    );
    await step.undo!(h.ctx, warm, {
      ...undo,
      tempKeys: [{ dir: "/tmp/handover-new99999999", nonce: "deadbeefdeadbeef" }],
    });
    expect(s.neu.listFiles().filter((f) => f.startsWith(`${DIR}/`))).toEqual([`${DIR}/preexisting`]);
    expect(s.old.fileText("/root/.ssh/authorized_keys")).toBe("ssh-ed25519 AAAAJUMP jump\n");
    expect(s.tmp.removed).toContain("/tmp/handover-new99999999");
  });

  it("known_hosts holds the key the jump verified for old (not old's /etc/ssh files) when there is one", async () => {
    const s = setup();
    const dir = await mkdtemp(join(tmpdir(), "ho-kh-"));
    try {
      const blob = Buffer.from("\0\0\0\x0bssh-ed25519\0\0\0\x20" + "k".repeat(32), "latin1").toString(
        "base64",
      );
      const file = join(dir, "known_hosts");
      await writeFile(file, `198.51.100.9 ssh-ed25519 ${blob}\n198.51.100.4 ssh-ed25519 ${blob}\n`);
      Object.assign(s.old, { hostKey: { knownHostsFile: file, line: 2 } });
      await filesSyncStep(s.deps).run(makeCtx({ old: s.old, new: s.neu }).ctx, warm);
      const kh = s.neu.calls.find((c) => c.kind === "writeFileAtomic" && c.path.endsWith("/known_hosts"));
      expect(kh && "data" in kh ? kh.data.toString() : "").toBe(`198.51.100.4 ssh-ed25519 ${blob}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an authorized_keys that only held our key is removed again", async () => {
    const s = setup();
    await s.old.removeFile("/root/.ssh/authorized_keys");
    await filesSyncStep(s.deps).run(makeCtx({ old: s.old, new: s.neu }).ctx, warm);
    expect(s.seenKey()).toContain("handover-temp-");
    expect(s.old.getFile("/root/.ssh/authorized_keys")).toBeUndefined();
  });

  it("a redo keeps the first attempt's record of what was there before", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu }, { path: DIR, preexisting: [], tempKeys: [] });
    const undo = await filesSyncStep(s.deps).run(h.ctx, warm);
    expect(undo).toMatchObject({ preexisting: [] });
  });
});
