/**
 * The values of an existing answer file, offered as defaults when the wizard runs again. Read from the raw YAML
 * data rather than the validated answers, so a half-finished or invalid file still gives what it can: each
 * getter returns undefined for a missing or wrongly typed value.
 */
import type { SecretRef } from "../answers/index.js";

export type Raw = unknown;

export function at(data: Raw, ...path: (string | number)[]): Raw {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

export function str(data: Raw, ...path: (string | number)[]): string | undefined {
  const v = at(data, ...path);
  if (typeof v === "number") return String(v);
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function num(data: Raw, ...path: (string | number)[]): number | undefined {
  const v = at(data, ...path);
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function bool(data: Raw, ...path: (string | number)[]): boolean | undefined {
  const v = at(data, ...path);
  return typeof v === "boolean" ? v : undefined;
}

export function list(data: Raw, ...path: (string | number)[]): unknown[] {
  const v = at(data, ...path);
  return Array.isArray(v) ? v : [];
}

export function secretRef(data: Raw, ...path: (string | number)[]): SecretRef | undefined {
  const v = at(data, ...path);
  if (typeof v === "string" && v !== "") return v;
  const env = str(v, "env");
  if (env !== undefined) return { env };
  const file = str(v, "file");
  if (file !== undefined) return { file };
  return undefined;
}

export function oneOf<T extends string>(values: readonly T[], v: string | undefined): T | undefined {
  return values.find((x) => x === v);
}
