/**
 * gate.confirm: the operator's yes before the switch. The question goes through `deps.confirm` (the CLI asks on
 * a TTY, or answers from the answer file's `options.<answerKey>` / `--yes`). A refusal stops the run before the
 * switch; the run is resumable (the gate asks again).
 *
 * Verify: a confirmation is no state on any host, so verify is true only for a question confirmed in THIS process.
 * That is deliberate: the engine recovers an interrupted or failed step as done when verify passes, and a refused
 * gate must never be recovered as confirmed. The price: a resumed run asks a done gate again (with the answer file
 * or --yes that is automatic).
 */
import type { StepImpl } from "../../engine/step.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";

export function gateSteps(deps: StepDeps): StepImpl[] {
  const confirmed = new Set<string>();
  const gate: StepImpl = {
    kind: "gate.confirm",
    async run(ctx, raw) {
      const p = new Params("gate.confirm", raw);
      const question = p.str("question");
      const answerKey = p.str("answerKey");
      const yes = deps.confirm ? await deps.confirm(question, answerKey) : false;
      if (!yes) {
        throw new UserError("GATE_REFUSED", `not confirmed: ${question}`, {
          nextSteps: [
            "Run handover run again when you are ready (it resumes here), or set the answer in the answer file / pass --yes.",
          ],
        });
      }
      confirmed.add(question);
      ctx.emit({ type: "log", level: "info", message: `confirmed: ${question}` });
      return { confirmed: true, at: ctx.now().toISOString() };
    },
    verify(_ctx, raw) {
      const question = new Params("gate.confirm", raw).str("question");
      return Promise.resolve(
        confirmed.has(question)
          ? { ok: true, detail: `confirmed: ${question}` }
          : { ok: false, detail: "not confirmed in this run (the gate asks again)" },
      );
    },
    undo: () => Promise.resolve(), // a question changes nothing
  };
  return [gate];
}
