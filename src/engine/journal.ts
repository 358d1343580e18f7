/**
 * The journal: the only memory between handover processes. `journal.jsonl` in the state directory, one JSON record
 * per line, append-only; every append is written and fdatasync'ed before it returns, so a record the engine has
 * acted on survives a crash or power loss. The plan is the first record; later runs check they carry the same
 * plan. A crash mid-write can leave a torn last line: the reader reports it, the writer cuts it off (with a note)
 * before appending. Secrets given to the writer are removed from every string in every record.
 *
 * Appends are synchronous on purpose: concurrent steps journal from the same process, and a synchronous
 * write+fdatasync can neither interleave nor be reordered. Records are small and rare, so blocking is cheap.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BugError, UserError } from "../lib/errors.js";
import { redact } from "../lib/redact.js";
import type { JsonObject, JsonValue, Plan, PlannedStep } from "./step.js";

export const JOURNAL_FILE = "journal.jsonl";

/** What a caller appends; the journal adds `seq` and `at`. */
export type JournalEntry =
  | { type: "plan"; planHash: string; plan: Plan }
  | { type: "run-start"; concurrency: number; resume: boolean }
  | { type: "run-end"; outcome: "completed" | "failed" | "interrupted"; message?: string }
  | { type: "step-start"; stepId: string; attempt: number }
  | { type: "step-checkpoint"; stepId: string; undoData: JsonObject }
  /** `recovered`: the step was interrupted earlier, and verify now shows its work is done. */
  | { type: "step-done"; stepId: string; undoData: JsonObject; verify: string; recovered?: boolean }
  /** `interrupted`: it stopped because of Ctrl-C rather than its own failure. */
  | { type: "step-failed"; stepId: string; message: string; interrupted?: boolean }
  | { type: "step-skip"; stepId: string; reason: string }
  | { type: "undo-start"; stepId: string }
  | { type: "undo-done"; stepId: string }
  | { type: "undo-failed"; stepId: string; message: string }
  | { type: "rollback-start" }
  | { type: "rollback-end"; complete: boolean; message: string }
  | { type: "note"; stepId?: string; level: "info" | "warn"; message: string }
  | { type: "finalized" };

export type JournalRecordType = JournalEntry["type"];
export type JournalRecord = { readonly seq: number; readonly at: string } & JournalEntry;

/** A last line cut short by a crash mid-write. */
export interface TornLine {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly bytes: number;
  /** The first characters, for the operator (records are redacted when written, so this is too). */
  readonly excerpt: string;
}

export interface JournalRead {
  readonly records: JournalRecord[];
  readonly torn?: TornLine;
  /** Byte length of the intact part of the file (everything before a torn line). */
  readonly intactBytes: number;
  /** The last record parsed but its newline was never written. */
  readonly missingNewline: boolean;
}

/** File operations, injectable so tests can observe fsync ordering and simulate a crash mid-write. */
export interface JournalIo {
  /** undefined when the file does not exist. */
  readFile(file: string): Buffer | undefined;
  mkdirp(dir: string): void;
  openAppend(file: string): number;
  write(fd: number, data: Buffer): void;
  datasync(fd: number): void;
  close(fd: number): void;
  truncate(file: string, length: number): void;
  /** fsync a directory so a newly created file's entry is durable. */
  syncDir(dir: string): void;
}

export const nodeJournalIo: JournalIo = {
  readFile(file) {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  },
  mkdirp(dir) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  },
  openAppend(file) {
    // Mode 0600: the journal describes the cloud's internals even with secrets redacted.
    return fs.openSync(file, "a", 0o600);
  },
  write(fd, data) {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  },
  datasync(fd) {
    fs.fdatasyncSync(fd);
  },
  close(fd) {
    fs.closeSync(fd);
  },
  truncate(file, length) {
    fs.truncateSync(file, length);
  },
  syncDir(dir) {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};

