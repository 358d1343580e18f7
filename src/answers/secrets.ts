/**
 * Secret references in the answer file: `{env: NAME}`, `{file: path}` or an inline string. They are resolved
 * only when needed, with the environment and file access injected so tests need neither. Values never appear in
 * a message; only where they come from does.
 */
import { join as joinPath, resolve as resolvePath } from "node:path";
import { UserError } from "../lib/errors.js";
import { formatDiagnostic, formatPath, type Diagnostic, type FieldPath, type Locate } from "./diagnostics.js";
import type { Answers, SecretRef } from "./schema.js";

export interface SecretReader {
  readonly env: Readonly<Record<string, string | undefined>>;
  readFile(file: string): Promise<string>;
  stat(file: string): Promise<{ readonly mode: number }>;
  /** Directory of the answer file: relative `{file: ...}` paths are read from there, not from the cwd. */
  readonly baseDir: string;
}

/** The real reader (node:fs). `env` is passed in, never read from process.env here. */
export function nodeSecretReader(
  env: Readonly<Record<string, string | undefined>>,
  baseDir: string,
): SecretReader {
  return {
    env,
    baseDir,
    readFile: async (file) => (await import("node:fs/promises")).readFile(file, "utf8"),
    stat: async (file) => (await import("node:fs/promises")).stat(file),
  };
}

/** Where a loaded answer file came from, to point errors back into it. */
export interface SecretOrigin {
  readonly file: string;
  readonly locate: Locate;
}

export interface SecretField {
  readonly path: FieldPath;
  readonly ref: SecretRef;
}

/** Every secret in the answer file, in document order. */
export function secretFields(answers: Answers): SecretField[] {
  const out: SecretField[] = [];
  const ssh = (p: FieldPath, passphrase: SecretRef | undefined) => {
    if (passphrase !== undefined) out.push({ path: [...p, "passphrase"], ref: passphrase });
  };
  ssh(["controllers", "old", "ssh"], answers.controllers.old.ssh.passphrase);
  out.push({
    path: ["controllers", "old", "mysql", "password"],
    ref: answers.controllers.old.mysql.password,
  });
  ssh(["controllers", "new", "ssh"], answers.controllers.new.ssh.passphrase);
  out.push({
    path: ["controllers", "new", "mysql", "password"],
    ref: answers.controllers.new.mysql.password,
  });
  answers.computes.hosts.forEach((h, i) => ssh(["computes", "hosts", i, "ssh"], h.ssh.passphrase));
  ssh(["computes", "ssh_defaults"], answers.computes.ssh_defaults?.passphrase);
  return out;
}

type Make = (severity: Diagnostic["severity"], path: FieldPath, message: string) => Diagnostic;

/** Inline secrets work but sit in a file that gets copied, mailed and committed: warn, at load time. */
export function inlineSecretWarnings(answers: Answers, make: Make): Diagnostic[] {
  return secretFields(answers)
    .filter((f) => typeof f.ref === "string")
    .map((f) =>
      make(
        "warning",
        f.path,
        "secret written inline in the answer file; prefer {env: NAME} or {file: /path} (mode 0600)",
      ),
    );
}

export type SecretResult =
  | { readonly ok: true; readonly value: string; readonly warnings: readonly Diagnostic[] }
  | { readonly ok: false; readonly error: Diagnostic };

function expandPath(file: string, reader: SecretReader): string {
  if (file === "~" || file.startsWith("~/")) {
    const home = reader.env.HOME ?? "/root";
    return joinPath(home, file.slice(1));
  }
  return resolvePath(reader.baseDir, file);
}

/** Resolves one secret; failures come back as a diagnostic (so validate can list all of them). */
export async function resolveSecretField(
  field: SecretField,
  origin: SecretOrigin,
  reader: SecretReader,
): Promise<SecretResult> {
  const at = (severity: Diagnostic["severity"], message: string): Diagnostic => ({
    severity,
    file: origin.file,
    ...origin.locate(field.path),
    path: formatPath(field.path),
    message,
  });
  const fail = (message: string): SecretResult => ({ ok: false, error: at("error", message) });
  const ref = field.ref;
  if (typeof ref === "string") return { ok: true, value: ref, warnings: [] };
  if ("env" in ref) {
    const value = reader.env[ref.env];
    if (value === undefined) return fail(`environment variable ${ref.env} is not set`);
    if (value === "") return fail(`environment variable ${ref.env} is empty`);
    return { ok: true, value, warnings: [] };
  }
  const file = expandPath(ref.file, reader);
  let mode: number;
  let text: string;
  try {
    mode = (await reader.stat(file)).mode;
    text = await reader.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return fail(`secret file ${file} does not exist`);
    if (code === "EACCES")
      return fail(`secret file ${file} is not readable by this user (permission denied)`);
    if (code === "EISDIR") return fail(`secret file ${file} is a directory`);
    return fail(`cannot read secret file ${file}: ${code ?? String(e)}`);
  }
  // One trailing newline is what `echo pw > file` leaves; it is not part of the secret.
  const value = text.replace(/\r?\n$/, "");
  if (value === "") return fail(`secret file ${file} is empty`);
  const warnings: Diagnostic[] = [];
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    warnings.push(
      at(
        "warning",
        `secret file ${file} is accessible by group or others (mode ${octal}); run chmod 600 ${file}`,
      ),
    );
  }
  return { ok: true, value, warnings };
}

/** Resolves one secret or throws a UserError naming the file, line and field. */
export async function resolveSecret(
  field: SecretField,
  origin: SecretOrigin,
  reader: SecretReader,
): Promise<{ value: string; warnings: readonly Diagnostic[] }> {
  const result = await resolveSecretField(field, origin, reader);
  if (!result.ok) {
    throw new UserError("ANSWERS_SECRET", formatDiagnostic(result.error), {
      nextSteps: ["Set the environment variable or create the file (mode 0600) that the answer file names."],
    });
  }
  return { value: result.value, warnings: result.warnings };
}

export interface ResolvedSecrets {
  /** Secret values by field path (`controllers.old.mysql.password`); empty when any secret failed. */
  readonly values: ReadonlyMap<string, string>;
  readonly warnings: readonly Diagnostic[];
  readonly errors: readonly Diagnostic[];
}

/** Resolves every secret of the file, collecting all failures rather than stopping at the first. */
export async function resolveAllSecrets(
  answers: Answers,
  origin: SecretOrigin,
  reader: SecretReader,
): Promise<ResolvedSecrets> {
  const values = new Map<string, string>();
  const warnings: Diagnostic[] = [];
  const errors: Diagnostic[] = [];
  for (const field of secretFields(answers)) {
    const result = await resolveSecretField(field, origin, reader);
    if (result.ok) {
      values.set(formatPath(field.path), result.value);
      warnings.push(...result.warnings);
    } else errors.push(result.error);
  }
  return { values: errors.length > 0 ? new Map() : values, warnings, errors };
}
