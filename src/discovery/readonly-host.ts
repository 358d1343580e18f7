/**
 * Discovery must never change a host. That is made structural here rather than promised: discovery code receives
 * a `ReadOnlyHost`, which has no write methods at all, and whose `exec` refuses (as a bug) any argv that is not
 * one of the read-only commands listed below. Adding a command to discovery means adding it to this list, where
 * a reviewer can see that it only reads.
 */
import { BugError } from "../lib/errors.js";
import type { ExecResult, FileStat, Host } from "../hosts/host.js";

/** What discovery may do on a machine: run listed read-only commands, read files, stat paths. */
export interface ReadOnlyHost {
  readonly name: string;
  readonly address: string;
  exec(argv: readonly string[]): Promise<ExecResult>;
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<FileStat | undefined>;
}

/** dpkg's own escapes: `\n` ends a record; fields separated by spaces (package names and versions have none). */
export const DPKG_QUERY_ARGV = [
  "dpkg-query",
  "-W",
  "-f=${db:Status-Abbrev} ${Package} ${Version}\\n",
] as const;
export const RPM_QUERY_ARGV = ["rpm", "-qa", "--qf", "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n"] as const;
export const HOSTNAME_ARGV = ["hostname"] as const;
export const IP_ADDR_ARGV = ["ip", "-j", "addr", "show"] as const;
/** Debian's `service` runs every init script's `status` action, which only reads. */
export const SERVICE_STATUS_ALL_ARGV = ["service", "--status-all"] as const;
export const SYSTEMCTL_UNITS_ARGV = [
  "systemctl",
  "list-units",
  "--type=service",
  "--all",
  "--no-legend",
  "--plain",
  "--no-pager",
] as const;

/** df for one absolute path (bytes; mount point, available, size). */
export function dfArgv(path: string): string[] {
  return ["df", "-B1", "--output=target,avail,size", "--", path];
}

const FIXED: readonly (readonly string[])[] = [
  DPKG_QUERY_ARGV,
  RPM_QUERY_ARGV,
  HOSTNAME_ARGV,
  IP_ADDR_ARGV,
  SERVICE_STATUS_ALL_ARGV,
  SYSTEMCTL_UNITS_ARGV,
];

const ABSOLUTE_PATH = /^\/[A-Za-z0-9._+@%:/-]*$/;

/** True when argv is one of discovery's read-only commands, exactly. */
export function isReadOnlyCommand(argv: readonly string[]): boolean {
  if (FIXED.some((f) => f.length === argv.length && f.every((w, i) => w === argv[i]))) return true;
  const df = dfArgv("/");
  return (
    argv.length === df.length &&
    df.slice(0, -1).every((w, i) => w === argv[i]) &&
    ABSOLUTE_PATH.test(argv[argv.length - 1] ?? "") &&
    !(argv[argv.length - 1] ?? "").split("/").includes("..")
  );
}

/** Discovery's commands answer in seconds; a hung one (a stuck NFS mount under df) must not hang the plan. */
const DISCOVERY_TIMEOUT_MS = 120_000;

/** Wraps a Host so that only reads are possible. */
export function readOnly(host: Host): ReadOnlyHost {
  return {
    name: host.name,
    address: host.address,
    exec: (argv) => {
      if (!isReadOnlyCommand(argv)) {
        return Promise.reject(
          new BugError(`discovery tried a command that is not in its read-only list: ${argv.join(" ")}`),
        );
      }
      return host.exec(argv, { timeoutMs: DISCOVERY_TIMEOUT_MS });
    },
    readFile: (path) => host.readFile(path),
    stat: (path) => host.stat(path),
  };
}
