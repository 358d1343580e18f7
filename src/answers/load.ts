/**
 * Loads an answer file: YAML (document API, so positions survive) → zod schema → semantic checks. Every problem
 * becomes a Diagnostic with file:line:col, the field path and what was expected; all of them are reported at
 * once, because an operator fixing a file one error per run gives up.
 */
import { LineCounter, isMap, isSeq, parseDocument } from "yaml";
import type { Document, YAMLError } from "yaml";
import { z } from "zod";
import { UserError } from "../lib/errors.js";
import {
  diagnosticFactory,
  didYouMean,
  formatDiagnostic,
  formatPath,
  sortDiagnostics,
  type Diagnostic,
  type FieldPath,
  type Locate,
} from "./diagnostics.js";
import { AnswersSchema, type Answers } from "./schema.js";
import { checkSemantics, viewOfAnswers, viewOfRaw } from "./semantic.js";
import { inlineSecretWarnings } from "./secrets.js";
import { RELEASES } from "./releases.js";
import { keyText, makeLocator, pathAtOffset } from "./yaml-locate.js";

/** An answer file that passed every check, with what is needed to point back into it later (secrets, check). */
export interface LoadedAnswers {
  readonly file: string;
  readonly answers: Answers;
  readonly warnings: readonly Diagnostic[];
  /** Position of a field in the file, for errors found after loading (e.g. a secret that cannot be read). */
  readonly locate: Locate;
}

export type ParseResult =
  | { readonly ok: true; readonly loaded: LoadedAnswers }
  | {
      readonly ok: false;
      readonly errors: readonly Diagnostic[];
      readonly warnings: readonly Diagnostic[];
      /**
       * Which check failed. After "yaml" nothing else ran; after "schema" the cross-field checks ran only on
       * the parts that are valid on their own, so fixing those parts may reveal more; callers can say so.
       */
      readonly stage: "yaml" | "schema" | "semantic";
    };

export interface ParseOptions {
  /** Release names oldest first; defaults to the list in releases.ts. */
  readonly releases?: readonly string[];
}

/** Parses answer-file text. `file` is only used in messages. Never throws for bad input: see ParseResult. */
export function parseAnswers(text: string, file: string, options: ParseOptions = {}): ParseResult {
  const lineCounter = new LineCounter();
  // uniqueKeys off: duplicates are found below with their field path, which yaml's own error lacks.
  // merge: `<<: *ssh` lets operators share SSH settings between hosts, a YAML 1.1 habit worth keeping.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: true });
  const locate = makeLocator(doc, lineCounter);
  const make = diagnosticFactory(file, locate);
  // A syntax error is named after the field it sits in or right after (where the parser noticed it); a second
  // document belongs to no field.
  const yamlAt = (severity: Diagnostic["severity"], e: YAMLError): Diagnostic => ({
    severity,
    file,
    ...lineCounter.linePos(e.pos[0]),
    path: formatPath(e.code === "MULTIPLE_DOCS" ? [] : pathAtOffset(doc, e.pos[0])),
    message: severity === "error" ? `YAML: ${firstLine(e.message)}` : firstLine(e.message),
  });
  const warnings = doc.warnings.map((w) => yamlAt("warning", w));
  const syntax = doc.errors.map((e) => yamlAt("error", e));
  if (syntax.length > 0) return { ok: false, errors: sortDiagnostics(syntax), warnings, stage: "yaml" };

  const duplicates = duplicateKeys(doc, lineCounter, make);
  let data: unknown;
  try {
    data = doc.toJS(); // yaml caps alias expansion (maxAliasCount 100) against "billion laughs" files
  } catch (e) {
    const error = make("error", [], `YAML: ${e instanceof Error ? e.message : String(e)}`);
    return { ok: false, errors: [error], warnings, stage: "yaml" };
  }
  const releases = options.releases ?? RELEASES;
  const parsed = AnswersSchema.safeParse(data);
  if (!parsed.success) {
    // The cross-field checks still run on the parts that are valid on their own, so one run shows all.
    const semantic = checkSemantics(viewOfRaw(data), make, { releases });
    const errors = [
      ...duplicates,
      ...zodDiagnostics(parsed.error.issues, data, make),
      ...semantic.filter((d) => d.severity === "error"),
    ];
    const allWarnings = sortDiagnostics([...warnings, ...semantic.filter((d) => d.severity === "warning")]);
    return { ok: false, errors: dedupe(sortDiagnostics(errors)), warnings: allWarnings, stage: "schema" };
  }
  const answers = parsed.data;
  const semantic = checkSemantics(viewOfAnswers(answers), make, { releases });
  const errors = [...duplicates, ...semantic.filter((d) => d.severity === "error")];
  const allWarnings = sortDiagnostics([
    ...warnings,
    ...semantic.filter((d) => d.severity === "warning"),
    ...inlineSecretWarnings(answers, make),
  ]);
  if (errors.length > 0) {
    return { ok: false, errors: sortDiagnostics(errors), warnings: allWarnings, stage: "semantic" };
  }
  return { ok: true, loaded: { file, answers, warnings: allWarnings, locate } };
}

export interface LoadOptions extends ParseOptions {
  /** Reads the file (injected so tests need no disk); default: node:fs/promises readFile as UTF-8. */
  readonly readFile?: (path: string) => Promise<string>;
  /** Name in messages; default: the path as given. */
  readonly displayName?: string;
}

async function readWith(path: string, options: LoadOptions): Promise<string> {
  if (options.readFile) return options.readFile(path);
  const { readFile } = await import("node:fs/promises");
  return readFile(path, "utf8");
}

