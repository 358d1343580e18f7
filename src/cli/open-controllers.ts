/**
 * Opening the two controllers of an answer file for commands that need them (plan; later run and rollback):
 * secrets resolved (all failures listed at once), SshHosts with strict host keys via hosts/from-answers.ts, and
 * for each controller a way to open its MySQL through that SSH connection. check.ts builds its targets the same
 * way but reports failures as table rows instead of stopping.
 */
import type { Answers, LoadedAnswers } from "../answers/index.js";
import { formatDiagnostic, nodeSecretReader, resolveAllSecrets } from "../answers/index.js";
import { MysqlClient } from "../db/mysql-client.js";
import { MysqlReader, type SqlOpener } from "../discovery/sql.js";
import { sshHostFromEndpoint, type SshEnvironment } from "../hosts/from-answers.js";
import type { SshHost } from "../hosts/ssh-host.js";
import { UserError } from "../lib/errors.js";
import type { CliIo } from "./io.js";

/** Every secret of the file by field path; throws one UserError naming each one that cannot be read. */
export async function resolveSecretsOrFail(
  loaded: LoadedAnswers,
  io: CliIo,
  baseDir: string,
): Promise<ReadonlyMap<string, string>> {
  const r = await resolveAllSecrets(loaded.answers, loaded, nodeSecretReader(io.env, baseDir));
  if (r.errors.length > 0) {
    throw new UserError(
      "ANSWERS_SECRET",
      `cannot read ${r.errors.length === 1 ? "a secret" : `${r.errors.length} secrets`} of the answer file:\n  ${r.errors
        .map(formatDiagnostic)
        .join("\n  ")}`,
      {
        nextSteps: [
          "Set the environment variables or create the files (mode 0600) that the answer file names.",
        ],
      },
    );
  }
  return r.values;
}

export interface Controller {
  readonly name: "old" | "new";
  readonly host: SshHost;
  /** Opens this controller's MySQL (admin credentials of the answers) read-only, through the SSH connection. */
  readonly openSql: SqlOpener;
}

export interface Controllers {
  readonly old: Controller;
  readonly new: Controller;
  /** Secret values, to redact from anything printed. */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}

export function openControllers(
  answers: Answers,
  secrets: ReadonlyMap<string, string>,
  io: CliIo,
): Controllers {
  const env: SshEnvironment = { home: io.env.HOME ?? "/root", agentSocket: io.env.SSH_AUTH_SOCK };
  const make = (name: "old" | "new"): Controller => {
    const c = answers.controllers[name];
    const host = sshHostFromEndpoint(name, c.ssh, env, secrets.get(`controllers.${name}.ssh.passphrase`));
    const password = secrets.get(`controllers.${name}.mysql.password`) ?? "";
    const openSql: SqlOpener = () =>
      MysqlReader.open((database) =>
        MysqlClient.connect(host, {
          user: c.mysql.user,
          password,
          host: c.mysql.host,
          port: c.mysql.port,
          ...(database !== undefined ? { database } : {}),
        }),
      );
    return { name, host, openSql };
  };
  const old = make("old");
  const neu = make("new");
  return {
    old,
    new: neu,
    secrets: [...secrets.values()],
    close: async () => {
      await Promise.allSettled([old.host.close(), neu.host.close()]);
    },
  };
}
