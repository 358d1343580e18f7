/**
 * volumes.copy: cinder volume data from old to a target of the same size on new.
 * - `file` backend (the lab): files `<location>/volume-<id>` pulled by rsync on new (`--sparse`, so holes stay
 *   holes; the final pass adds `--inplace` so only changed blocks are written).
 * - `lvm` backend: `lvcreate -L <size>G -n volume-<id> <vg>` on new (the size of old's LV, in bytes when it is not a
 *   whole number of GiB), then `dd` on old streamed into `dd` on new through the jump. On a thin LV (reads zeros)
 *   the bulk pass writes with `conv=sparse`, keeping it thin; a thick LV holds stale data, so every block is written.
 * `bulk` runs before the freeze (the plan's warm phase) while attached instances may still write through old's
 * target: differing checksums are reported, not fatal. `final` runs after old's target stopped: sha256 of every volume must match.
 * Undo removes the volumes (files or LVs) the step created on new, recorded before they were created.
 * The result journals, per volume, the bytes moved and the seconds it took (`copies`), and the pass's totals
 * (`bytes`, `seconds`) for the report. rsync reports a file when it is done, so with the file backend a volume's
 * seconds run from the previous volume's end (rsync copies one file at a time); an unchanged volume moved 0 bytes.
 * With `keyStep` the file backend uses the run's SSH key (files.temp-key), like files.sync.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { pipeBetween } from "../../data/pipe.js";
import { rsyncPull } from "../../data/pull.js";
import { tempKeyRecords, type TempKeyRecord } from "../../data/temp-key.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params, strList } from "../params.js";
import { checkPath } from "../config/paths.js";
import { cleanupKeys } from "./sync.js";
import { keyStepParam, sharedKey } from "./temp-key.js";

const UUID = /^[0-9a-fA-F-]{8,64}$/;
const VG = /^[A-Za-z0-9+_.-]{1,127}$/;
const GIB = 1024 ** 3;
const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;

interface Volume {
  id: string;
  sizeGb: number;
}

interface VolumesParams {
  backend: "lvm" | "file";
  location: string;
  volumes: Volume[];
  pass: "bulk" | "final";
  concurrency: number;
  keyStep?: string;
}

/** What one volume's copy moved (journaled for the report). */
interface Copied {
  id: string;
  bytes: number;
  seconds: number;
}

function read(raw: JsonObject): VolumesParams {
  const p = new Params("volumes.copy", raw);
  const backend = p.str("backend");
  const pass = p.str("pass", "bulk");
  if (backend !== "lvm" && backend !== "file")
    throw new UserError("PLAN_PARAM", `volumes.copy: backend ${backend} is not supported`);
  if (pass !== "bulk" && pass !== "final")
    throw new UserError("PLAN_PARAM", `volumes.copy: unknown pass ${pass}`);
  const location = p.str("location");
  if (
    backend === "lvm" ? !VG.test(location) || location.startsWith("-") : !checkPath(location, "volume dir")
  ) {
    throw new UserError("PLAN_PARAM", `volumes.copy: unusual location ${JSON.stringify(location)}`);
  }
  const volumes = p.objs("volumes").map((v) => {
    const q = new Params("volumes.copy volume", v);
    const id = q.str("id");
    if (!UUID.test(id))
      throw new UserError("PLAN_PARAM", `volumes.copy: unusual volume id ${JSON.stringify(id)}`);
    return { id, sizeGb: q.num("sizeGb") };
  });
  const keyStep = keyStepParam("volumes.copy", raw);
  return {
    backend,
    location,
    volumes,
    pass,
    concurrency: Math.max(1, Math.min(4, p.num("concurrency", 2))),
    ...(keyStep ? { keyStep } : {}),
  };
}

const volumeName = (v: Volume): string => `volume-${v.id}`;
const pathOf = (p: VolumesParams, v: Volume): string =>
  p.backend === "lvm" ? `/dev/${p.location}/${volumeName(v)}` : `${p.location}/${volumeName(v)}`;

const SHA256_HEX = /^([0-9a-f]{64})/;

/**
 * sha256 of a file or block device; undefined when it cannot be read. OpenSSL's digest first: it uses the CPU's
 * SHA extensions where there are any (the lab's machine: 2 GiB in 1.8 s, coreutils' sha256sum 9.5 s), and the
 * final pass hashes every volume on both hosts inside the freeze window. sha256sum where openssl is missing or
 * fails (same digest, both print it first).
 */
