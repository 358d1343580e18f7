/**
 * `Ask` on a terminal, through @inquirer/prompts. Validation runs inside the prompt, so a refused answer shows its
 * reason under the question and the operator edits it in place. Ctrl-C (or Ctrl-D) at any prompt ends the wizard
 * with WIZARD_CANCELLED; nothing is written then.
 */
import { checkbox, confirm, input, number, password, select } from "@inquirer/prompts";
import { UserError } from "../lib/errors.js";
import type { Ask, CheckboxQuestion, SelectQuestion } from "./ask.js";

export interface InquirerAskOptions {
  /** Where notes and section headings go (the CLI's stdout). */
  readonly print: (text: string) => void;
  /** Aborts the open prompt (e.g. on a signal). */
  readonly signal?: AbortSignal;
}

/** Inquirer rejects with ExitPromptError on Ctrl-C / Ctrl-D and AbortPromptError on the signal. */
async function prompt<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    const name = e instanceof Error ? e.name : "";
    if (name === "ExitPromptError" || name === "AbortPromptError" || name === "CancelPromptError") {
      throw new UserError("WIZARD_CANCELLED", "wizard cancelled; the answer file was not written", {
        nextSteps: ["Run `handover wizard` again; answers already saved in a file are offered as defaults."],
      });
    }
    throw e;
  }
}

export function inquirerAsk(o: InquirerAskOptions): Ask {
  const ctx = o.signal ? { signal: o.signal } : {};
  return {
    input: (q) =>
      prompt(
        input(
          {
            message: q.message,
            ...(q.default !== undefined && q.default !== "" ? { default: q.default } : {}),
            ...(q.validate ? { validate: q.validate } : {}),
          },
          ctx,
        ),
      ),
    secret: (q) =>
      prompt(
        password({ message: q.message, mask: "*", ...(q.validate ? { validate: q.validate } : {}) }, ctx),
      ),
    confirm: (q) => prompt(confirm({ message: q.message, default: q.default }, ctx)),
    select: <T extends string>(q: SelectQuestion<T>) =>
      prompt(
        select<T>(
          {
            message: q.message,
            choices: q.choices.map((c) => ({
              value: c.value,
              name: c.name ?? c.value,
              ...(c.description !== undefined ? { description: c.description } : {}),
            })),
            ...(q.default !== undefined ? { default: q.default } : {}),
            pageSize: 16,
          },
          ctx,
        ),
      ),
    checkbox: <T extends string>(q: CheckboxQuestion<T>) =>
      prompt(
        checkbox<T>(
          {
            message: q.message,
            choices: q.choices.map((c) => ({
              value: c.value,
              name: c.name ?? c.value,
              checked: c.checked,
              ...(c.description !== undefined ? { description: c.description } : {}),
            })),
            pageSize: 16,
            ...(q.validate
              ? {
                  validate: (chosen: readonly { value: T }[]) => q.validate!(chosen.map<T>((c) => c.value)),
                }
              : {}),
          },
          ctx,
        ),
      ),
    number: async (q) =>
      (await prompt(
        number(
          { message: q.message, default: q.default, min: q.min, max: q.max, required: true, step: 1 },
          ctx,
        ),
      )) ?? q.default,
    note: (text) => o.print(text),
    section: (title, why) => o.print(`\n── ${title} ──\n${why}`),
  };
}
