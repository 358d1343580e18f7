/** A scripted Ask; behaviour documented in FAKES.md beside this file. */
import type {
  Ask,
  CheckboxQuestion,
  ConfirmQuestion,
  InputQuestion,
  NumberQuestion,
  SecretQuestion,
  SelectQuestion,
  Validation,
} from "../../../src/wizard/ask.js";

export const DEFAULT = Symbol("default");
const MAX_QUESTIONS = 300;
export type Scripted = string | number | boolean | readonly string[] | typeof DEFAULT;

export interface Asked {
  readonly id: string;
  readonly kind: "input" | "secret" | "confirm" | "select" | "checkbox" | "number";
  readonly message: string;
  readonly default: unknown;
}

export class FakeAsk implements Ask {
  readonly asked: Asked[] = [];
  readonly refused: { id: string; value: unknown; reason: string }[] = [];
  readonly notes: string[] = [];
  private readonly script: Map<string, Scripted[]>;

  constructor(script: Record<string, Scripted | Scripted[]>) {
    this.script = new Map(
      Object.entries(script).map(([k, v]) => [
        k,
        Array.isArray(v) && !isStringList(k, v) ? [...v] : [v as Scripted],
      ]),
    );
  }

  /** The defaults offered for an id, in the order the question was asked. */
  defaultsOf(id: string): unknown[] {
    return this.asked.filter((a) => a.id === id).map((a) => a.default);
  }

  private next(id: string): Scripted | undefined {
    const list = this.script.get(id);
    return list && list.length > 0 ? list.shift() : undefined;
  }

  private async answer<T>(
    id: string,
    kind: Asked["kind"],
    message: string,
    def: T | undefined,
    convert: (v: Scripted) => T,
    validate?: (v: T) => Validation | Promise<Validation>,
  ): Promise<T> {
    this.asked.push({ id, kind, message, default: def });
    // A check that keeps failing re-asks forever when every answer is the default: stop the test instead.
    if (this.asked.length > MAX_QUESTIONS)
      throw new Error(`FakeAsk: more than ${MAX_QUESTIONS} questions (last: ${id})`);
    for (let tries = 0; ; tries++) {
      const s = this.next(id);
      let value: T;
      if (s === undefined || s === DEFAULT) {
        if (def === undefined) {
          throw new Error(
            tries > 0
              ? `FakeAsk: ${id} refused (${this.refused.at(-1)?.reason}) and no more answers`
              : `FakeAsk: no answer scripted for ${id} and no default ("${message}")`,
          );
        }
        value = def;
      } else value = convert(s);
      const ok = validate ? await validate(value) : true;
      if (ok === true) return value;
      this.refused.push({ id, value, reason: ok });
      if (s === undefined || s === DEFAULT) throw new Error(`FakeAsk: default of ${id} refused: ${ok}`);
    }
  }

  input(q: InputQuestion): Promise<string> {
    return this.answer(q.id, "input", q.message, q.default, String, q.validate);
  }
  secret(q: SecretQuestion): Promise<string> {
    return this.answer(q.id, "secret", q.message, undefined, String, q.validate);
  }
  confirm(q: ConfirmQuestion): Promise<boolean> {
    return this.answer(q.id, "confirm", q.message, q.default, (v) => v === true || v === "yes");
  }
  select<T extends string>(q: SelectQuestion<T>): Promise<T> {
    const values = q.choices.map((c) => c.value);
    return this.answer(q.id, "select", q.message, q.default ?? values[0], (v) => {
      if (!values.includes(v as T))
        throw new Error(`FakeAsk: ${String(v)} is not a choice of ${q.id}: ${values.join(", ")}`);
      return v as T;
    });
  }
  checkbox<T extends string>(q: CheckboxQuestion<T>): Promise<T[]> {
    const values = q.choices.map((c) => c.value);
    const def = q.choices.filter((c) => c.checked).map((c) => c.value);
    return this.answer(
      q.id,
      "checkbox",
      q.message,
      def,
      (v) => {
        const list = v as readonly string[];
        for (const x of list)
          if (!values.includes(x as T)) throw new Error(`FakeAsk: ${x} is not a choice of ${q.id}`);
        return list as T[];
      },
      q.validate,
    );
  }
  number(q: NumberQuestion): Promise<number> {
    return this.answer(q.id, "number", q.message, q.default, Number, (n) =>
      Number.isInteger(n) && n >= q.min && n <= q.max ? true : `expected ${q.min}-${q.max}`,
    );
  }
  note(text: string): void {
    this.notes.push(text);
  }
  section(title: string): void {
    this.notes.push(`## ${title}`);
  }
}

/** `services: ["nova", "glance"]` is one checkbox answer, not two answers. */
function isStringList(id: string, v: readonly unknown[]): boolean {
  return id === "services" && v.every((x) => typeof x === "string");
}