async function sha256(host: Host, path: string): Promise<string | undefined> {
  const o = await host.exec(["openssl", "dgst", "-sha256", "-r", "--", path]);
  const viaOpenssl = o.exitCode === 0 ? SHA256_HEX.exec(o.stdout)?.[1] : undefined;
  if (viaOpenssl !== undefined) return viaOpenssl;
  const r = await host.exec(["sha256sum", "--", path]);
  return r.exitCode === 0 ? SHA256_HEX.exec(r.stdout)?.[1] : undefined;
}

async function sizeOf(host: Host, p: VolumesParams, v: Volume): Promise<number | undefined> {
  const path = pathOf(p, v);
  if (p.backend === "file") return (await host.stat(path))?.size;
  const r = await host.exec(["blockdev", "--getsize64", path]);
  return r.exitCode === 0 ? Number(r.stdout.trim()) : undefined;
}

/** Runs `fn` over items with at most `n` at once; the first failure is rethrown after the others finish. */
async function pool<T>(items: readonly T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        try {
          await fn(t);
        } catch (e) {
          errors.push(e);
        }
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}

/** What differs between old's and new's copies (size always; sha256 when `checksums`). */
async function compare(
  ctx: StepContext,
  p: VolumesParams,
  checksums: boolean,
): Promise<{ problems: string[]; changed: string[] }> {
  const old = ctx.host("old");
  const neu = ctx.host("new");
  const problems: string[] = [];
  const changed: string[] = [];
  for (const v of p.volumes) {
    const [a, b] = await Promise.all([sizeOf(old, p, v), sizeOf(neu, p, v)]);
    if (b === undefined) {
      problems.push(`volume ${v.id}: missing on ${neu.name}`);
      continue;
    }
    if (a !== undefined && a !== b) {
      problems.push(`volume ${v.id}: ${b} bytes on ${neu.name}, ${a} on ${old.name}`);
      continue;
    }
    if (!checksums) continue;
    // Both hosts read at once: each reads its own disk, and the final pass's hashing is downtime.
    const [x, y] = await Promise.all([sha256(old, pathOf(p, v)), sha256(neu, pathOf(p, v))]);
    if (x === undefined || y === undefined || x !== y)
      changed.push(
        `volume ${v.id}: sha256 differs (${old.name} ${x ?? "unreadable"}, ${neu.name} ${y ?? "unreadable"})`,
      );
  }
  return { problems, changed };
}