/** JSON with object keys sorted, so equal plans serialise (and hash) equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k]]),
      );
    }
    return v;
  });
}

/** Identity of a plan for resume: the steps and releases; the free-text warnings do not count. */
export function planHash(plan: Plan): string {
  const { warnings: _warnings, ...rest } = plan;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

export interface PlanDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  /** Differences outside the steps (releases, version). */
  readonly header: string[];
  readonly same: boolean;
}

export function diffPlans(before: Plan, after: Plan): PlanDiff {
  const a = new Map(before.steps.map((s) => [s.id, canonicalJson(s)]));
  const b = new Map(after.steps.map((s) => [s.id, canonicalJson(s)]));
  const added = [...b.keys()].filter((id) => !a.has(id));
  const removed = [...a.keys()].filter((id) => !b.has(id));
  const changed = [...b.keys()].filter((id) => a.has(id) && a.get(id) !== b.get(id));
  const header: string[] = [];
  if (before.version !== after.version)
    header.push(`version ${String(before.version)} → ${String(after.version)}`);
  if (before.sourceRelease !== after.sourceRelease)
    header.push(`source release ${before.sourceRelease} → ${after.sourceRelease}`);
  if (before.targetRelease !== after.targetRelease)
    header.push(`target release ${before.targetRelease} → ${after.targetRelease}`);
  // Same steps in a different order change the schedule, so they count as a change too.
  const orderChanged =
    added.length === 0 &&
    removed.length === 0 &&
    before.steps.map((s) => s.id).join("\n") !== after.steps.map((s) => s.id).join("\n");
  if (orderChanged) header.push("step order");
  const same = added.length + removed.length + changed.length + header.length === 0;
  return { added, removed, changed, header, same };
}

function describeDiff(d: PlanDiff): string {
  const parts: string[] = [];
  if (d.changed.length > 0) parts.push(`changed: ${d.changed.join(", ")}`);
  if (d.added.length > 0) parts.push(`added: ${d.added.join(", ")}`);
  if (d.removed.length > 0) parts.push(`removed: ${d.removed.join(", ")}`);
  if (d.header.length > 0) parts.push(`also: ${d.header.join(", ")}`);
  return parts.join("; ");
}

function isRecord(v: unknown): v is JournalRecord {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o["seq"] === "number" && typeof o["at"] === "string" && typeof o["type"] === "string";
}

function corrupt(file: string, line: number, why: string): UserError {
  return new UserError("JOURNAL_CORRUPT", `The journal ${file} is damaged at line ${line}: ${why}.`, {
    nextSteps: [
      "Do not edit the journal by hand; restore it from a backup if you have one.",
      "If the damage is in the last lines only, keep a copy of the file and remove those lines, then retry.",
    ],
  });
}

/** Parse journal text. Only the LAST line may be torn (that is what a crash mid-append leaves); anything else is corruption. */
export function parseJournal(data: Buffer, file = JOURNAL_FILE): JournalRead {
  const records: JournalRecord[] = [];
  let pos = 0;
  let line = 0;
  while (pos < data.length) {
    line++;
    const nl = data.indexOf(0x0a, pos);
    const end = nl < 0 ? data.length : nl;
    const text = data.subarray(pos, end).toString("utf8");
    let parsed: unknown;
    let ok = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      ok = false;
    }
    if (!ok || !isRecord(parsed)) {
      if (nl < 0) {
        return {
          records,
          torn: { line, bytes: data.length - pos, excerpt: text.slice(0, 80) },
          intactBytes: pos,
          missingNewline: false,
        };
      }
      throw corrupt(file, line, ok ? "not a journal record" : "not valid JSON");
    }
    const prev = records[records.length - 1];
    if (prev && parsed.seq <= prev.seq) throw corrupt(file, line, `sequence ${parsed.seq} after ${prev.seq}`);
    if (records.length === 0 && parsed.type !== "plan")
      throw corrupt(file, line, "the first record is not the plan");
    records.push(parsed);
    if (nl < 0) return { records, intactBytes: data.length, missingNewline: true };
    pos = nl + 1;
  }
  return { records, intactBytes: data.length, missingNewline: false };
}

