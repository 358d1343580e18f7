/**
 * Reading a step's params (plain JSON from the plan) with their types checked: a malformed plan is our bug,
 * reported as one naming the kind and the field.
 */
import type { JsonObject, JsonValue } from "../engine/step.js";
import { BugError } from "../lib/errors.js";

export class Params {
  constructor(
    private readonly kind: string,
    readonly raw: JsonObject,
  ) {}

  private bad(key: string, what: string): never {
    throw new BugError(`${this.kind}: param ${key} must be ${what}, got ${JSON.stringify(this.raw[key])}`);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  str(key: string, fallback?: string): string {
    const v = this.raw[key];
    if (typeof v === "string") return v;
    if (v === undefined && fallback !== undefined) return fallback;
    return this.bad(key, "a string");
  }

  optStr(key: string): string | undefined {
    return this.has(key) ? this.str(key) : undefined;
  }

  strs(key: string, fallback?: string[]): string[] {
    const v = this.raw[key];
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
    if (v === undefined && fallback !== undefined) return fallback;
    return this.bad(key, "a list of strings");
  }

  nums(key: string, fallback?: number[]): number[] {
    const v = this.raw[key];
    if (Array.isArray(v) && v.every((x) => typeof x === "number")) return v;
    if (v === undefined && fallback !== undefined) return fallback;
    return this.bad(key, "a list of numbers");
  }

  num(key: string, fallback?: number): number {
    const v = this.raw[key];
    if (typeof v === "number") return v;
    if (v === undefined && fallback !== undefined) return fallback;
    return this.bad(key, "a number");
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key];
    if (typeof v === "boolean") return v;
    if (v === undefined) return fallback;
    return this.bad(key, "a boolean");
  }

  objs(key: string, fallback?: JsonObject[]): JsonObject[] {
    const v = this.raw[key];
    if (Array.isArray(v) && v.every(isObject)) return v;
    if (v === undefined && fallback !== undefined) return fallback;
    return this.bad(key, "a list of objects");
  }

  obj(key: string): JsonObject | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (isObject(v)) return v;
    return this.bad(key, "an object");
  }
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strings of a list in undo data (absent or malformed: empty). */
export function strList(v: JsonValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Union keeping first-seen order. */
export function union(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}