export function volumesCopyStep(_deps: StepDeps): StepImpl {
  return {
    kind: "volumes.copy",
    async run(ctx, raw) {
      const p = read(raw);
      const old = ctx.host("old");
      const neu = ctx.host("new");
      const prev = ctx.previousUndoData;
      const created: string[] = strList(prev?.created);
      const keys: TempKeyRecord[] = [];
      const undo = (): JsonObject => ({
        backend: p.backend,
        location: p.location,
        created: [...created],
        tempKeys: [...tempKeyRecords(prev?.tempKeys), ...keys].map((k) => ({ dir: k.dir, nonce: k.nonce })),
      });
      ctx.checkpoint?.(undo());
      await cleanupKeys(ctx, "old", "new", prev);

      // Targets: record each volume this step will create BEFORE creating it.
      const missing: Volume[] = [];
      for (const v of p.volumes) if ((await sizeOf(neu, p, v)) === undefined) missing.push(v);
      for (const v of missing) if (!created.includes(v.id)) created.push(v.id);
      ctx.checkpoint?.(undo());

      const started = ctx.now().getTime();
      const seconds = (since: number): number => (ctx.now().getTime() - since) / 1000;
      const copied = new Map<string, Copied>();
      if (p.backend === "file") {
        await neu.run(["mkdir", "-p", "--", p.location]);
        const key = await sharedKey(ctx, p.keyStep, neu, old);
        let fileStarted = ctx.now().getTime();
        await rsyncPull(ctx, neu, old, {
          sourceDir: p.location,
          destDir: p.location,
          sparse: true,
          inplace: p.pass === "final",
          only: p.volumes.map(volumeName),
          what: `${p.pass} copy of ${p.volumes.length} volume(s)`,
          onFile: (name, bytes) => {
            const v = p.volumes.find((x) => volumeName(x) === name);
            if (v) copied.set(v.id, { id: v.id, bytes, seconds: seconds(fileStarted) });
            fileStarted = ctx.now().getTime();
          },
          ...(key
            ? { key }
            : {
                record: (k: TempKeyRecord) => {
                  keys.push(k);
                  ctx.checkpoint?.(undo());
                },
              }),
        });
      } else {
        await pool(p.volumes, p.concurrency, async (v) => {
          const dev = pathOf(p, v);
          const bytes = (await sizeOf(old, p, v)) ?? v.sizeGb * GIB;
          const isNew = missing.includes(v);
          if (isNew) {
            const size = bytes % GIB === 0 ? `${bytes / GIB}G` : `${bytes}b`;
            await neu.run(["lvcreate", "--yes", "-L", size, "-n", volumeName(v), p.location]);
          }
          const seg = isNew
            ? await neu.exec(["lvs", "--noheadings", "-o", "segtype", `${p.location}/${volumeName(v)}`])
            : undefined;
          const sparse = seg?.stdout.trim() === "thin";
          let nextReport = PROGRESS_EVERY_BYTES;
          const volumeStarted = ctx.now().getTime();
          const moved = await pipeBetween(
            { host: old, argv: ["dd", `if=${dev}`, "bs=4M", "iflag=direct", "status=none"] },
            {
              host: neu,
              argv: [
                "dd",
                `of=${dev}`,
                "bs=4M",
                `conv=${sparse ? "sparse,fdatasync" : "fdatasync"}`,
                "status=none",
              ],
            },
            {
              what: `volume ${v.id}`,
              code: "VOLUME_COPY_FAILED",
              signal: ctx.signal,
              onBytes: (n) => {
                if (n < nextReport) return;
                nextReport = n + PROGRESS_EVERY_BYTES;
                ctx.emit({ type: "step-progress", message: `volume ${v.id}`, bytes: n, totalBytes: bytes });
              },
            },
          );
          copied.set(v.id, { id: v.id, bytes: moved, seconds: seconds(volumeStarted) });
        });
      }
      const copies = p.volumes.map((v) => copied.get(v.id) ?? { id: v.id, bytes: 0, seconds: 0 });
      const total = { bytes: copies.reduce((a, c) => a + c.bytes, 0), seconds: seconds(started) };
      ctx.emit({
        type: "log",
        level: "info",
        message: `${p.pass} pass over ${p.volumes.length} volume(s) moved ${total.bytes} bytes in ${total.seconds.toFixed(1)} s`,
      });

      const { problems, changed } = await compare(ctx, p, true);
      if (problems.length > 0 || (p.pass === "final" && changed.length > 0)) {
        throw new UserError(
          "VOLUME_COPY_MISMATCH",
          `volume copies on ${neu.name} do not match ${old.name}:\n  ${[...problems, ...changed].join("\n  ")}`,
          {
            nextSteps: [
              "Re-run: the copy resumes and compares again. If it keeps differing, check that nothing still writes to the old volumes.",
            ],
          },
        );
      }
      for (const c of changed) {
        ctx.emit({
          type: "log",
          level: "info",
          message: `${c}: still in use through the old target; the final pass copies it again`,
        });
      }
      return {
        ...undo(),
        tempKeys: [],
        verified: p.volumes.length - changed.length,
        ...total,
        copies: copies.map((c) => ({ ...c })),
        detail: `${p.volumes.length} volume(s) on new, sizes equal, sha256 ${changed.length === 0 ? "equal" : `equal for ${p.volumes.length - changed.length} (the rest still in use, copied again by the final pass)`}`,
      };
    },
    // run compares sizes and sha256 of every volume on both hosts after the copy and fails where verify would;
    // a second sha256 pass over every volume was the costliest part of the switch's final pass.
    provenByRun: () => true,

    async verify(ctx, raw): Promise<VerifyResult> {
      const p = read(raw);
      const { problems, changed } = await compare(ctx, p, p.pass === "final");
      const all = [...problems, ...changed];
      return all.length === 0
        ? {
            ok: true,
            detail: `${p.volumes.length} volume(s) on new, sizes equal${p.pass === "final" ? ", sha256 equal" : ""}`,
          }
        : { ok: false, detail: all.slice(0, 10).join("; ") };
    },

    async undo(ctx, raw, undoData) {
      const p = read(raw);
      await cleanupKeys(ctx, "old", "new", undoData);
      const neu = ctx.host("new");
      for (const id of strList(undoData.created)) {
        const v = p.volumes.find((x) => x.id === id);
        if (!v) continue;
        if (p.backend === "file") await neu.removeFile(pathOf(p, v));
        else if ((await sizeOf(neu, p, v)) !== undefined)
          await neu.run(["lvremove", "-f", `${p.location}/${volumeName(v)}`]);
      }
    },
  };
}
