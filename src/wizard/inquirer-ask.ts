/**
 * `Ask` on a terminal, through @inquirer/prompts. Validation runs inside the prompt, so a refused answer shows its
 * reason under the question and the operator edits it in place. Ctrl-C (or Ctrl-D) at any prompt ends the wizard
 * with WIZARD_CANCELLED; nothing is written then.
 */
import { checkbox, confirm, input, number, password, select } from "@inquirer/prompts";
import { UserError } from "../lib/errors.js";
import type {
  Ask,
  CheckboxQuestion,
  ConfirmQuestion,
  InputQuestion,
  NumberQuestion,
  SecretQuestion,
  SelectQuestion,
} from "./ask.js";

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

/**
 * The prompt configurations, separate from the prompts so tests can render the very same configuration with
 * @inquirer/testing (test/unit/wizard/inquirer-ask.test.ts).
 */
export const promptConfig = {
  input: (q: InputQuestion) => ({
    message: q.message,
    ...(q.default !== undefined && q.default !== "" ? { default: q.default } : {}),
    ...(q.validate ? { validate: q.validate } : {}),
  }),
  secret: (q: SecretQuestion) => ({
    message: q.message,
    mask: "*",
    ...(q.validate ? { validate: q.validate } : {}),
  }),
  confirm: (q: ConfirmQuestion) => ({ message: q.message, default: q.default }),
  select: <T extends string>(q: SelectQuestion<T>) => ({
    message: q.message,
    choices: q.choices.map((c) => ({
      value: c.value,
      name: c.name ?? c.value,
      ...(c.description !== undefined ? { description: c.description } : {}),
    })),
    ...(q.default !== undefined ? { default: q.default } : {}),
    pageSize: 16,
  }),
  checkbox: <T extends string>(q: CheckboxQuestion<T>) => ({
    message: q.message,
    choices: q.choices.map((c) => ({
      value: c.value,
      name: c.name ?? c.value,
      checked: c.checked,
      ...(c.description !== undefined ? { description: c.description } : {}),
    })),
    pageSize: 16,
    ...(q.validate
      ? { validate: (chosen: readonly { value: T }[]) => q.validate!(chosen.map<T>((c) => c.value)) }
      : {}),
  }),
  number: (q: NumberQuestion) => ({
    message: q.message,
    default: q.default,
    min: q.min,
    max: q.max,
    required: true as const,
    step: 1,
  }),
};

export function inquirerAsk(o: InquirerAskOptions): Ask {
  const ctx = o.signal ? { signal: o.signal } : {};
  return {
    input: (q) => prompt(input(promptConfig.input(q), ctx)),
    secret: (q) => prompt(password(promptConfig.secret(q), ctx)),
    confirm: (q) => prompt(confirm(promptConfig.confirm(q), ctx)),
    select: <T extends string>(q: SelectQuestion<T>) => prompt(select<T>(promptConfig.select(q), ctx)),
    checkbox: <T extends string>(q: CheckboxQuestion<T>) =>
      prompt(checkbox<T>(promptConfig.checkbox(q), ctx)),
    number: async (q) => await prompt(number(promptConfig.number(q), ctx)),
    note: (text) => o.print(text),
    section: (title, why) => o.print(`\n── ${title} ──\n${why}`),
  };
}
