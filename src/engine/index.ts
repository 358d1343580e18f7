/** The engine's public surface, for the commands (src/cli) and the report. */
export * from "./step.js";
export {
  JOURNAL_FILE,
  Journal,
  deriveState,
  diffPlans,
  finalizeJournal,
  planHash,
  readJournal,
  type JournalEntry,
  type JournalRecord,
  type JournalState,
  type StepState,
  type StepStatus,
  type TornLine,
} from "./journal.js";
export { LOCK_FILE, acquireLock, pidIsAlive, readLockInfo, type Lock, type LockInfo } from "./lock.js";
export { DEFAULT_CONCURRENCY, runPlan, type RunPlanOptions, type RunSummary } from "./run.js";
export { rollbackJournal, type RollbackOptions, type RollbackResult, type UndoOutcome } from "./rollback.js";
export { formatStatus, summarizeJournal, type StatusSummary } from "./status.js";
export { openStateForWrite, readStatus, type OpenState } from "./state-dir.js";
export { resourcesOverlap, stepsConflict } from "./resources.js";
export { validatePlan } from "./validate-plan.js";
