/**
 * The rsync pull and its temporary key against a real OpenSSH server on 127.0.0.1 (test/integration/hosts/
 * fixtures/sshd.ts): "old" and "new" are both this machine through that sshd, so rsync really runs on "new" and
 * really logs in to "old" with the temporary key. The key goes into the fixture's own authorized_keys (never the
 * machine's /root/.ssh). Timings are printed for the report, never asserted.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StepContext, StepEvent } from "../../../src/engine/step.js";
import { createPullKey, rsyncPull, sshPortOf } from "../../../src/data/pull.js";
import { createTempKey, removeTempKeys, tempKeyMissing, type TempKey } from "../../../src/data/temp-key.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { UserError } from "../../../src/lib/errors.js";
import { sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";
import { loopbackHost } from "../steps/loopback.js";

const skip = sshdSkipReason() ?? (existsSync("/usr/bin/rsync") ? undefined : "rsync is not installed");
if (skip) console.warn(`SKIPPED rsync pull integration tests: ${skip}`);

function ctxFor(hosts: Record<string, SshHost>, events: StepEvent[] = []): StepContext {
  return {
    host: (n) => hosts[n]!,
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
    now: () => new Date(),
  };
}

const seconds = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

describe.skipIf(skip !== undefined)(
  "rsync pull with a temporary key, against a real sshd on loopback",
  () => {
    let sshd: Sshd;
    let old: SshHost;
    let neu: SshHost;
    let work: string;
    let authorizedKeys: string;
    let original: string;
    /** Every key dir a test made: removed in afterAll even when a test failed midway (other tests check /tmp). */
    const made: string[] = [];
    const record = (r: { dir: string }): void => void made.push(r.dir);

    beforeAll(async () => {
      sshd = await startSshd();
      old = loopbackHost(sshd, "old");
      neu = loopbackHost(sshd, "new");
      authorizedKeys = join(sshd.dir, "authorized_keys");
      original = readFileSync(authorizedKeys, "utf8");
      work = mkdtempSync(join(tmpdir(), "handover-pull-"));
    });

    afterAll(async () => {
      for (const d of made)
        if (/^\/tmp\/handover-[A-Za-z0-9]{8,}$/.test(d)) rmSync(d, { recursive: true, force: true });
      await Promise.allSettled([old?.close(), neu?.close()]);
      await sshd?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    const key = (fromAddress = "127.0.0.1"): Promise<TempKey> =>
      fromAddress === "127.0.0.1"
        ? createPullKey(neu, old, record, { authorizedKeys })
        : createTempKey(neu, old, {
            fromAddress,
            sourceAddress: "127.0.0.1",
            port: sshd.port,
            onRecord: record,
            authorizedKeys,
          });

    it("one key serves several passes (full, then delta); per-file bytes reported; removal locks rsync out again", async () => {
      const src = join(work, "src");
      const dst = join(work, "dst");
      rmSync(src, { recursive: true, force: true });
      rmSync(dst, { recursive: true, force: true });
      await neu.run(["mkdir", "-p", "--", src, dst]);
      writeFileSync(join(src, "image-a"), randomBytes(3 * 1024 * 1024));
      writeFileSync(join(src, "image-b"), randomBytes(1024 * 1024));
      expect(sshPortOf(old)).toBe(sshd.port);

      const k = await key();
      expect(await tempKeyMissing(neu, old, k, { authorizedKeys })).toBeUndefined();
      const events: StepEvent[] = [];
      const files: [string, number][] = [];
      const full = await rsyncPull(ctxFor({ old, new: neu }, events), neu, old, {
        sourceDir: src,
        destDir: dst,
        key: k,
        what: "full",
        onFile: (n, b) => files.push([n, b]),
      });
      expect(full).toBe(4 * 1024 * 1024);
      expect(readFileSync(join(dst, "image-a")).equals(readFileSync(join(src, "image-a")))).toBe(true);
      // %b counts what went over the wire: the data plus rsync's framing (a few hundred bytes per MiB).
      expect(files.map(([n]) => n).sort()).toEqual(["image-a", "image-b"]);
      for (const [n, b] of files) {
        const size = n === "image-a" ? 3 * 1024 * 1024 : 1024 * 1024;
        expect(b).toBeGreaterThanOrEqual(size);
        expect(b).toBeLessThan(size * 1.01);
      }
      expect(events.some((e) => e.type === "step-progress" && e.bytes === 4 * 1024 * 1024)).toBe(true);

      writeFileSync(join(src, "image-c"), randomBytes(64 * 1024));
      const delta: [string, number][] = [];
      await rsyncPull(ctxFor({ old, new: neu }), neu, old, {
        sourceDir: src,
        destDir: dst,
        key: k,
        what: "delta",
        onFile: (n, b) => delta.push([n, b]),
      });
      expect(delta.map(([n]) => n)).toEqual(["image-c"]);
      expect(delta[0]![1]).toBeGreaterThanOrEqual(64 * 1024);
      expect(delta[0]![1]).toBeLessThan(64 * 1024 * 1.01);
      // The reused key is still installed: the pass neither made nor removed one.
      expect(readFileSync(authorizedKeys, "utf8")).toContain(`handover-temp-${k.nonce}`);

      // Keep a copy of the key pair, then remove the key: sshd must refuse that copy (its line is gone).
      const saved = join(work, "saved");
      await neu.run(["mkdir", "-p", "-m", "0700", "--", saved]);
      await neu.run(["cp", "-p", "--", k.identityFile, k.knownHostsFile, saved]);
      await removeTempKeys(neu, old, [k], { authorizedKeys });
      expect(readFileSync(authorizedKeys, "utf8")).toBe(original);
      expect(existsSync(k.dir)).toBe(false);
      const e = await rsyncPull(ctxFor({ old, new: neu }), neu, old, {
        sourceDir: src,
        destDir: dst,
        key: { ...k, identityFile: join(saved, "id"), knownHostsFile: join(saved, "known_hosts") },
        what: "after removal",
      }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(UserError);
      // rsync says 255 (ssh failed) or 12 (protocol stream), depending on when it notices; sshd refused the key.
      expect((e as UserError).message).toMatch(/exited with (255|12) [\s\S]*Permission denied/);
    });

    it("fast path: big files new lacks go by ssh cat, the rest by rsync; contents, mtimes, modes and per-file bytes as rsync's; a second pass moves nothing; a small new file alone goes without rsync", async () => {
      const src = join(work, "src-fast");
      const dst = join(work, "dst-fast");
      await neu.run(["mkdir", "-p", "--", src, dst]);
      const MiB = 1024 * 1024;
      const sizes: Record<string, number> = {
        "big-a": 3 * MiB,
        "big-b": 2 * MiB,
        small: 100 * 1024, // below the threshold: rsync
        "big c": 2 * MiB, // a name the script refuses: rsync
        "big-partial": 2 * MiB, // new holds a partial copy: rsync resumes it
      };
      for (const [n, size] of Object.entries(sizes)) {
        writeFileSync(join(src, n), randomBytes(size));
        // An mtime with a fraction, as image files have: the fast path must carry it so rsync's quick check holds.
        utimesSync(join(src, n), 1_700_000_000.25, 1_700_000_000.123456);
      }
      writeFileSync(join(dst, "big-partial"), readFileSync(join(src, "big-partial")).subarray(0, MiB));
      const k = await key();
      const events: StepEvent[] = [];
      const files: [string, number][] = [];
      try {
        const moved = await rsyncPull(ctxFor({ old, new: neu }, events), neu, old, {
          sourceDir: src,
          destDir: dst,
          key: k,
          what: "fast",
          onFile: (n, b) => files.push([n, b]),
          directCopyMinBytes: MiB,
          progressPollMs: 5,
        });
        for (const n of Object.keys(sizes)) {
          expect(readFileSync(join(dst, n)).equals(readFileSync(join(src, n))), n).toBe(true);
          expect(statSync(join(dst, n)).mtimeMs, n).toBe(statSync(join(src, n)).mtimeMs);
          expect(statSync(join(dst, n)).mode, n).toBe(statSync(join(src, n)).mode);
        }
        // The fast path's files first (biggest first), each reported once with its size; then rsync's.
        expect(files.slice(0, 2)).toEqual([
          ["big-a", 3 * MiB],
          ["big-b", 2 * MiB],
        ]);
        expect(files.map(([n]) => n).sort()).toEqual(["big c", "big-a", "big-b", "big-partial", "small"]);
        expect(moved).toBeGreaterThanOrEqual(5 * MiB + 100 * 1024 + 2 * MiB);
        const progress = events.filter((e) => e.type === "step-progress");
        expect(progress.some((e) => e.bytes === 5 * MiB && e.totalBytes === 5 * MiB)).toBe(true);
        expect(readdirSync(dst).filter((n) => n.startsWith("."))).toEqual([]);

        const again: string[] = [];
        const before = events.length;
        await rsyncPull(ctxFor({ old, new: neu }, events), neu, old, {
          sourceDir: src,
          destDir: dst,
          key: k,
          what: "again",
          onFile: (n) => again.push(n),
          directCopyMinBytes: MiB,
        });
        expect(again).toEqual([]);
        expect(events.slice(before).every((e) => e.type !== "step-progress" || e.bytes === 0)).toBe(true);

        // A small image added on old, nothing else changed: the fast path alone copies it (rsync is not needed),
        // with old's mode and mtime.
        writeFileSync(join(src, "late"), randomBytes(10 * 1024));
        chmodSync(join(src, "late"), 0o640);
        utimesSync(join(src, "late"), 1_700_000_100, 1_700_000_100.5);
        const late: string[] = [];
        await rsyncPull(ctxFor({ old, new: neu }, events), neu, old, {
          sourceDir: src,
          destDir: dst,
          key: k,
          what: "late",
          onFile: (n) => late.push(n),
          directCopyMinBytes: MiB,
        });
        expect(late).toEqual(["late"]);
        expect(readFileSync(join(dst, "late")).equals(readFileSync(join(src, "late")))).toBe(true);
        expect(statSync(join(dst, "late")).mode).toBe(statSync(join(src, "late")).mode);
        expect(statSync(join(dst, "late")).mtimeMs).toBe(statSync(join(src, "late")).mtimeMs);
        expect(readdirSync(dst).filter((n) => n.startsWith("."))).toEqual([]);
      } finally {
        await removeTempKeys(neu, old, [k], { authorizedKeys });
      }
    });

    it("fast path: a file gone from old after the listing is skipped, nothing is left under its name, rsync copies the rest", async () => {
      const src = join(work, "src-fail");
      const dst = join(work, "dst-fail");
      await neu.run(["mkdir", "-p", "--", src, dst]);
      writeFileSync(join(src, "big-ok"), randomBytes(2 * 1024 * 1024));
      writeFileSync(join(src, "big-gone"), randomBytes(2 * 1024 * 1024));
      const k = await key();
      const files: string[] = [];
      try {
        // Listed, then removed before the copy (an image deleted while the cloud is live): the fast copy of
        // big-gone fails, nothing is left under its name, and rsync (exit 24 is not an error) copies the rest.
        const ctx = ctxFor({ old, new: neu });
        const realExec = old.exec.bind(old);
        old.exec = async (argv, opts) => {
          const r = await realExec(argv, opts);
          if (argv[0] === "find") rmSync(join(src, "big-gone"));
          return r;
        };
        try {
          await rsyncPull(ctx, neu, old, {
            sourceDir: src,
            destDir: dst,
            key: k,
            what: "gone",
            onFile: (n) => files.push(n),
            directCopyMinBytes: 1024 * 1024,
          });
        } finally {
          old.exec = realExec;
        }
        expect(files).toEqual(["big-ok"]);
        expect(readdirSync(dst)).toEqual(["big-ok"]);
      } finally {
        await removeTempKeys(neu, old, [k], { authorizedKeys });
      }
    });

    it("the from= restriction holds: a key installed for another address is refused", async () => {
      const src = join(work, "src2");
      await neu.run(["mkdir", "-p", "--", src, join(work, "dst2")]);
      writeFileSync(join(src, "f"), "x");
      const k = await key("127.0.0.2");
      try {
        const e = await rsyncPull(ctxFor({ old, new: neu }), neu, old, {
          sourceDir: src,
          destDir: join(work, "dst2"),
          key: k,
          what: "restricted",
        }).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(UserError);
        expect((e as UserError).message).toMatch(/Permission denied|exited with 255/);
      } finally {
        await removeTempKeys(neu, old, [k], { authorizedKeys });
      }
      expect(readFileSync(authorizedKeys, "utf8")).toBe(original);
    });

    it("measures: key made per pass vs the run's key, for a small delta pass (printed, not asserted)", async () => {
      const src = join(work, "src3");
      const dst = join(work, "dst3");
      await neu.run(["mkdir", "-p", "--", src, dst]);
      for (let i = 0; i < 4; i++) writeFileSync(join(src, `image-${i}`), randomBytes(8 * 1024 * 1024));
      const ctx = ctxFor({ old, new: neu });
      const pull = (o: { key?: TempKey }) =>
        rsyncPull(ctx, neu, old, {
          sourceDir: src,
          destDir: dst,
          what: "m",
          authorizedKeys,
          ...(o.key ? { key: o.key } : { record }),
        });
      const k = await key();
      const rounds: { perPass: number; shared: number; keyOnce: number }[] = [];
      try {
        await pull({ key: k }); // full copy first
        for (let r = 0; r < 3; r++) {
          writeFileSync(join(src, `new-${r}-a`), randomBytes(256 * 1024));
          const perPass = await seconds(() => pull({}));
          writeFileSync(join(src, `new-${r}-b`), randomBytes(256 * 1024));
          const shared = await seconds(() => pull({ key: k }));
          const keyOnce = await seconds(async () => {
            const x = await key();
            await removeTempKeys(neu, old, [x], { authorizedKeys });
          });
          rounds.push({ perPass, shared, keyOnce });
        }
      } finally {
        await removeTempKeys(neu, old, [k], { authorizedKeys });
      }
      console.log(
        `loopback delta pass (256 KiB new): ${rounds
          .map(
            (r) =>
              `per-pass key ${r.perPass.toFixed(3)} s, run's key ${r.shared.toFixed(3)} s, key make+remove ${r.keyOnce.toFixed(3)} s`,
          )
          .join("; ")}`,
      );
      expect(readFileSync(authorizedKeys, "utf8")).toBe(original);
    });
  },
);
