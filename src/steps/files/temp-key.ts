/**
 * One temporary SSH key per run for the data copies (src/data/temp-key.ts says what the key is and may do):
 * - `files.temp-key` creates it before the warm pass: made on the destination, installed on the source restricted
 *   to the destination's address. Its record (dir, nonce) is journaled BEFORE the source is touched, so undo, a
 *   redo or a rollback can always remove it. A redo (its verify failed on resume, e.g. /tmp on the destination was
 *   wiped) first removes what the earlier attempt left, then makes a new key.
 * - `files.sync` / `volumes.copy` passes name it in `params.keyStep` and read it through `ctx.resultOf`
 *   (`sharedKey` below); when it is gone they fall back to a key of their own for that pass (slower, still safe).
 * - `files.temp-key-remove` removes it after the last pass that uses it. Its undo is nothing: the key must not
 *   come back; a rollback removes it through files.temp-key's undo anyway (idempotent).
 * Each make/remove is a dozen SSH round trips (seconds on the lab): paid once per run instead of once per pass.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { createPullKey } from "../../data/pull.js";
import {
  installedNonces,
  keyOfRecord,
  removeTempKeys,
  tempKeyMissing,
  tempKeyRecords,
  type TempKey,
  type TempKeyRecord,
} from "../../data/temp-key.js";
import { TEMP_DIR_PATTERN } from "../../db/mysql-cli.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";

const STEP_ID = /^[A-Za-z0-9_.-]+$/;

interface KeyParams {
  from: string;
  to: string;
}

function readKey(kind: string, raw: JsonObject): KeyParams {
  const p = new Params(kind, raw);
  return { from: p.str("from", "old"), to: p.str("to", "new") };
}

/** A step id param (`keyStep` of a step that uses the run's key: the files.temp-key step), or undefined. */
export function keyStepParam(kind: string, raw: JsonObject, name = "keyStep"): string | undefined {
  const v = new Params(kind, raw).optStr(name);
  if (v !== undefined && !STEP_ID.test(v))
    throw new UserError("PLAN_PARAM", `${kind}: unusual ${name} ${JSON.stringify(v)}`);
  return v;
}

/** The key files.temp-key recorded (its `current`), when that step is done. */
function recordedKey(ctx: StepContext, keyStep: string): TempKey | undefined {
  const u = ctx.resultOf?.(keyStep);
  const [current] = tempKeyRecords(u?.current === undefined ? [] : [u.current]);
  return current ? keyOfRecord(current) : undefined;
}

/**
 * The run's key for a pass, checked to be in place on both hosts; undefined (with a log line saying why) when the
 * pass must make its own: no key step, that step not done, or its key gone since (a reboot wiped /tmp).
 */
export async function sharedKey(
  ctx: StepContext,
  keyStep: string | undefined,
  dest: Host,
  source: Host,
): Promise<TempKey | undefined> {
  if (keyStep === undefined) return undefined;
  const key = recordedKey(ctx, keyStep);
  const missing = key ? await tempKeyMissing(dest, source, key) : `${keyStep} has not made one (not done)`;
  if (key && missing === undefined) return key;
  ctx.emit({
    type: "log",
    level: "info",
    message: `the run's temporary key cannot be used (${missing}): this pass makes and removes its own`,
  });
  return undefined;
}

/** Temp dirs on `dest` that hold a key pair we made (`/tmp/handover-XXXXXXXXXX/id.pub`), with their nonces. */
async function keyDirs(dest: Host): Promise<{ dir: string; nonce: string }[]> {
  const r = await dest.exec(["find", "/tmp", "-maxdepth", "2", "-path", "/tmp/handover-*/id.pub"]);
  if (r.exitCode !== 0) return [];
  const out: { dir: string; nonce: string }[] = [];
  for (const path of r.stdout.split("\n").filter(Boolean)) {
    const dir = path.slice(0, -"/id.pub".length);
    if (!TEMP_DIR_PATTERN.test(dir)) continue;
    const pub = (await dest.readFile(path).catch(() => Buffer.from(""))).toString("utf8");
    const nonce = /handover-temp-([0-9a-f]{8,})\s*$/.exec(pub)?.[1];
    if (nonce && (await dest.stat(`${dir}/id`)) && (await dest.stat(`${dir}/known_hosts`)))
      out.push({ dir, nonce });
  }
  return out;
}