/** Read the journal in a state directory without taking the writer role (for `status` and `report`); undefined when there is none. */
export function readJournal(stateDir: string, io: JournalIo = nodeJournalIo): JournalRead | undefined {
  const file = path.join(stateDir, JOURNAL_FILE);
  const data = io.readFile(file);
  if (data === undefined) return undefined;
  const read = parseJournal(data, file);
  // Empty, or only a torn plan record: nothing has been journaled yet.
  return read.records.length === 0 ? undefined : read;
}

function redactDeep(value: JsonValue, secrets: readonly string[]): JsonValue {
  if (typeof value === "string") return redact(value, secrets);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redact(k, secrets), redactDeep(v, secrets)]),
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Derived state

export type StepStatus = "pending" | "running" | "done" | "failed" | "undoing" | "undone" | "undo-failed";

export interface StepState {
  readonly id: string;
  /** The step's definition from the latest plan that contains it. */
  step: PlannedStep;
  status: StepStatus;
  attempts: number;
  /** Why the last attempt (or undo) failed. */
  lastError?: string;
  /** What undo needs: from the last step-done, or the last checkpoint of an unfinished attempt. */
  undoData?: JsonObject;
  verifyDetail?: string;
  startedAt?: string;
  endedAt?: string;
  /** seq of the last step-start; orders unfinished steps for rollback. */
  lastStartSeq?: number;
  /** seq of the last step-done; rollback undoes in reverse of this. */
  doneSeq?: number;
}

export interface JournalState {
  readonly plan: Plan;
  readonly planHash: string;
  /** Latest plan's steps in plan order, then steps only older plans had (kept: rollback may need to undo them). */
  readonly steps: StepState[];
  readonly byId: ReadonlyMap<string, StepState>;
  readonly finalized: boolean;
  readonly finalizedAt?: string;
  readonly lastSeq: number;
  /** `startSeq` orders runs and rollbacks (timestamps can tie). */
  readonly lastRun?: {
    readonly startSeq: number;
    readonly startedAt: string;
    readonly endedAt?: string;
    readonly outcome?: string;
  };
  readonly lastRollback?: {
    readonly startSeq: number;
    readonly startedAt: string;
    readonly endedAt?: string;
    readonly complete?: boolean;
  };
}