/** Reads and parses; an unreadable file is a UserError, a bad one is `ok: false` with every diagnostic. */
export async function parseAnswersFile(path: string, options: LoadOptions = {}): Promise<ParseResult> {
  let text: string;
  try {
    text = await readWith(path, options);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String(e);
    throw new UserError("ANSWERS_UNREADABLE", `cannot read answer file ${path}: ${why}`, {
      nextSteps: ["Check the path given with -f, or start from templates/answers.example.yaml."],
      cause: e,
    });
  }
  return parseAnswers(text, options.displayName ?? path, options);
}

/** For commands that need valid answers: throws one UserError listing every problem. */
export async function loadAnswers(path: string, options: LoadOptions = {}): Promise<LoadedAnswers> {
  const result = await parseAnswersFile(path, options);
  if (result.ok) return result.loaded;
  throw answersError(result.errors);
}

export function answersError(errors: readonly Diagnostic[]): UserError {
  const lines = errors.map(formatDiagnostic);
  const count = errors.length === 1 ? "1 error" : `${errors.length} errors`;
  return new UserError("ANSWERS_INVALID", `answer file has ${count}:\n  ${lines.join("\n  ")}`, {
    nextSteps: [
      "Fix the fields named above; `handover validate -f FILE` re-checks the file without touching hosts.",
    ],
  });
}

function firstLine(message: string): string {
  // yaml appends " at line N, column M:" and a source excerpt; we give the position ourselves.
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

type Make = ReturnType<typeof diagnosticFactory>;

function duplicateKeys(doc: Document, lineCounter: LineCounter, make: Make): Diagnostic[] {
  const out: Diagnostic[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = keyText(pair.key);
        if (seen.has(key)) {
          const d = make(
            "error",
            [...path, key],
            `duplicate key "${key}": each field may appear only once`,
            "key",
          );
          // The locator finds the first occurrence of the key; point at this, the repeated one.
          const offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
          out.push(offset === undefined ? d : { ...d, ...lineCounter.linePos(offset) });
        }
        seen.add(key);
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return out;
}

// ---- zod issues → diagnostics --------------------------------------------------------------------------------

function valueAt(data: unknown, path: FieldPath): { present: boolean; value: unknown } {
  let current: unknown = data;
  for (const part of path) {
    if (current === null || typeof current !== "object" || !(String(part) in current)) {
      return { present: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[String(part)];
  }
  return { present: true, value: current };
}

/** How a wrong value is shown back: strings quoted, structure named, nothing called nothing. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "object" ? "a mapping" : typeof value;
}

const GENERIC_EXPECTED: Record<string, string> = {
  object: "expected a mapping (key: value lines)",
  array: "expected a list",
  string: "expected a string",
  number: "expected a number",
  boolean: "expected true or false",
};

function expectedText(issue: z.core.$ZodIssue): string {
  // Our schema gives every leaf an "expected ..." message; structural nodes keep zod's default, replaced here.
  if (!issue.message.startsWith("Invalid input") && !issue.message.startsWith("Invalid option")) {
    return issue.message;
  }
  if (issue.code === "invalid_type") return GENERIC_EXPECTED[issue.expected] ?? `expected ${issue.expected}`;
  if (issue.code === "invalid_value")
    return `expected one of: ${issue.values.map((v) => String(v)).join(", ")}`;
  return issue.message;
}

/** Keys a strict object at `path` accepts (for "did you mean" and for listing what is allowed). */
export function knownKeysAt(path: FieldPath): string[] {
  let schema: unknown = AnswersSchema;
  const unwrap = (s: unknown): unknown => {
    for (let i = 0; i < 16; i++) {
      if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault)
        s = s.unwrap();
      else if (s instanceof z.ZodNullable) s = s.unwrap();
      else if (s instanceof z.ZodPipe) s = s.out;
      else break;
    }
    return s;
  };
  schema = unwrap(schema);
  for (const part of path) {
    if (schema instanceof z.ZodObject)
      schema = unwrap((schema.shape as Record<string, unknown>)[String(part)]);
    else if (schema instanceof z.ZodArray) schema = unwrap(schema.element);
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === "number" ? p : String(p)));
}

function zodDiagnostics(issues: readonly z.core.$ZodIssue[], data: unknown, make: Make): Diagnostic[] {
  const out: Diagnostic[] = [];
  const suggested = new Set<string>();
  for (const issue of issues) {
    const path = toPath(issue.path);
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(path);
      for (const key of issue.keys) {
        const guess = didYouMean(key, known);
        if (guess !== undefined) suggested.add(formatPath([...path, guess]));
        const hint =
          guess !== undefined ? `did you mean "${guess}"?` : `expected one of: ${known.join(", ")}`;
        out.push(make("error", [...path, key], `unknown field "${key}"; ${hint}`, "key"));
      }
      continue;
    }
    const { present, value } = valueAt(data, path);
    const expected = expectedText(issue);
    if (!present) {
      out.push(make("error", path, `missing; ${expected}`));
      continue;
    }
    let message = issue.code === "custom" ? expected : `${expected}, got ${describeValue(value)}`;
    if (issue.code === "invalid_value" && typeof value === "string") {
      const guess = didYouMean(
        value,
        issue.values.map((v) => String(v)),
      );
      if (guess !== undefined) message += ` (did you mean "${guess}"?)`;
    }
    out.push(make("error", path, message));
  }
  // A misspelt key also makes the real one "missing": the did-you-mean already says it, once is enough.
  return out.filter((d) => !(d.message.startsWith("missing;") && suggested.has(d.path)));
}

function dedupe(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = `${d.line}:${d.col}:${d.path}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
