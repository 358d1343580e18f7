/**
 * config.rewrite: line-preserving edits of one service's oslo INI files on new (after config.copy put old's
 * there). Each edit names one option:
 * - `op: db-url`: the URL's host becomes `host` (127.0.0.1: the new controller's own MariaDB; the moved addresses
 *   still reach old until the switch), its database `database` when given, and with `credentials: new` the
 *   user/password from `secretFile` (written by db.create);
 * - `op: transport-url`: every broker host becomes `host`; with `credentials: new` the user/password from the
 *   `amqp` secret file beside `secretFile` (written by amqp.user);
 * - `op: set`: the option is set to `value`. Section `*backends*` means every section named in
 *   `[DEFAULT] enabled_backends` (cinder's target address lives in each backend's section).
 * Only the named options change (a host map over the whole file would also rewrite keystone URLs that must keep
 * naming the moved addresses). A masked unified diff of every file is emitted as a log event and returned for the
 * journal and report. Undo puts the backups back.
 */
import { dirname } from "node:path/posix";
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { configDiff } from "../../config/diff.js";
import { getValue, parseIni, serializeIni, setOption, type IniDocument } from "../../config/oslo-ini.js";
import { canonicalHost, hostMap, parseUrl, rewriteUrl } from "../../config/url-hosts.js";
import { withDatabase, readSecretFile, type Credentials } from "../credentials.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { backupOnce, checkpointFiles, restoreBackups } from "./file-backup.js";
import { checkPath } from "./paths.js";

export interface ConfigEdit {
  readonly file: string;
  readonly section: string;
  readonly key: string;
  readonly op: "db-url" | "transport-url" | "set";
  readonly host?: string;
  readonly database?: string;
  readonly value?: string;
}

interface RewriteParams {
  service: string;
  edits: ConfigEdit[];
  credentials: "keep" | "new";
  secretFile: string;
}

function read(raw: JsonObject): RewriteParams {
  const p = new Params("config.rewrite", raw);
  const edits = p.objs("edits").map((e): ConfigEdit => {
    const q = new Params("config.rewrite edit", e);
    const op = q.str("op");
    if (op !== "db-url" && op !== "transport-url" && op !== "set") {
      throw new UserError("PLAN_PARAM", `config.rewrite: unknown edit op ${JSON.stringify(op)}`);
    }
    return {
      file: checkPath(q.str("file"), "config file"),
      section: q.str("section"),
      key: q.str("key"),
      op,
      ...(q.has("host") ? { host: q.str("host") } : {}),
      ...(q.has("database") ? { database: q.str("database") } : {}),
      ...(q.has("value") ? { value: q.str("value") } : {}),
    };
  });
  const credentials = p.str("credentials", "keep");
  if (credentials !== "keep" && credentials !== "new") {
    throw new UserError("PLAN_PARAM", `config.rewrite: credentials must be keep or new, got ${credentials}`);
  }
  return { service: p.str("service"), edits, credentials, secretFile: p.str("secretFile", "") };
}

