/**
 * Renders a Plan for `handover plan`: plain text grouped by phase (ids, hosts, reads/writes, commands, points of
 * no return), or JSON. Pure functions returning strings; the command decides where they go. Commands in a plan
 * are already redacted by the planner (they never hold secrets); `secrets` is a second line of defence for
 * values the CLI knows (passwords read from the answer file).
 */
import type { Plan, PlannedStep } from "../engine/step.js";
import { PHASES } from "../engine/step.js";
import { redact } from "../lib/redact.js";

const PHASE_TITLES: Record<(typeof PHASES)[number], string> = {
  preflight: "Preflight checks (read-only)",
  provision: "Provision the new controller",
  warm: "Warm copies (before the freeze)",
  freeze: "Freeze writes on the old controller",
  databases: "Databases: dump on old, import on new",
  configs: "Configs: copy and rewrite",
  upgrade: "Upgrade schemas with each service's tools",
  data: "Data: images, volumes, iSCSI connection info",
  services: "Start services in upstream order",
  verify: "Verify the new controller",
  switch: "Switch addresses to the new controller",
  finalize: "Finalize (separate; gives up rollback)",
};

export interface RenderOptions {
  /** Values to scrub from every line, in addition to what the planner already left out. */
  readonly secrets?: readonly string[];
  /** Show params of each step (long). */
  readonly verbose?: boolean;
}

export function renderPlanText(plan: Plan, options: RenderOptions = {}): string {
  const out: string[] = [];
  const irreversible = plan.steps.filter((s) => s.irreversible !== undefined);
  out.push(`Plan: ${plan.sourceRelease} -> ${plan.targetRelease}, ${plan.steps.length} steps`);
  if (irreversible.length > 0) {
    out.push(`Points of no return: ${irreversible.map((s) => s.id).join(", ")}`);
  }
  if (plan.warnings.length > 0) {
    out.push("", "Warnings:");
    for (const w of plan.warnings) out.push(`  ! ${w}`);
  }
  let n = 0;
  for (const phase of PHASES) {
    const steps = plan.steps.filter((s) => s.phase === phase);
    if (steps.length === 0) continue;
    out.push("", `== ${phase}: ${PHASE_TITLES[phase]} (${steps.length})`);
    for (const s of steps) {
      n += 1;
      out.push(...renderStep(s, n, options.verbose ?? false));
    }
  }
  return redact(out.join("\n") + "\n", options.secrets);
}

function renderStep(s: PlannedStep, n: number, verbose: boolean): string[] {
  const lines: string[] = [];
  const mark = s.irreversible !== undefined ? "  [IRREVERSIBLE]" : "";
  lines.push(`${String(n).padStart(3)}. ${s.id}  ${s.title}${mark}`);
  lines.push(`       kind ${s.kind}; hosts ${s.hosts.length > 0 ? s.hosts.join(", ") : "(none)"}`);
  if (s.after.length > 0) lines.push(`       after ${s.after.join(", ")}`);
  if (s.reads.length > 0) lines.push(`       reads ${s.reads.join(", ")}`);
  if (s.writes.length > 0) lines.push(`       writes ${s.writes.join(", ")}`);
  for (const c of s.commands) lines.push(`       $ ${c}`);
  if (s.irreversible !== undefined) lines.push(`       IRREVERSIBLE: ${s.irreversible}`);
  if (verbose) lines.push(`       params ${JSON.stringify(s.params)}`);
  return lines;
}

/** The plan as JSON (stable key order as built), redacted the same way as text. */
export function renderPlanJson(plan: Plan, options: RenderOptions = {}): string {
  return redact(JSON.stringify(plan, null, 2) + "\n", options.secrets);
}
