/**
 * config.horizon: edits the NEW package's `local_settings` in place (never replaced by the old release's file,
 * which names settings and modules the new dashboard no longer has). Each `carryOver` setting takes its value,
 * verbatim as Python source, from the old controller's `oldFile` (`OPENSTACK_HOST` stays right: the address moves
 * to new); `set` assigns fixed strings (`OPENSTACK_KEYSTONE_DEFAULT_ROLE` = a role the migrated keystone has).
 * Undo restores the backup.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import {
  getPythonAssignmentSource,
  getPythonString,
  setPythonAssignmentSource,
  setPythonString,
} from "../../config/horizon.js";
import { configDiff } from "../../config/diff.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { UserError } from "../../lib/errors.js";
import { backupOnce, checkpointFiles, restoreBackups } from "./file-backup.js";
import { checkPath } from "./paths.js";

const SETTING = /^[A-Z_][A-Z0-9_]*$/;

interface HorizonParams {
  file: string;
  oldFile: string;
  carryOver: string[];
  set: Record<string, string>;
}

function read(raw: JsonObject): HorizonParams {
  const p = new Params("config.horizon", raw);
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.obj("set") ?? {})) {
    if (typeof v !== "string") throw new UserError("PLAN_PARAM", `config.horizon: set.${k} must be a string`);
    set[k] = v;
  }
  const carryOver = p.strs("carryOver", []);
  for (const k of [...carryOver, ...Object.keys(set)]) {
    if (!SETTING.test(k))
      throw new UserError("PLAN_PARAM", `config.horizon: unusual setting name ${JSON.stringify(k)}`);
  }
  return {
    file: checkPath(p.str("file"), "settings file"),
    oldFile: checkPath(p.str("oldFile"), "settings file"),
    carryOver,
    set,
  };
}

/** The wanted values: carried-over sources from old (absent there: left as the package sets it) and fixed strings. */
async function wanted(
  ctx: StepContext,
  p: HorizonParams,
): Promise<{ carried: Map<string, string>; notOnOld: string[] }> {
  const oldText = (await ctx.host("old").readFile(p.oldFile)).toString("utf8");
  const carried = new Map<string, string>();
  const notOnOld: string[] = [];
  for (const k of p.carryOver) {
    const rhs = getPythonAssignmentSource(oldText, k);
    if (rhs === undefined) notOnOld.push(k);
    else carried.set(k, rhs);
  }
  return { carried, notOnOld };
}

export function apply(
  text: string,
  carried: ReadonlyMap<string, string>,
  set: Readonly<Record<string, string>>,
): string {
  let out = text;
  for (const [k, rhs] of carried)
    if (getPythonAssignmentSource(out, k) !== rhs) out = setPythonAssignmentSource(out, k, rhs);
  for (const [k, v] of Object.entries(set))
    if (getPythonString(out, k) !== v) out = setPythonString(out, k, v);
  return out;
}

export function configHorizonStep(_deps: StepDeps): StepImpl {
  return {
    kind: "config.horizon",
    async run(ctx, raw) {
      const p = read(raw);
      const neu = ctx.host("new");
      const { carried, notOnOld } = await wanted(ctx, p);
      for (const k of notOnOld) {
        ctx.emit({
          type: "log",
          level: "warn",
          message: `${p.oldFile} on old does not set ${k}; the new package's value stays`,
        });
      }
      const undo = checkpointFiles(ctx, [p.file]);
      const before = (await neu.readFile(p.file)).toString("utf8");
      const after = apply(before, carried, p.set);
      if (after === before) return { ...undo, diffs: [] };
      await backupOnce(neu, "horizon", p.file);
      await neu.writeFileAtomic(p.file, after);
      const d = configDiff(p.file, before, after);
      ctx.emit({ type: "log", level: "info", message: `config diff for horizon:\n${d.unified}` });
      return { ...undo, diffs: [{ path: p.file, unified: d.unified, added: d.added, removed: d.removed }] };
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      const p = read(raw);
      const { carried } = await wanted(ctx, p);
      const text = (await ctx.host("new").readFile(p.file)).toString("utf8");
      const wrong = [
        ...[...carried].filter(([k, rhs]) => getPythonAssignmentSource(text, k) !== rhs).map(([k]) => k),
        ...Object.entries(p.set)
          .filter(([k, v]) => getPythonString(text, k) !== v)
          .map(([k]) => k),
      ];
      return wrong.length === 0
        ? {
            ok: true,
            detail: `${p.file}: ${[...carried.keys(), ...Object.keys(p.set)].join(", ")} as planned`,
          }
        : { ok: false, detail: `${p.file}: not as planned: ${wrong.join(", ")}` };
    },
    async undo(ctx, _raw, undoData) {
      await restoreBackups(ctx.host("new"), "horizon", undoData);
    },
  };
}
