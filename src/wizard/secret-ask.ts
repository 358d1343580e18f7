/**
 * Asking for a secret as a reference: an environment variable, a file, or (only when the operator picks it) the
 * value inline. The value is resolved the way `handover run` will resolve it (answers/secrets.ts), so the check
 * that follows (a MySQL login, a key passphrase) tests what the run will use. A value typed for a file that does
 * not exist yet is written there (0600) only after the check passes.
 */
import { join } from "node:path";
import { expandHome, type SecretRef } from "../answers/index.js";
import { resolveSecretField } from "../answers/secrets.js";
import { checkAbsolutePath, checkEnvName } from "./checks.js";
import type { WizardDeps } from "./deps.js";

export interface SecretAnswer {
  readonly ref: SecretRef;
  /** The value, for the check; never written anywhere but the file the operator named. */
  readonly value: string;
  /** A file to create with the value once the check passed. */
  readonly pendingFile?: string | undefined;
}

export interface SecretAskOptions {
  /** Field path, used as the question id prefix (`controllers.old.mysql.password`). */
  readonly id: string;
  /** What the secret is, in words ("the old controller's MySQL password"). */
  readonly what: string;
  readonly previous?: SecretRef | undefined;
  readonly defaultEnv: string;
  /** File name (in the answer file's directory) offered for a file reference. */
  readonly defaultFileName: string;
}

type Kind = "env" | "file" | "inline";

export async function askSecret(deps: WizardDeps, o: SecretAskOptions): Promise<SecretAnswer> {
  const { ask } = deps;
  const prev = o.previous;
  const prevKind: Kind | undefined =
    prev === undefined ? undefined : typeof prev === "string" ? "inline" : "env" in prev ? "env" : "file";
  for (;;) {
    const kind = await ask.select<Kind>({
      id: `${o.id}.kind`,
      message: `Where does handover read ${o.what}?`,
      choices: [
        { value: "file", name: "from a file (mode 0600)", description: "{ file: /path }" },
        { value: "env", name: "from an environment variable", description: "{ env: NAME }" },
        {
          value: "inline",
          name: "written in the answer file (not recommended)",
          description: "the file then holds the secret in clear text",
        },
      ],
      default: prevKind ?? "file",
    });
    if (kind === "env") {
      const name = (
        await ask.input({
          id: `${o.id}.env`,
          message: "Environment variable name:",
          default: prev !== undefined && typeof prev !== "string" && "env" in prev ? prev.env : o.defaultEnv,
          validate: checkEnvName,
        })
      ).trim();
      let value = deps.secrets.env[name];
      if (value === undefined || value === "") {
        value = await ask.secret({
          id: `${o.id}.value`,
          message: `${name} is not set in this shell. Type the value to test it now (it is not saved; set ${name} before running handover):`,
          validate: nonEmpty,
        });
      }
      return { ref: { env: name }, value };
    }
    if (kind === "file") {
      const path = (
        await ask.input({
          id: `${o.id}.file`,
          message: "Path of the file holding it:",
          default:
            prev !== undefined && typeof prev !== "string" && "file" in prev
              ? prev.file
              : join(deps.answersDir, o.defaultFileName),
          validate: checkAbsolutePath,
        })
      ).trim();
      const full = expandHome(path, deps.home);
      if (!(await deps.files.exists(full))) {
        const value = await ask.secret({
          id: `${o.id}.value`,
          message: `${path} does not exist. Type ${o.what}; it is saved there (mode 0600) once it works:`,
          validate: nonEmpty,
        });
        return { ref: { file: path }, value, pendingFile: full };
      }
      const r = await resolveSecretField(
        { path: o.id.split("."), ref: { file: path } },
        { file: "(wizard)", locate: () => ({ line: 0, col: 0 }) },
        deps.secrets,
      );
      if (!r.ok) {
        ask.note(`✗ ${r.error.message}`);
        continue;
      }
      for (const w of r.warnings) ask.note(`! ${w.message}`);
      return { ref: { file: path }, value: r.value };
    }
    const value = await ask.secret({
      id: `${o.id}.value`,
      message: `Type ${o.what} (it will be written in the answer file):`,
      validate: nonEmpty,
    });
    ask.note("! the answer file will hold this secret in clear text; keep it mode 0600.");
    return { ref: value, value };
  }
}

/** Writes a secret file the operator asked for, once its value was checked. */
export async function savePendingSecret(deps: WizardDeps, answer: SecretAnswer): Promise<void> {
  if (answer.pendingFile === undefined) return;
  await deps.files.writeSecret(answer.pendingFile, answer.value);
  deps.ask.note(`✓ wrote ${answer.pendingFile} (mode 0600)`);
}

function nonEmpty(v: string): true | string {
  return v === "" ? "expected a value" : true;
}

/** The value of a reference as the run will read it; undefined when it cannot be read now. */
export async function resolveRef(deps: WizardDeps, id: string, ref: SecretRef): Promise<string | undefined> {
  const r = await resolveSecretField(
    { path: id.split("."), ref },
    { file: "(wizard)", locate: () => ({ line: 0, col: 0 }) },
    deps.secrets,
  );
  return r.ok ? r.value : undefined;
}