export function deriveState(records: readonly JournalRecord[]): JournalState {
  const first = records[0];
  if (!first || first.type !== "plan") throw new BugError("a journal must start with its plan record");
  const byId = new Map<string, StepState>();
  let plan: Plan = first.plan;
  let hash = first.planHash;
  let finalizedAt: string | undefined;
  let lastRun: { startSeq: number; startedAt: string; endedAt?: string; outcome?: string } | undefined;
  let lastRollback: { startSeq: number; startedAt: string; endedAt?: string; complete?: boolean } | undefined;
  const get = (id: string, rec: JournalRecord): StepState => {
    const s = byId.get(id);
    if (!s)
      throw new BugError(`journal record ${rec.seq} names step ${id}, which no plan in the journal has`);
    return s;
  };
  for (const rec of records) {
    switch (rec.type) {
      case "plan":
        plan = rec.plan;
        hash = rec.planHash;
        for (const step of rec.plan.steps) {
          const s = byId.get(step.id);
          if (s) s.step = step;
          else byId.set(step.id, { id: step.id, step, status: "pending", attempts: 0 });
        }
        break;
      case "step-start": {
        const s = get(rec.stepId, rec);
        s.status = "running";
        s.attempts++;
        s.startedAt = rec.at;
        s.endedAt = undefined;
        s.lastStartSeq = rec.seq;
        break;
      }
      case "step-checkpoint":
        get(rec.stepId, rec).undoData = rec.undoData;
        break;
      case "step-done": {
        const s = get(rec.stepId, rec);
        s.status = "done";
        s.undoData = rec.undoData;
        s.verifyDetail = rec.verify;
        s.lastError = undefined;
        s.endedAt = rec.at;
        s.doneSeq = rec.seq;
        break;
      }
      case "step-failed": {
        const s = get(rec.stepId, rec);
        s.status = "failed";
        s.lastError = rec.message;
        s.endedAt = rec.at;
        break;
      }
      case "step-skip":
        get(rec.stepId, rec).verifyDetail = rec.reason;
        break;
      case "undo-start":
        get(rec.stepId, rec).status = "undoing";
        break;
      case "undo-done": {
        const s = get(rec.stepId, rec);
        s.status = "undone";
        s.lastError = undefined;
        // Nothing left to undo; a later run starts the step afresh.
        s.undoData = undefined;
        break;
      }
      case "undo-failed": {
        const s = get(rec.stepId, rec);
        s.status = "undo-failed";
        s.lastError = rec.message;
        break;
      }
      case "run-start":
        lastRun = { startSeq: rec.seq, startedAt: rec.at };
        break;
      case "run-end":
        if (lastRun) {
          lastRun.endedAt = rec.at;
          lastRun.outcome = rec.outcome;
        }
        break;
      case "rollback-start":
        lastRollback = { startSeq: rec.seq, startedAt: rec.at };
        break;
      case "rollback-end":
        if (lastRollback) {
          lastRollback.endedAt = rec.at;
          lastRollback.complete = rec.complete;
        }
        break;
      case "finalized":
        finalizedAt = rec.at;
        break;
      case "note":
        break;
    }
  }
  const inPlan = new Set(plan.steps.map((s) => s.id));
  const steps = [
    ...plan.steps.map((s) => byId.get(s.id)!),
    ...[...byId.values()].filter((s) => !inPlan.has(s.id) && s.status !== "pending"),
  ];
  return {
    plan,
    planHash: hash,
    steps,
    byId: new Map(steps.map((s) => [s.id, s])),
    finalized: finalizedAt !== undefined,
    finalizedAt,
    lastSeq: records[records.length - 1]?.seq ?? 0,
    lastRun,
    lastRollback,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The writer

export interface OpenJournalOptions {
  readonly stateDir: string;
  /** The plan about to run. Required to create a journal; when the journal exists it must match (see below). */
  readonly plan?: Plan;
  /**
   * Accept a plan that differs from the journaled one: a new plan record is appended and steps already done are
   * re-verified by the next run. Without it a different plan is refused.
   * @default false
   */
  readonly acceptPlanChange?: boolean;
  /** Strings removed from every record before it is written. */
  readonly secrets?: readonly string[];
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly io?: JournalIo;
}

export class Journal {
  readonly file: string;
  private readonly records: JournalRecord[];
  private readonly secrets: string[];
  private readonly now: () => Date;
  private readonly io: JournalIo;
  private fd: number | undefined;

  private constructor(file: string, records: JournalRecord[], o: OpenJournalOptions) {
    this.file = file;
    this.records = records;
    this.secrets = [...(o.secrets ?? [])];
    this.now = o.now ?? (() => new Date());
    this.io = o.io ?? nodeJournalIo;
  }

  /**
   * Open (or create) the journal for writing. The caller must hold the state directory's lock (lock.ts).
   * Repairs a torn last line (journaling a note about it) and checks the plan.
   */
  static open(o: OpenJournalOptions): Journal {
    const io = o.io ?? nodeJournalIo;
    const file = path.join(o.stateDir, JOURNAL_FILE);
    const data = io.readFile(file);
    const read = data === undefined ? undefined : parseJournal(data, file);
    if ((read?.records.length ?? 0) === 0 && !o.plan) {
      // Checked before creating anything: `rollback` or `status` in the wrong directory must leave no trace.
      throw new UserError(
        "JOURNAL_MISSING",
        `There is no journal in ${o.stateDir}: nothing has run there yet.`,
        {
          nextSteps: ["Check the state directory (--state-dir), or start with `handover run`."],
        },
      );
    }
    io.mkdirp(o.stateDir);
    const journal = new Journal(file, read?.records ?? [], o);
    if (read?.torn) io.truncate(file, read.intactBytes);
    journal.fd = io.openAppend(file);
    if (data === undefined || read?.records.length === 0) io.syncDir(o.stateDir);
    if (read?.missingNewline) {
      io.write(journal.fd, Buffer.from("\n"));
      io.datasync(journal.fd);
    }
    if (o.plan && journal.records.length === 0) {
      journal.append({ type: "plan", planHash: planHash(o.plan), plan: o.plan });
    } else if (o.plan) {
      // Compare hashes of the plans as given, not the stored copy: the stored one is redacted.
      const { plan: current, planHash: currentHash } = journal.state();
      if (currentHash !== planHash(o.plan)) {
        const d = diffPlans(current, o.plan);
        if (!o.acceptPlanChange) {
          journal.close();
          throw new UserError(
            "JOURNAL_PLAN_CHANGED",
            `The plan differs from the one journaled in ${file} (${describeDiff(d) || "content"}).`,
            {
              nextSteps: [
                "Run `handover rollback` to undo the journaled run, then start again with the new answers.",
                "Or pass --accept-plan-change to continue with the new plan (done steps are re-verified first).",
                "Or use a new --state-dir for a separate migration.",
              ],
            },
          );
        }
        journal.append({ type: "note", level: "warn", message: `plan replaced: ${describeDiff(d)}` });
        journal.append({ type: "plan", planHash: planHash(o.plan), plan: o.plan });
      }
    }
    // After the plan record: the plan must stay the first record even when the torn line was the plan itself.
    if (read?.torn) {
      journal.append({
        type: "note",
        level: "warn",
        message: `discarded a torn last line (line ${read.torn.line}, ${read.torn.bytes} bytes) left by a crash mid-write: ${read.torn.excerpt}`,
      });
    }
    return journal;
  }

  /** Write one record durably (write + fdatasync) and return it as written (redacted, numbered, timed). */
  append(entry: JournalEntry): JournalRecord {
    if (this.fd === undefined) throw new BugError("append to a closed journal");
    const last = this.records[this.records.length - 1];
    const raw = { seq: (last?.seq ?? 0) + 1, at: this.now().toISOString(), ...entry } as unknown as JsonValue;
    const record = redactDeep(raw, this.secrets) as unknown as JournalRecord;
    this.io.write(this.fd, Buffer.from(`${JSON.stringify(record)}\n`, "utf8"));
    this.io.datasync(this.fd);
    this.records.push(record);
    return record;
  }

  /** Remove this journal's secrets from text built outside it (error messages shown to the operator). */
  redactText(text: string): string {
    return redact(text, this.secrets);
  }

  /** Add secrets learned after opening (e.g. passwords read from old configs). */
  addSecrets(secrets: readonly string[]): void {
    for (const s of secrets) if (s.length > 0 && !this.secrets.includes(s)) this.secrets.push(s);
  }

  all(): readonly JournalRecord[] {
    return this.records;
  }

  state(): JournalState {
    return deriveState(this.records);
  }

  close(): void {
    if (this.fd === undefined) return;
    this.io.close(this.fd);
    this.fd = undefined;
  }
}

/**
 * Mark the journal final: the declared point of no return, after which rollback refuses. Only once every step of
 * the current plan is done, so a half-run migration cannot be declared final by accident.
 */
export function finalizeJournal(journal: Journal): JournalRecord {
  const state = journal.state();
  if (state.finalized) {
    throw new UserError("ALREADY_FINALIZED", `The migration was already finalized at ${state.finalizedAt}.`);
  }
  const notDone = state.plan.steps.filter((s) => state.byId.get(s.id)?.status !== "done").map((s) => s.id);
  if (notDone.length > 0) {
    throw new UserError(
      "NOT_READY_TO_FINALIZE",
      `Cannot finalize: ${notDone.length} step(s) are not done (${notDone.slice(0, 5).join(", ")}${notDone.length > 5 ? ", …" : ""}).`,
      { nextSteps: ["Run `handover run` until it completes, then finalize.", "Or run `handover rollback`."] },
    );
  }
  return journal.append({ type: "finalized" });
}