export function tempKeyStep(_deps: StepDeps): StepImpl {
  return {
    kind: "files.temp-key",
    async run(ctx, raw) {
      const p = readKey("files.temp-key", raw);
      const src = ctx.host(p.from);
      const dest = ctx.host(p.to);
      const earlier = tempKeyRecords(ctx.previousUndoData?.tempKeys);
      // A redo: whatever the earlier attempt installed goes first (its dir may be gone; its line may not).
      await removeTempKeys(dest, src, earlier);
      let made: TempKeyRecord | undefined;
      const key = await createPullKey(dest, src, (r) => {
        made = r;
        ctx.checkpoint?.({ tempKeys: [{ dir: r.dir, nonce: r.nonce }] });
      });
      const rec = made ?? { dir: key.dir, nonce: key.nonce };
      return {
        tempKeys: [{ dir: rec.dir, nonce: rec.nonce }],
        current: { dir: key.dir, nonce: key.nonce },
        source: src.address,
        installedFor: dest.address,
      };
    },

    async verify(ctx, raw): Promise<VerifyResult> {
      const p = readKey("files.temp-key", raw);
      const src = ctx.host(p.from);
      const dest = ctx.host(p.to);
      // Gone on purpose once its removal step is done (a resume re-verifies done steps: not a warning then).
      const removedBy = keyStepParam("files.temp-key", raw, "removedBy");
      if (removedBy !== undefined && ctx.resultOf?.(removedBy) !== undefined)
        return { ok: true, detail: `made, used, and removed by ${removedBy} as planned` };
      // Found from the hosts (verify runs before the journal holds the result): a key pair of ours on the
      // destination whose line is in the source's authorized_keys.
      const installed = new Set(await installedNonces(src));
      const usable = (await keyDirs(dest)).find((k) => installed.has(k.nonce));
      return usable
        ? {
            ok: true,
            detail: `temporary key handover-temp-${usable.nonce} in ${usable.dir} on ${dest.name}, installed on ${src.name}`,
          }
        : { ok: false, detail: `no temporary key of ours on ${dest.name} that ${src.name} accepts` };
    },

    async undo(ctx, raw, undoData) {
      const p = readKey("files.temp-key", raw);
      await removeTempKeys(ctx.host(p.to), ctx.host(p.from), tempKeyRecords(undoData.tempKeys));
    },
  };
}

export function tempKeyRemoveStep(_deps: StepDeps): StepImpl {
  function read(raw: JsonObject): KeyParams & { keyStep: string } {
    const keyStep = keyStepParam("files.temp-key-remove", raw);
    if (keyStep === undefined)
      throw new UserError("PLAN_PARAM", "files.temp-key-remove: keyStep is required");
    return { ...readKey("files.temp-key-remove", raw), keyStep };
  }
  /** Every key the key step recorded (all attempts' records are merged into its undo data). */
  const records = (ctx: StepContext, keyStep: string): TempKeyRecord[] => {
    const u = ctx.resultOf?.(keyStep);
    const all = [
      ...tempKeyRecords(u?.tempKeys),
      ...tempKeyRecords(u?.current === undefined ? [] : [u.current]),
    ];
    return all.filter((r, i) => all.findIndex((x) => x.nonce === r.nonce) === i);
  };
  return {
    kind: "files.temp-key-remove",
    async run(ctx, raw) {
      const p = read(raw);
      const recs = records(ctx, p.keyStep);
      await removeTempKeys(ctx.host(p.to), ctx.host(p.from), recs);
      return { removed: recs.map((r) => ({ dir: r.dir, nonce: r.nonce })) };
    },

    async verify(ctx, raw): Promise<VerifyResult> {
      const p = read(raw);
      const src = ctx.host(p.from);
      const dest = ctx.host(p.to);
      const recs = records(ctx, p.keyStep);
      const installed = new Set(await installedNonces(src));
      const left: string[] = [];
      for (const r of recs) {
        if (installed.has(r.nonce))
          left.push(`handover-temp-${r.nonce} still in ${src.name}'s authorized_keys`);
        // The private key is what matters (and what a fake host's rm -rf leaves no doubt about).
        if (await dest.stat(`${r.dir}/id`)) left.push(`${r.dir}/id still on ${dest.name}`);
      }
      return left.length === 0
        ? {
            ok: true,
            detail: `${recs.length} temporary key(s) of ${p.keyStep} removed from ${src.name} and ${dest.name}`,
          }
        : { ok: false, detail: left.join("; ") };
    },

    // Nothing to restore: the key must not come back. (Rollback also runs files.temp-key's undo: idempotent.)
    async undo() {},
  };
}
