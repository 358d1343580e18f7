/**
 * files.sync: rsync pulled by the destination from the source over SSH with a temporary, address-restricted key
 * (src/data). `warm` runs while the cloud is live (before the freeze); `delta` inside the freeze copies only what
 * changed since. With `verifyChecksums: glance` every image file's md5 (and multihash where set) must equal what
 * glance recorded, or the step fails naming the image: the files the pass copied are checked by run (an error
 * with what to do), all of them by verify (which the engine runs right after run, and on resume). The source is
 * only read.
 *
 * Undo removes the files the step created on the destination: the names present before the FIRST attempt are
 * journaled (checkpoint) before anything is copied.
 *
 * The SSH key: with `keyStep`, the run's key made by that files.temp-key step (temp-key.ts), checked in place
 * first; without it, or when it is gone (a reboot wiped /tmp on resume), a key for this pass alone, journaled
 * before it is installed and removed by the run, by a redo, or by undo, whichever comes first after a crash.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { DIRECT_COPY_MIN_BYTES } from "../../data/direct-copy.js";
import { rsyncPull } from "../../data/pull.js";
import { removeTempKeys, tempKeyRecords, type TempKeyRecord } from "../../data/temp-key.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params, strList } from "../params.js";
import { checkPath } from "../config/paths.js";
import { checkImageFiles, readImageRecords } from "./glance-checksums.js";
import { keyStepParam, sharedKey } from "./temp-key.js";
import { fileSizes, missingOrDifferent, removeFiles } from "./tree.js";

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

interface SyncParams {
  from: string;
  to: string;
  path: string;
  pass: "warm" | "delta";
  owner: string;
  verifyChecksums?: "glance";
  keyStep?: string;
}

function read(raw: JsonObject): SyncParams {
  const p = new Params("files.sync", raw);
  const pass = p.str("pass", "warm");
  if (pass !== "warm" && pass !== "delta")
    throw new UserError("PLAN_PARAM", `files.sync: unknown pass ${pass}`);
  const owner = p.str("owner");
  if (!USER.test(owner))
    throw new UserError("PLAN_PARAM", `files.sync: unusual owner ${JSON.stringify(owner)}`);
  const vc = p.optStr("verifyChecksums");
  const keyStep = keyStepParam("files.sync", raw);
  if (vc !== undefined && vc !== "glance")
    throw new UserError("PLAN_PARAM", `files.sync: unknown verifyChecksums ${vc}`);
  return {
    from: p.str("from", "old"),
    to: p.str("to", "new"),
    path: checkPath(p.str("path"), "path"),
    pass,
    owner,
    ...(vc ? { verifyChecksums: vc } : {}),
    ...(keyStep ? { keyStep } : {}),
  };
}

export async function cleanupKeys(
  ctx: StepContext,
  from: string,
  to: string,
  undoData: JsonObject | undefined,
): Promise<void> {
  const records = tempKeyRecords(undoData?.tempKeys);
  if (records.length > 0) await removeTempKeys(ctx.host(to), ctx.host(from), records);
}

export function filesSyncStep(deps: StepDeps): StepImpl {
  async function verifyGlance(
    ctx: StepContext,
    p: SyncParams,
    only: (file: string) => boolean = () => true,
  ): Promise<string[]> {
    const images = (await readImageRecords(deps, ctx, p.from, p.path)).filter((i) => only(i.file));
    return images.length === 0 ? [] : checkImageFiles(ctx.host(p.to), images);
  }

  return {
    kind: "files.sync",
    async run(ctx, raw) {
      const p = read(raw);
      const src = ctx.host(p.from);
      const dest = ctx.host(p.to);
      const prev = ctx.previousUndoData;
      const preexisting = Array.isArray(prev?.preexisting)
        ? strList(prev.preexisting)
        : [...((await fileSizes(dest, p.path)) ?? new Map<string, number>()).keys()];
      const keys: TempKeyRecord[] = [];
      const undo = (): JsonObject => ({
        path: p.path,
        preexisting,
        tempKeys: [...tempKeyRecords(prev?.tempKeys), ...keys].map((k) => ({ dir: k.dir, nonce: k.nonce })),
      });
      ctx.checkpoint?.(undo());
      await cleanupKeys(ctx, p.from, p.to, prev);
      if (!(await src.stat(p.path))?.isDirectory) {
        throw new UserError("SYNC_SOURCE_MISSING", `on ${src.name}: ${p.path} does not exist`, {
          nextSteps: [`Check ${p.path} on ${src.name}.`],
        });
      }
      await dest.run(["mkdir", "-p", "--", p.path]);
      const started = ctx.now().getTime();
      const key = await sharedKey(ctx, p.keyStep, dest, src);
      const copied = new Set<string>();
      const bytes = await rsyncPull(ctx, dest, src, {
        sourceDir: p.path,
        destDir: p.path,
        what: `${p.pass} copy of ${p.path}`,
        onFile: (name) => copied.add(`${p.path}/${name}`),
        // Glance image files are never rewritten (a changed image is a new file): in the warm pass, which moves
        // the bulk, big ones the destination lacks go by the `ssh cat` fast path, which costs what a raw pipe
        // costs (data/direct-copy.ts). Not in the delta pass: its listings cost a few tenths of a second, more
        // than they save on the few new images an in-window pass usually finds (measured on loopback).
        ...(p.pass === "warm" ? { directCopyMinBytes: DIRECT_COPY_MIN_BYTES } : {}),
        ...(key
          ? { key }
          : {
              record: (k: TempKeyRecord) => {
                keys.push(k);
                ctx.checkpoint?.(undo());
              },
            }),
      });
      await dest.run(["chown", "-R", `${p.owner}:${p.owner}`, "--", p.path]);
      const seconds = (ctx.now().getTime() - started) / 1000;
      ctx.emit({
        type: "log",
        level: "info",
        message: `${p.path}: ${p.pass} pass moved ${bytes} bytes in ${seconds.toFixed(1)} s`,
      });
      if (p.verifyChecksums === "glance") {
        // The files this pass copied, checked here so a mismatch fails with what to do. Every other image is
        // proven by verify(), which the engine runs right after and which hashes them all: checking all of them
        // here too would read every image twice more inside the freeze window.
        const problems = copied.size === 0 ? [] : await verifyGlance(ctx, p, (file) => copied.has(file));
        if (problems.length > 0) {
          throw new UserError(
            "IMAGE_CHECKSUM_MISMATCH",
            `image files on ${dest.name} do not match glance's checksums:\n  ${problems.join("\n  ")}`,
            {
              nextSteps: [
                `Compare those images' files on ${src.name} with glance's recorded checksum; a file corrupt on ${src.name} must be fixed (or the image re-uploaded) there first. Then re-run.`,
              ],
            },
          );
        }
      }
      return { path: p.path, preexisting, tempKeys: [], bytes, seconds, key: key ? "run" : "pass" };
    },

    async verify(ctx, raw): Promise<VerifyResult> {
      const p = read(raw);
      const dest = ctx.host(p.to);
      const have = await fileSizes(dest, p.path);
      if (!have) return { ok: false, detail: `${p.path} does not exist on ${dest.name}` };
      const want = (await fileSizes(ctx.host(p.from), p.path)) ?? new Map<string, number>();
      const diffs = missingOrDifferent(want, have);
      if (p.pass === "warm") {
        // The cloud is live during a warm pass: images come and go; the delta pass inside the freeze must be exact.
        return {
          ok: true,
          detail: `${p.path} on ${dest.name}: ${have.size} files (${diffs.length} behind the source, for the delta pass)`,
        };
      }
      if (diffs.length > 0)
        return { ok: false, detail: `${p.path} on ${dest.name}: ${diffs.slice(0, 10).join("; ")}` };
      if (p.verifyChecksums === "glance") {
        const problems = await verifyGlance(ctx, p);
        if (problems.length > 0) return { ok: false, detail: problems.slice(0, 10).join("; ") };
      }
      return {
        ok: true,
        detail: `${p.path}: ${want.size} files, sizes equal on ${p.from} and ${dest.name}${p.verifyChecksums ? ", glance checksums match" : ""}`,
      };
    },

    async undo(ctx, raw, undoData) {
      const p = read(raw);
      await cleanupKeys(ctx, p.from, p.to, undoData);
      if (!Array.isArray(undoData.preexisting)) return; // nothing was copied before the first checkpoint
      const before = new Set(strList(undoData.preexisting));
      const now = (await fileSizes(ctx.host(p.to), p.path)) ?? new Map<string, number>();
      await removeFiles(
        ctx.host(p.to),
        p.path,
        [...now.keys()].filter((n) => !before.has(n)),
      );
    },
  };
}
