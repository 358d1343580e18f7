/**
 * config.edit (finalize): removes options, e.g. nova's compute RPC pin and the FFU workaround, but only once every
 * nova-compute service reports at least `requireComputesAtLeast` (service versions from nova's own table, mapped
 * to releases by nova's SERVICE_VERSION_ALIASES): removing the pin while an old compute remains makes the
 * controller speak an RPC version that compute does not understand. Undo restores the backup.
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import { getValue, parseIni, removeOption, serializeIni } from "../../config/oslo-ini.js";
import { NOVA_SERVICE_VERSIONS, releaseOfNovaVersion } from "../../discovery/sql-rows.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { withSql } from "../sql.js";
import { configDiff } from "../../config/diff.js";
import { backupOnce, checkpointFiles, restoreBackups } from "./file-backup.js";
import { checkPath } from "./paths.js";

interface EditParams {
  file: string;
  remove: { section: string; key: string }[];
  requireComputesAtLeast?: string;
}

function read(raw: JsonObject): EditParams {
  const p = new Params("config.edit", raw);
  const remove = p.objs("remove", []).map((o) => {
    const q = new Params("config.edit remove", o);
    return { section: q.str("section"), key: q.str("key") };
  });
  const req = p.optStr("requireComputesAtLeast");
  return {
    file: checkPath(p.str("file"), "config file"),
    remove,
    ...(req ? { requireComputesAtLeast: req } : {}),
  };
}

export interface ComputeVersion {
  readonly host: string;
  readonly version: number;
}

/** Computes below `release`, described for a message; throws when the release has no known service version. */
export function computesBelow(computes: readonly ComputeVersion[], release: string): string[] {
  const min = NOVA_SERVICE_VERSIONS.find(([r]) => r === release.toLowerCase())?.[1];
  if (min === undefined) {
    throw new UserError(
      "NOVA_VERSION_UNKNOWN",
      `handover does not know nova's service version for ${release}`,
      {
        nextSteps: ["Check every compute's release yourself, then remove the pin by hand."],
      },
    );
  }
  return computes
    .filter((c) => c.version < min)
    .map((c) => `${c.host} (version ${c.version}, ${releaseOfNovaVersion(c.version) ?? "before victoria"})`);
}

async function computeVersions(deps: StepDeps, ctx: StepContext): Promise<ComputeVersion[]> {
  const rows = await withSql(deps, ctx, "new", (s) =>
    s.query("SELECT host, version FROM nova.services WHERE `binary` = 'nova-compute' AND deleted = 0"),
  );
  return rows.map((r) => ({ host: String(r.host), version: Number(r.version) }));
}

export function configEditStep(deps: StepDeps): StepImpl {
  return {
    kind: "config.edit",
    async run(ctx, raw) {
      const p = read(raw);
      const neu = ctx.host("new");
      if (p.requireComputesAtLeast) {
        const old = computesBelow(await computeVersions(deps, ctx), p.requireComputesAtLeast);
        if (old.length > 0) {
          throw new UserError(
            "COMPUTES_TOO_OLD",
            `${old.length} nova-compute service(s) run a release older than ${p.requireComputesAtLeast}: ${old.join(", ")}; the pin stays`,
            {
              nextSteps: [
                `Upgrade those computes to ${p.requireComputesAtLeast} (or delete the services of computes that are gone), then run finalize again.`,
              ],
            },
          );
        }
      }
      const undo = checkpointFiles(ctx, [p.file]);
      const before = (await neu.readFile(p.file)).toString("utf8");
      let doc = parseIni(before);
      for (const r of p.remove) doc = removeOption(doc, r.section, r.key);
      const after = serializeIni(doc);
      if (after === before) return { ...undo, diffs: [] };
      await backupOnce(neu, "edit", p.file);
      await neu.writeFileAtomic(p.file, after);
      const d = configDiff(p.file, before, after);
      ctx.emit({ type: "log", level: "info", message: `config diff:\n${d.unified}` });
      return { ...undo, diffs: [{ path: p.file, unified: d.unified, added: d.added, removed: d.removed }] };
    },
    async verify(ctx, raw): Promise<VerifyResult> {
      const p = read(raw);
      const doc = parseIni((await ctx.host("new").readFile(p.file)).toString("utf8"));
      const still = p.remove.filter((r) => getValue(doc, r.section, r.key) !== undefined);
      return still.length === 0
        ? {
            ok: true,
            detail: `${p.file}: ${p.remove.map((r) => `[${r.section}] ${r.key}`).join(", ")} not set`,
          }
        : {
            ok: false,
            detail: `${p.file}: still set: ${still.map((r) => `[${r.section}] ${r.key}`).join(", ")}`,
          };
    },
    async undo(ctx, _raw, undoData) {
      await restoreBackups(ctx.host("new"), "edit", undoData);
    },
  };
}
