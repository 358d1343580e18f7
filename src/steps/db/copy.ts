/**
 * db.copy: `mysqldump --single-transaction --routines --triggers --events --databases <db>` on old, streamed
 * through the jump into `mysql` on new (src/data/pipe.ts: two SSH channels, bytes piped, nothing written to disk on
 * the jump). Both sides' exit codes and stderr are checked: a dump that dies midway ends the import's stdin cleanly,
 * so the import's exit code alone would call a truncated copy a success.
 *
 * Idempotent: the database on new is dropped first (the dump recreates it with old's charset; grants live in
 * mysql.db and survive), so a redo after a crash or a later schema change starts from nothing.
 * Verify: exact per-table row counts equal on both sides. Undo: drop and recreate the database empty.
 */
import { randomBytes } from "node:crypto";
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import { pipeBetween } from "../../data/pipe.js";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";
import {
  TEMP_DIR_PATTERN,
  mysqlArgv,
  mysqldumpArgv,
  removeTempDir,
  withDefaultsFile,
} from "../../db/mysql-cli.js";
import { countDifferences, databaseExists, rowCounts } from "../../db/row-counts.js";
import { ident } from "../../db/sql-session.js";
import type { StepDeps } from "../deps.js";
import { Params, strList, union } from "../params.js";
import { tokenEnv, waitForEarlierRun } from "../earlier-run.js";
import { withSql } from "../sql.js";

/** How new databases are created (the utf8 of the install guides; tables carry their own charsets). */
export const NEW_DB_CHARSET = "CHARACTER SET utf8 COLLATE utf8_general_ci";
const PROGRESS_EVERY_BYTES = 8 * 1024 * 1024;

interface CopyParams {
  database: string;
  from: string;
  to: string;
}

function read(raw: JsonObject): CopyParams {
  const p = new Params("db.copy", raw);
  return { database: p.str("database"), from: p.str("from", "old"), to: p.str("to", "new") };
}

/** Noise mysqldump/mysql print on stderr that is not an error. */
function meaningful(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^(mysqldump|mysql): \[Warning\] Using a password/i.test(l))
    .join("\n");
}

async function pipeDump(
  ctx: StepContext,
  database: string,
  oldHost: Host,
  newHost: Host,
  oldFile: string,
  newFile: string,
  secrets: readonly string[],
  token: string,
): Promise<number> {
  const interrupted = `copy of ${database} interrupted`;
  // An abort that came before the streams existed: start nothing.
  if (ctx.signal.aborted) throw new UserError("ABORTED", interrupted);
  // Both sides carry the step's token, so a redo after handover was killed can find them still running.
  const exec = { secretsToRedact: secrets, env: tokenEnv(token) };
  const errorText = (stderr: string): string => meaningful(stderr);
  let nextReport = PROGRESS_EVERY_BYTES;
  const bytes = await pipeBetween(
    { host: oldHost, argv: mysqldumpArgv(oldFile, database), exec, label: "mysqldump", errorText },
    {
      host: newHost,
      argv: mysqlArgv(newFile, "--max-allowed-packet=1G"),
      exec,
      label: "mysql",
      errorText,
    },
    {
      signal: ctx.signal,
      onBytes: (n) => {
        if (n < nextReport) return;
        nextReport = n + PROGRESS_EVERY_BYTES;
        ctx.emit({
          type: "step-progress",
          message: `${database}: ${(n / 1048576).toFixed(0)} MiB`,
          bytes: n,
        });
      },
      code: "DB_COPY_FAILED",
      what: `database ${database}`,
      abortedMessage: interrupted,
      nextSteps: [
        `Fix the cause named above, then re-run: the copy of ${database} starts over from an empty database on ${newHost.name}.`,
      ],
    },
  );
  ctx.emit({
    type: "step-progress",
    message: `${database}: ${(bytes / 1048576).toFixed(1)} MiB copied`,
    bytes,
    totalBytes: bytes,
  });
  return bytes;
}

async function recreateEmpty(deps: StepDeps, ctx: StepContext, to: string, database: string): Promise<void> {
  await withSql(deps, ctx, to, async (s) => {
    await s.execute(`DROP DATABASE IF EXISTS ${ident(database)}`);
    await s.execute(`CREATE DATABASE ${ident(database)} ${NEW_DB_CHARSET}`);
  });
}

