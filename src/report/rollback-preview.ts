/**
 * "What rollback would do now": the same selection and order as `handover rollback` (rollbackCandidates from
 * src/engine/rollback.ts), the same blocking rule (an irreversible step that was done or started blocks it and
 * everything older), and for each step a sentence saying what its undo changes, from its kind, params and undo
 * data (src/plan/KINDS.md is the contract these sentences summarise). Nothing is run.
 */
import type { JournalState, StepState } from "../engine/journal.js";
import { needsUndo, rollbackCandidates } from "../engine/rollback.js";
import type { JsonObject } from "../engine/step.js";
import { undoKindOf } from "../plan/kinds.js";
import type { RollbackItem, RollbackPreview } from "./model.js";
import { arr, num, str } from "./records.js";

function list(v: JsonObject | undefined, key: string): string[] {
  return arr(v?.[key]).filter((x): x is string => typeof x === "string");
}

/** What the step's undo changes, in one sentence. */
export function undoDescription(s: StepState): string {
  const p = s.step.params;
  const u = s.undoData;
  const host = str(p, "host") ?? str(u, "host") ?? s.step.hosts[0] ?? "its host";
  switch (s.step.kind) {
    case "pkg.source":
      return `remove the package source ${str(p, "file") ?? ""} on ${host} (or put back the file it replaced)`;
    case "pkg.prevent-start":
      return `remove /usr/sbin/policy-rc.d on ${host} (or put back the file it replaced)`;
    case "pkg.allow-start":
      return `put /usr/sbin/policy-rc.d back on ${host}`;
    case "pkg.install":
      return `purge the packages this step newly installed on ${host}`;
    case "svc.start": {
      const started = list(u, "started");
      return started.length === 0
        ? `nothing: its units on ${host} were already running`
        : `stop on ${host} the units it started: ${started.join(", ")}`;
    }
    case "svc.stop":
    case "freeze.stop-apis": {
      const stopped = list(u, "wereActive");
      return stopped.length === 0
        ? `nothing: none of its units on ${host} was running`
        : `start again on ${host} the units it stopped: ${stopped.join(", ")}`;
    }
    case "svc.restart":
      return `restart ${list(p, "units").join(", ") || "its units"} on ${host} (with the config its own step restores)`;
    case "freeze.haproxy-503":
      return `restore the previous HAProxy config on ${host}`;
    case "db.create":
      return `drop the databases and database user it created on ${host}`;
    case "amqp.user":
      return `delete the RabbitMQ user and vhost it created on ${host}`;
    case "files.sync":
      return `remove the files it created under ${str(p, "path") ?? "?"} on ${str(p, "to") ?? "new"}`;
    case "db.copy":
      return `drop database ${str(p, "database") ?? "?"} on ${str(p, "to") ?? "new"} and recreate it empty`;
    case "config.copy":
      return `restore ${str(p, "dir") ?? "the config directory"} on new from its backup`;
    case "config.rewrite":
      return `restore ${str(p, "service") ?? "the service"}'s config files on new from their backups`;
    case "config.horizon":
    case "config.edit":
      return `restore ${str(p, "file") ?? "the file"} on ${host} from its backup`;
    case "volumes.copy": {
      const created = list(u, "created").length;
      return created === 0
        ? "nothing: it created no volume (an earlier pass did)"
        : `remove the ${created} volume(s) it created in ${str(p, "location") ?? "?"} on new`;
    }
    case "net.canary-start":
      return `stop the canary pings on ${str(p, "compute") ?? "the compute"} and remove their files`;
    case "net.local-alias":
      return `remove the loopback alias ${str(p, "address") ?? "?"} from new and restore its ARP sysctls`;
    case "net.move-address": {
      const prefix = num(p, "prefix");
      const addr = `${str(p, "address") ?? "?"}${prefix === undefined ? "" : `/${prefix}`}`;
      return `move ${addr} back to old's ${str(p, "oldInterface") ?? "interface"} and announce it from old (gratuitous ARP)`;
    }
    default:
      break;
  }
  const kind = undoKindOf(s.step.kind);
  if (kind === "read-only") return "nothing (read-only)";
  if (kind === "covered")
    return `nothing of its own (covered by ${coveringSteps(p) ?? "another step"}'s undo)`;
  return `the ${s.step.kind} step's own undo`;
}

/** Read-only or covered kinds; start/stop steps with no unit to stop or start again; a copy that created nothing. */
function changesNothing(s: StepState): boolean {
  const k = undoKindOf(s.step.kind);
  if (k === "read-only" || k === "covered") return true;
  if (s.step.kind === "svc.start") return list(s.undoData, "started").length === 0;
  if (s.step.kind === "volumes.copy") return list(s.undoData, "created").length === 0;
  if (s.step.kind === "svc.stop" || s.step.kind === "freeze.stop-apis")
    return list(s.undoData, "wereActive").length === 0;
  return false;
}

export function rollbackPreview(state: JournalState): RollbackPreview {
  const refused = state.finalized
    ? `The migration was finalized at ${state.finalizedAt ?? "?"}: rollback is refused.`
    : undefined;
  const items: RollbackItem[] = [];
  let blockedBy: StepState | undefined;
  for (const s of rollbackCandidates(state)) {
    const base = {
      stepId: s.id,
      title: s.step.title,
      kind: s.step.kind,
      hosts: s.step.hosts,
      status: s.status,
      ...(s.step.irreversible === undefined ? {} : { irreversible: s.step.irreversible }),
    };
    if (!needsUndo(s)) {
      items.push({ ...base, action: "already-undone", description: "undone by an earlier rollback" });
    } else if (blockedBy) {
      items.push({
        ...base,
        action: "blocked",
        description: `not undone: older than irreversible ${blockedBy.id}`,
      });
    } else if (s.step.irreversible !== undefined) {
      blockedBy = s;
      items.push({ ...base, action: "blocked", description: `cannot be undone: ${s.step.irreversible}` });
    } else {
      items.push({ ...base, action: changesNothing(s) ? "no-op" : "undo", description: undoDescription(s) });
    }
  }
  return { ...(refused ? { refused } : {}), items };
}

/** `params.coveredBy` as text: one step id or a list of them. */
function coveringSteps(p: JsonObject): string | undefined {
  const ids = [str(p, "coveredBy"), ...arr(p["coveredBy"])].filter((x): x is string => typeof x === "string");
  return ids.length > 0 ? ids.join(" + ") : undefined;
}