/** The sections an edit applies to: `*backends*` expands to `[DEFAULT] enabled_backends`. */
export function sectionsOf(doc: IniDocument, section: string): string[] {
  if (section !== "*backends*") return [section];
  const list = (getValue(doc, "DEFAULT", "enabled_backends") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return list;
}

/** Every host of a URL value mapped to `to` (and credentials replaced when given). */
export function pointUrlAt(value: string, to: string, creds?: Credentials): string {
  const parsed = parseUrl(value.trim());
  if (!parsed) return value;
  const v = value.trim();
  const hosts = parsed.netlocs.map((n) => v.slice(n.hostStart, n.hostEnd));
  const map = hostMap(hosts.map((h) => [h.replace(/^\[|\]$/g, ""), to] as const));
  return rewriteUrl(v, map, creds ? { username: creds.user, password: creds.password } : undefined).value;
}

/** Hosts of a URL value, canonical. */
function urlHosts(value: string): string[] {
  const parsed = parseUrl(value.trim());
  if (!parsed) return [];
  const v = value.trim();
  return parsed.netlocs.map(
    (n) => canonicalHost(v.slice(n.hostStart, n.hostEnd).replace(/^\[|\]$/g, "")) ?? "",
  );
}

interface Secrets {
  db?: Credentials;
  amqp?: Credentials;
}

async function loadSecrets(neu: Host, p: RewriteParams): Promise<Secrets> {
  if (p.credentials !== "new") return {};
  const need = (op: string): boolean => p.edits.some((e) => e.op === op);
  const out: Secrets = {};
  const missing = (file: string, by: string): UserError =>
    new UserError("SECRET_FILE_MISSING", `on ${neu.name}: ${file} does not exist (written by ${by})`, {
      nextSteps: [`Re-run handover run: the ${by} step writes it before this one.`],
    });
  if (need("db-url")) {
    const f = checkPath(p.secretFile, "secret file");
    out.db = await readSecretFile(neu, f);
    if (!out.db) throw missing(f, "db.create");
  }
  if (need("transport-url")) {
    const f = checkPath(`${dirname(p.secretFile)}/amqp`, "secret file");
    out.amqp = await readSecretFile(neu, f);
    if (!out.amqp) throw missing(f, "amqp.user");
  }
  return out;
}

/** Applies every edit of one file; pure. Throws when an edited URL option is absent (nothing to base it on). */
export function applyEdits(
  text: string,
  file: string,
  edits: readonly ConfigEdit[],
  secrets: Secrets,
): string {
  let doc = parseIni(text);
  for (const e of edits) {
    for (const section of sectionsOf(doc, e.section)) {
      if (e.op === "set") {
        doc = setOption(doc, section, e.key, e.value ?? "");
        continue;
      }
      const current = getValue(doc, section, e.key);
      if (current === undefined || parseUrl(current.trim()) === undefined) {
        throw new UserError(
          "CONFIG_OPTION_MISSING",
          `${file} has no URL in [${section}] ${e.key} to point at ${e.host ?? "?"}`,
          {
            nextSteps: [`Check [${section}] ${e.key} in ${file} on the old controller.`],
          },
        );
      }
      const creds = e.op === "db-url" ? secrets.db : secrets.amqp;
      let v = pointUrlAt(current, e.host ?? "127.0.0.1", creds);
      if (e.op === "db-url" && e.database) v = withDatabase(v, e.database);
      doc = setOption(doc, section, e.key, v);
    }
  }
  return serializeIni(doc);
}

/** What is wrong with a file against its edits ([] when every edit is in place). */
export function checkEdits(text: string, edits: readonly ConfigEdit[], secrets: Secrets): string[] {
  const doc = parseIni(text);
  const wrong: string[] = [];
  for (const e of edits) {
    const sections = sectionsOf(doc, e.section);
    if (e.section === "*backends*" && sections.length === 0)
      wrong.push("[DEFAULT] enabled_backends is empty");
    for (const section of sections) {
      const v = getValue(doc, section, e.key);
      const where = `[${section}] ${e.key}`;
      if (e.op === "set") {
        if (v !== (e.value ?? "")) wrong.push(`${where} is not set as planned`);
        continue;
      }
      if (v === undefined) {
        wrong.push(`${where} is missing`);
        continue;
      }
      const want = canonicalHost(e.host ?? "127.0.0.1");
      if (urlHosts(v).some((h) => h !== want))
        wrong.push(`${where} does not point at ${e.host ?? "127.0.0.1"}`);
      const creds = e.op === "db-url" ? secrets.db : secrets.amqp;
      if (creds && pointUrlAt(v, e.host ?? "127.0.0.1", creds) !== v.trim())
        wrong.push(`${where} has other credentials`);
      if (e.op === "db-url" && e.database && withDatabase(v.trim(), e.database) !== v.trim())
        wrong.push(`${where} names another database`);
    }
  }
  return wrong;
}

function byFile(edits: readonly ConfigEdit[]): Map<string, ConfigEdit[]> {
  const m = new Map<string, ConfigEdit[]>();
  for (const e of edits) m.set(e.file, [...(m.get(e.file) ?? []), e]);
  return m;
}

function secretValues(s: Secrets): string[] {
  return [s.db?.password, s.amqp?.password].filter((x): x is string => x !== undefined && x !== "");
}

export function configRewriteStep(_deps: StepDeps): StepImpl {
  return {
    kind: "config.rewrite",
    async run(ctx: StepContext, raw: JsonObject) {
      const p = read(raw);
      const neu = ctx.host("new");
      const secrets = await loadSecrets(neu, p);
      const files = byFile(p.edits);
      const undo = checkpointFiles(ctx, [...files.keys()], { service: p.service });
      const diffs: JsonObject[] = [];
      for (const [file, edits] of files) {
        const before = (await neu.readFile(file)).toString("utf8");
        const after = applyEdits(before, file, edits, secrets);
        if (after === before) continue;
        await backupOnce(neu, "rewrite", file);
        await neu.writeFileAtomic(file, after); // keeps the file's owner and mode
        const d = configDiff(file, before, after, { secrets: secretValues(secrets) });
        diffs.push({ path: file, unified: d.unified, added: d.added, removed: d.removed });
        ctx.emit({ type: "log", level: "info", message: `config diff for ${p.service}:\n${d.unified}` });
      }
      return { ...undo, diffs };
    },

    async verify(ctx, raw): Promise<VerifyResult> {
      const p = read(raw);
      const neu = ctx.host("new");
      const secrets = await loadSecrets(neu, p);
      const problems: string[] = [];
      for (const [file, edits] of byFile(p.edits)) {
        if ((await neu.stat(file)) === undefined) {
          problems.push(`${file} is missing`);
          continue;
        }
        const wrong = checkEdits((await neu.readFile(file)).toString("utf8"), edits, secrets);
        problems.push(...wrong.map((w) => `${file}: ${w}`));
      }
      return problems.length === 0
        ? { ok: true, detail: `${p.service}: ${p.edits.length} option(s) in place on ${neu.name}` }
        : { ok: false, detail: `${p.service}: ${problems.join("; ")}` };
    },

    async undo(ctx, _raw, undoData) {
      await restoreBackups(ctx.host("new"), "rewrite", undoData);
    },
  };
}