export function copyStep(deps: StepDeps): StepImpl {
  return {
    kind: "db.copy",
    async run(ctx, raw) {
      const { database, from, to } = read(raw);
      const oldHost = ctx.host(from);
      const newHost = ctx.host(to);
      const oldAdmin = deps.mysqlAdmin(from);
      const newAdmin = deps.mysqlAdmin(to);
      const secrets = [oldAdmin.password, newAdmin.password];
      // Temp dirs holding defaults files, journaled before the password is written (a crash leaves them named).
      const tempDirs: { host: string; dir: string }[] = [];
      const prevToken =
        typeof ctx.previousUndoData?.token === "string" ? ctx.previousUndoData.token : undefined;
      const token = prevToken ?? randomBytes(12).toString("hex");
      const checkpoint = (): void =>
        ctx.checkpoint?.({
          database,
          token,
          tempDirs: union(
            strList(ctx.previousUndoData?.tempDirs),
            tempDirs.map((t) => `${t.host}:${t.dir}`),
          ),
        });
      checkpoint();
      if (prevToken) {
        // handover was killed mid-copy: its dump or import may still be running; never two imports at once.
        for (const h of [newHost, oldHost]) {
          await waitForEarlierRun(deps, ctx, h, prevToken, `the copy of ${database}`, 3600_000);
        }
      }
      await cleanupTempDirs(ctx, ctx.previousUndoData);
      const started = Date.now();
      await withSql(deps, ctx, to, async (s) => {
        await s.execute(`DROP DATABASE IF EXISTS ${ident(database)}`);
      });
      const bytes = await withDefaultsFile(
        oldHost,
        oldAdmin,
        (oldFile) =>
          withDefaultsFile(
            newHost,
            newAdmin,
            (newFile) => pipeDump(ctx, database, oldHost, newHost, oldFile, newFile, secrets, token),
            (dir) => {
              tempDirs.push({ host: to, dir });
              checkpoint();
            },
          ),
        (dir) => {
          tempDirs.push({ host: from, dir });
          checkpoint();
        },
      );
      const seconds = (Date.now() - started) / 1000;
      ctx.emit({
        type: "log",
        level: "info",
        message: `${database}: ${bytes} bytes of dump streamed from ${from} to ${to} in ${seconds.toFixed(1)} s`,
      });
      return { database, bytes, seconds, tempDirs: [] };
    },
    async verify(ctx, raw) {
      const { database, from, to } = read(raw);
      const neu = await withSql(deps, ctx, to, async (s) =>
        (await databaseExists(s, database)) ? rowCounts(s, database) : undefined,
      );
      if (!neu) return { ok: false, detail: `database ${database} does not exist on ${to}` };
      const old = await withSql(deps, ctx, from, (s) => rowCounts(s, database));
      const diffs = countDifferences(old, neu);
      if (diffs.length > 0) {
        return { ok: false, detail: `${database}: row counts differ: ${diffs.slice(0, 20).join("; ")}` };
      }
      const rows = [...old.values()].reduce((a, b) => a + b, 0);
      return {
        ok: true,
        detail: `${database}: ${old.size} tables, ${rows} rows, exact counts equal on ${from} and ${to}`,
      };
    },
    async undo(ctx, raw, undoData) {
      const { database, to } = read(raw);
      await cleanupTempDirs(ctx, undoData);
      await recreateEmpty(deps, ctx, to, database);
    },
  };
}

/** Removes temp dirs an earlier, interrupted attempt journaled ("host:/tmp/handover-..."). */
async function cleanupTempDirs(ctx: StepContext, undoData: JsonObject | undefined): Promise<void> {
  for (const entry of strList(undoData?.tempDirs)) {
    const i = entry.indexOf(":");
    const host = entry.slice(0, i);
    const dir = entry.slice(i + 1);
    if (!TEMP_DIR_PATTERN.test(dir)) continue;
    try {
      await removeTempDir(ctx.host(host), dir);
    } catch {
      // Best effort: an unreachable host keeps its 0700 dir; the next run or undo tries again.
    }
  }
}
