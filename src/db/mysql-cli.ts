/**
 * Running the MySQL command-line tools (mysql, mysqldump) on a controller without a password in any argv: the
 * credentials go into a `--defaults-extra-file` written mode 0600 inside a private `mktemp -d` directory (0700),
 * which is removed when the work is done. The directory's path is handed to `onTempDir` first so a step can
 * journal it (a crash between creating and removing it must not leave a password behind unnoticed).
 */
import type { Host } from "../hosts/host.js";
import { UserError } from "../lib/errors.js";
import { redact } from "../lib/redact.js";
import { tail } from "../hosts/errors.js";

export interface MysqlLogin {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
}

/** Our temp dirs all look like this, so cleanup code can refuse to remove anything else. */
export const TEMP_DIR_PATTERN = /^\/tmp\/handover-[A-Za-z0-9]{8,}$/;

/** An option-file value in double quotes: MySQL unescapes \\ and \" there (and \n, \t, which we refuse). */
function optionValue(v: string): string {
  if (/[\n\r\0]/.test(v)) {
    throw new UserError(
      "MYSQL_CREDENTIAL_UNUSABLE",
      "a MySQL user name or password contains a line break or NUL",
      {
        nextSteps: ["Use a MySQL password without line breaks."],
      },
    );
  }
  return `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

export function defaultsFileContent(login: MysqlLogin): string {
  return [
    "[client]",
    `user=${optionValue(login.user)}`,
    `password=${optionValue(login.password)}`,
    `host=${optionValue(login.host)}`,
    `port=${login.port}`,
    "",
  ].join("\n");
}

/** A private directory on the host (mktemp -d: mode 0700). */
export async function makeTempDir(host: Host): Promise<string> {
  const r = await host.run(["mktemp", "-d", "/tmp/handover-XXXXXXXXXX"]);
  const dir = r.stdout.trim();
  if (!TEMP_DIR_PATTERN.test(dir)) {
    throw new UserError(
      "HOST_TEMP_DIR",
      `on ${host.name}: mktemp -d gave an unexpected path: ${JSON.stringify(dir)}`,
    );
  }
  return dir;
}

/** Removes one of our temp dirs (refuses any other path). Missing is fine. */
export async function removeTempDir(host: Host, dir: string): Promise<void> {
  if (!TEMP_DIR_PATTERN.test(dir)) return;
  await host.exec(["rm", "-rf", "--", dir]);
}

/**
 * Writes a 0600 defaults file with `login` in a private temp dir, calls `fn` with its path, removes the dir.
 */
export async function withDefaultsFile<T>(
  host: Host,
  login: MysqlLogin,
  fn: (defaultsFile: string) => Promise<T>,
  onTempDir?: (dir: string) => void,
): Promise<T> {
  const dir = await makeTempDir(host);
  try {
    onTempDir?.(dir);
    const file = `${dir}/my.cnf`;
    await host.writeFileAtomic(file, defaultsFileContent(login), { mode: 0o600, uid: 0, gid: 0 });
    return await fn(file);
  } finally {
    await removeTempDir(host, dir);
  }
}

/** `mysql` argv: the defaults file must be the first option. utf8mb4 so 4-byte characters survive. */
export function mysqlArgv(defaultsFile: string, ...args: string[]): string[] {
  return ["mysql", `--defaults-extra-file=${defaultsFile}`, "--default-character-set=utf8mb4", ...args];
}

/** A consistent (InnoDB snapshot) dump of one database with its routines, triggers and events. */
export function mysqldumpArgv(defaultsFile: string, database: string): string[] {
  return [
    "mysqldump",
    `--defaults-extra-file=${defaultsFile}`,
    "--default-character-set=utf8mb4",
    "--single-transaction",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--databases",
    database,
  ];
}

/** `mysql` as root through the server's unix socket (root's unix_socket login on a fresh MariaDB). */
export const SOCKET_ROOT_ARGV = ["mysql", "--protocol=socket", "-u", "root", "-N", "-B"] as const;

/** A SQL string literal (for SQL sent on stdin to the CLI; never in an argv). */
export function sqlString(v: string): string {
  return `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\0", "\\0")}'`;
}

/**
 * Makes sure the admin login of the answers works on a freshly installed MariaDB: if it does not, connects as
 * root through the unix socket (the package's default) and creates the admin user, or sets its password, for
 * localhost and 127.0.0.1 (the SSH tunnel arrives from 127.0.0.1). The SQL travels on stdin.
 */
export async function bootstrapAdmin(host: Host, admin: MysqlLogin): Promise<void> {
  const secrets = [admin.password];
  const u = sqlString(admin.user);
  const p = sqlString(admin.password);
  const stmts: string[] = [];
  for (const h of ["localhost", "127.0.0.1"]) {
    const who = `${u}@${sqlString(h)}`;
    if (admin.user === "root" && h === "localhost") {
      // Keep root's socket login working alongside the password (MariaDB >= 10.4 syntax).
      stmts.push(
        `ALTER USER ${who} IDENTIFIED VIA mysql_native_password USING PASSWORD(${p}) OR unix_socket;`,
      );
    } else {
      stmts.push(`CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${p};`);
      stmts.push(`ALTER USER ${who} IDENTIFIED BY ${p};`);
    }
    stmts.push(`GRANT ALL PRIVILEGES ON *.* TO ${who} WITH GRANT OPTION;`);
  }
  stmts.push("FLUSH PRIVILEGES;");
  const r = await host.exec([...SOCKET_ROOT_ARGV], {
    stdin: stmts.join("\n") + "\n",
    secretsToRedact: secrets,
  });
  if (r.exitCode !== 0) {
    throw new UserError(
      "MYSQL_ADMIN_BOOTSTRAP",
      `on ${host.name}: the MySQL admin login of the answer file does not work, and setting it up as root through the socket failed (exit ${r.exitCode}): ${redact(tail(r.stderr, 800), secrets)}`,
      {
        nextSteps: [
          `Create the MySQL user ${admin.user} with the answer file's password on ${host.name} (GRANT ALL ... WITH GRANT OPTION), or fix the password in the answer file.`,
        ],
      },
    );
  }
}
