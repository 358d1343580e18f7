/**
 * The per-step results the report lists: upgrade checks (svc.upgrade-check journals its exit code, and its verify
 * text carries the check's words), config diffs (config.rewrite/horizon/edit journal `diffs: [{path, unified,
 * added, removed}]`, already masked), copies (files.sync and db.copy journal `bytes` and `seconds`; volumes.copy
 * journals only how many volumes it verified, so its planned volumes' sizes are shown instead) and warnings.
 */
import type { JournalRecord, JournalState } from "../engine/journal.js";
import { arr, num, obj, str, ms, type DoneRecord } from "./records.js";
import type { ConfigDiffs, Transfer, UpgradeCheck, Warning } from "./model.js";

export function upgradeChecks(state: JournalState, done: ReadonlyMap<string, DoneRecord>): UpgradeCheck[] {
  return state.steps
    .filter((s) => s.step.kind === "svc.upgrade-check")
    .map((s): UpgradeCheck => {
      const rec = done.get(s.id);
      const exitCode = num(rec?.undoData, "exitCode");
      const p = s.step.params;
      const host = str(p, "host") ?? (str(p, "failOn") === "none" ? "old" : "new");
      let result: UpgradeCheck["result"] = "not run";
      if (s.status === "failed") result = "failure";
      else if (exitCode !== undefined)
        result = exitCode === 0 ? "ok" : exitCode === 1 ? "warning" : "failure";
      const detail = s.status === "failed" ? s.lastError : (rec?.verify ?? s.verifyDetail);
      return {
        stepId: s.id,
        service: str(p, "service") ?? s.id,
        host,
        status: s.status,
        result,
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(detail ? { detail } : {}),
      };
    });
}

export function configDiffs(state: JournalState, done: ReadonlyMap<string, DoneRecord>): ConfigDiffs[] {
  const out: ConfigDiffs[] = [];
  for (const s of state.steps) {
    const rec = done.get(s.id);
    if (!rec) continue;
    const files = arr(rec.undoData["diffs"])
      .map((d) => obj(d))
      .filter((d) => d !== undefined && typeof d["unified"] === "string" && d["unified"] !== "")
      .map((d) => {
        const added = num(d, "added");
        const removed = num(d, "removed");
        return {
          path: str(d, "path") ?? "?",
          unified: str(d, "unified") ?? "",
          ...(added === undefined ? {} : { added }),
          ...(removed === undefined ? {} : { removed }),
        };
      });
    if (files.length > 0)
      out.push({ stepId: s.id, title: s.step.title, undone: s.status === "undone", files });
  }
  return out;
}

const GIB = 1024 ** 3;

export function transfers(state: JournalState, done: ReadonlyMap<string, DoneRecord>): Transfer[] {
  const out: Transfer[] = [];
  for (const s of state.steps) {
    const { kind, params: p } = s.step;
    if (kind !== "files.sync" && kind !== "db.copy" && kind !== "volumes.copy") continue;
    const u = done.get(s.id)?.undoData;
    const pass = str(p, "pass");
    const base = {
      stepId: s.id,
      title: s.step.title,
      kind,
      status: s.status,
      finished: done.has(s.id),
      ...(pass === undefined ? {} : { pass }),
    };
    const bytes = num(u, "bytes");
    const seconds = num(u, "seconds");
    if (kind === "volumes.copy") {
      const vols = arr(p["volumes"]).map((v) => obj(v));
      const gb = vols.reduce((sum, v) => sum + (num(v, "sizeGb") ?? 0), 0);
      out.push({
        ...base,
        what: `${str(p, "backend") ?? "?"} ${str(p, "location") ?? ""}`.trim(),
        volumes: vols.length,
        provisionedBytes: gb * GIB,
        // Journaled by volumes.copy since it reuses the run's key (older journals have no figures).
        ...(bytes === undefined ? {} : { bytes }),
        ...(seconds === undefined ? {} : { seconds }),
      });
      continue;
    }
    out.push({
      ...base,
      what: kind === "db.copy" ? `database ${str(p, "database") ?? "?"}` : (str(p, "path") ?? "?"),
      ...(bytes === undefined ? {} : { bytes }),
      ...(seconds === undefined ? {} : { seconds }),
    });
  }
  return out;
}

export function warnings(records: readonly JournalRecord[], state: JournalState): Warning[] {
  const out: Warning[] = state.plan.warnings.map((message) => ({ source: "plan" as const, message }));
  for (const r of records) {
    const atMs = ms(r.at);
    if (r.type === "note" && r.level === "warn") {
      out.push({ source: "note", atMs, ...(r.stepId ? { stepId: r.stepId } : {}), message: r.message });
    } else if (r.type === "step-failed") {
      out.push({ source: "failed", atMs, stepId: r.stepId, message: r.message });
    } else if (r.type === "undo-failed") {
      out.push({ source: "undo-failed", atMs, stepId: r.stepId, message: r.message });
    } else if (r.type === "run-end" && r.outcome === "interrupted" && r.message) {
      // A failed run's message repeats its step-failed records; an interruption says what it stopped.
      out.push({ source: "run", atMs, message: r.message });
    }
  }
  return out;
}
