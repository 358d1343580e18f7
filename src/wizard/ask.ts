/**
 * The wizard's one interaction interface (STYLE.md habit 3): every question has a stable id and, where one makes
 * sense, a default. The question flow (flow.ts) only talks to this interface; inquirer-ask.ts binds it to
 * @inquirer/prompts on a terminal, and tests answer through a scripted fake (test/unit/wizard/fake-ask.ts).
 *
 * `validate` returns true or the reason the answer is refused; the prompt shows the reason and asks again, so an
 * answer that fails a check never reaches the flow.
 */

/** true: accepted; a string: refused, with the reason the operator reads. */
export type Validation = true | string;
export type Validator<T> = (value: T) => Validation | Promise<Validation>;

export interface InputQuestion {
  /** Stable id: the answer-file path it fills (`controllers.old.ssh.address`) or a name for a yes/no step. */
  readonly id: string;
  readonly message: string;
  readonly default?: string | undefined;
  readonly validate?: Validator<string>;
}

export interface SecretQuestion {
  readonly id: string;
  readonly message: string;
  readonly validate?: Validator<string>;
}

export interface ConfirmQuestion {
  readonly id: string;
  readonly message: string;
  readonly default: boolean;
}

export interface Choice<T extends string> {
  readonly value: T;
  /** Shown instead of the value when given. */
  readonly name?: string;
  readonly description?: string;
}

export interface SelectQuestion<T extends string> {
  readonly id: string;
  readonly message: string;
  readonly choices: readonly Choice<T>[];
  readonly default?: T | undefined;
}

export interface CheckboxQuestion<T extends string> {
  readonly id: string;
  readonly message: string;
  readonly choices: readonly (Choice<T> & { readonly checked: boolean })[];
  readonly validate?: Validator<readonly T[]>;
}

export interface NumberQuestion {
  readonly id: string;
  readonly message: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface Ask {
  input(q: InputQuestion): Promise<string>;
  /** A secret typed by the operator; never echoed, never shown back. */
  secret(q: SecretQuestion): Promise<string>;
  confirm(q: ConfirmQuestion): Promise<boolean>;
  select<T extends string>(q: SelectQuestion<T>): Promise<T>;
  checkbox<T extends string>(q: CheckboxQuestion<T>): Promise<T[]>;
  number(q: NumberQuestion): Promise<number>;
  /** A line of information (a check's result, what was discovered); not a question. */
  note(text: string): void;
  /** A section heading: what the next questions are about. */
  section(title: string, why: string): void;
}
