/**
 * Every step kind the planner emits, with how its undo behaves. The planner and its tests use this table; the
 * engine's StepRegistry must provide an implementation for each kind (src/plan/KINDS.md documents params).
 *
 * - "read-only": changes nothing; undo is a no-op.
 * - "reversible": undo restores the state before the step (from what run/checkpoint recorded).
 * - "covered": changes only new-controller state that an earlier reversible step's undo removes wholesale
 *   (e.g. a schema sync on a database that the import's undo drops); its own undo is a no-op and params name
 *   the covering step in `coveredBy`.
 * - "irreversible": no undo; the step carries `irreversible` with the reason.
 */
export type UndoKind = "read-only" | "reversible" | "covered" | "irreversible";

export const STEP_KINDS = {
  "check.health": "read-only",
  "check.disk": "read-only",
  "check.data": "read-only",
  "check.computes": "read-only",
  "check.neighbours": "read-only",
  "svc.upgrade-check": "read-only",
  "inventory.capture": "read-only",
  "inventory.compare": "read-only",
  "api.check": "read-only",
  "gate.confirm": "read-only",
  "pkg.source": "reversible",
  "pkg.prevent-start": "reversible",
  "pkg.allow-start": "reversible",
  "pkg.install": "reversible",
  "svc.start": "reversible",
  "svc.stop": "reversible",
  "svc.restart": "reversible",
  "db.create": "reversible",
  "amqp.user": "reversible",
  "files.sync": "reversible",
  "files.temp-key": "reversible",
  // Removes the run's temporary key; its undo is nothing (the key must not come back), like net.canary-stop.
  "files.temp-key-remove": "read-only",
  "freeze.stop-apis": "reversible",
  "freeze.haproxy-503": "reversible",
  "db.copy": "reversible",
  "db.convert-charset": "covered",
  "db.copy-tables": "covered",
  "db.rewrite-connection-info": "covered",
  "config.copy": "reversible",
  "config.rewrite": "reversible",
  "config.horizon": "reversible",
  "config.edit": "reversible",
  "svc.manage": "covered",
  "volumes.copy": "reversible",
  "net.local-alias": "reversible",
  "net.move-address": "reversible",
  "net.canary-start": "reversible",
  "net.canary-stop": "read-only",
  "db.snapshot": "read-only",
  "nova.delete-services": "irreversible",
  "nova.pin-computes": "reversible",
  "nova.unpin-computes": "reversible",
} as const satisfies Record<string, UndoKind>;

export type StepKind = keyof typeof STEP_KINDS;

export function undoKindOf(kind: string): UndoKind | undefined {
  return (STEP_KINDS as Record<string, UndoKind>)[kind];
}
