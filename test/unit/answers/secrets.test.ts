/**
 * Secret references, resolved through a fake reader: an in-memory map of path → {text, mode}; a missing path
 * fails like fs does (ENOENT), a path listed in `denied` fails with EACCES.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../../src/answers/diagnostics.js";
import { parseAnswers, type LoadedAnswers } from "../../../src/answers/load.js";
import {
  resolveAllSecrets,
  resolveSecret,
  secretFields,
  type SecretReader,
} from "../../../src/answers/secrets.js";
import { UserError } from "../../../src/lib/errors.js";

const minimal = readFileSync(
  fileURLToPath(new URL("../../fixtures/answers/valid/minimal.yaml", import.meta.url)),
  "utf8",
);

function load(text = minimal): LoadedAnswers {
  const result = parseAnswers(text, "answers.yaml");
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join("\n"));
  return result.loaded;
}

function fakeReader(
  files: Record<string, { text: string; mode: number }>,
  env: Record<string, string | undefined> = {},
  denied: string[] = [],
): SecretReader & { readonly reads: string[] } {
  const reads: string[] = [];
  const errno = (code: string) => Object.assign(new Error(code), { code });
  const lookup = (path: string) => {
    reads.push(path);
    if (denied.includes(path)) throw errno("EACCES");
    const f = files[path];
    if (!f) throw errno("ENOENT");
    return f;
  };
  return {
    env,
    baseDir: "/etc/handover",
    reads,
    readFile: (path) => Promise.resolve().then(() => lookup(path).text),
    stat: (path) => Promise.resolve().then(() => ({ mode: 0o100000 | lookup(path).mode })),
  };
}

const NEW_PW = "/root/new-mysql.pass";

describe("secret references", () => {
  it("lists every secret field in document order", () => {
    const text = minimal.replace("      port: 22\n", "      port: 22\n      passphrase: { env: KEY_PW }\n");
    expect(secretFields(load(text).answers).map((f) => f.path.join("."))).toEqual([
      "controllers.old.ssh.passphrase",
      "controllers.old.mysql.password",
      "controllers.new.mysql.password",
    ]);
  });

  it("resolves env and file references; a file's trailing newline is not part of the secret", async () => {
    const loaded = load();
    const reader = fakeReader({ [NEW_PW]: { text: "s3cret\n", mode: 0o600 } }, { OLD_MYSQL_PW: "old-pw" });
    const result = await resolveAllSecrets(loaded.answers, loaded, reader);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(Object.fromEntries(result.values)).toEqual({
      "controllers.old.mysql.password": "old-pw",
      "controllers.new.mysql.password": "s3cret",
    });
  });

  it("keeps inner newlines and whitespace of a file secret", async () => {
    const loaded = load();
    const reader = fakeReader({ [NEW_PW]: { text: " a b\nc\r\n", mode: 0o400 } }, { OLD_MYSQL_PW: "x" });
    const result = await resolveAllSecrets(loaded.answers, loaded, reader);
    expect(result.values.get("controllers.new.mysql.password")).toBe(" a b\nc");
  });

  it("reads relative paths from the answer file's directory and ~ from HOME", async () => {
    const text = minimal
      .replace("{ file: /root/new-mysql.pass }", "{ file: secrets/new.pass }")
      .replace("{ env: OLD_MYSQL_PW }", "{ file: ~/old.pass }");
    const loaded = load(text);
    const reader = fakeReader(
      {
        "/etc/handover/secrets/new.pass": { text: "n", mode: 0o600 },
        "/home/op/old.pass": { text: "o", mode: 0o600 },
      },
      { HOME: "/home/op" },
    );
    const result = await resolveAllSecrets(loaded.answers, loaded, reader);
    expect(result.errors).toEqual([]);
    expect([...result.values.values()]).toEqual(["o", "n"]);
  });

  it("warns when a secret file is accessible by group or others", async () => {
    const loaded = load();
    const reader = fakeReader({ [NEW_PW]: { text: "pw", mode: 0o644 } }, { OLD_MYSQL_PW: "x" });
    const result = await resolveAllSecrets(loaded.answers, loaded, reader);
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      `answers.yaml:23:17 controllers.new.mysql.password: warning: secret file ${NEW_PW} is accessible by group or others (mode 0644); run chmod 600 ${NEW_PW}`,
    ]);
  });

  it.each([0o640, 0o604, 0o660, 0o601])(
    "warns for mode %d (decimal) but not for 0600 or 0400",
    async (mode) => {
      const loaded = load();
      for (const [m, warned] of [
        [mode, 1],
        [0o600, 0],
        [0o400, 0],
      ] as const) {
        const reader = fakeReader({ [NEW_PW]: { text: "pw", mode: m } }, { OLD_MYSQL_PW: "x" });
        expect((await resolveAllSecrets(loaded.answers, loaded, reader)).warnings).toHaveLength(warned);
      }
    },
  );

  it("collects every failure with file, line and field, and never the other values", async () => {
    const loaded = load();
    const result = await resolveAllSecrets(loaded.answers, loaded, fakeReader({}, {}));
    expect(result.values.size).toBe(0);
    expect(result.errors.map(formatDiagnostic)).toEqual([
      "answers.yaml:15:17 controllers.old.mysql.password: environment variable OLD_MYSQL_PW is not set",
      `answers.yaml:23:17 controllers.new.mysql.password: secret file ${NEW_PW} does not exist`,
    ]);
  });

  it.each([
    [
      { OLD_MYSQL_PW: "" },
      { [NEW_PW]: { text: "pw", mode: 0o600 } },
      [],
      "environment variable OLD_MYSQL_PW is empty",
    ],
    [{ OLD_MYSQL_PW: "x" }, { [NEW_PW]: { text: "\n", mode: 0o600 } }, [], `secret file ${NEW_PW} is empty`],
    [
      { OLD_MYSQL_PW: "x" },
      {},
      [NEW_PW],
      `secret file ${NEW_PW} is not readable by this user (permission denied)`,
    ],
  ] as const)("refuses %j %j %j", async (env, files, denied, message) => {
    const loaded = load();
    const result = await resolveAllSecrets(
      loaded.answers,
      loaded,
      fakeReader({ ...files }, { ...env }, [...denied]),
    );
    expect(result.errors.map((d) => d.message)).toEqual([message]);
  });

  it("resolveSecret throws a UserError naming file, line and field", async () => {
    const loaded = load();
    const field = secretFields(loaded.answers)[0]!;
    const error = await resolveSecret(field, loaded, fakeReader({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe("ANSWERS_SECRET");
    expect((error as UserError).message).toBe(
      "answers.yaml:15:17 controllers.old.mysql.password: environment variable OLD_MYSQL_PW is not set",
    );
  });

  it("warns about inline secrets when the file is loaded, without repeating the value", () => {
    const loaded = load(minimal.replace("{ env: OLD_MYSQL_PW }", "hunter2-inline"));
    expect(loaded.warnings.map(formatDiagnostic)).toEqual([
      "answers.yaml:15:17 controllers.old.mysql.password: warning: secret written inline in the answer file; prefer {env: NAME} or {file: /path} (mode 0600)",
    ]);
    expect(loaded.answers.controllers.old.mysql.password).toBe("hunter2-inline");
  });
});
