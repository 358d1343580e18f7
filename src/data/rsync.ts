/**
 * rsync argv, built here and nowhere else. rsync runs ON THE DESTINATION and pulls from the source over SSH (the
 * jump never carries the bytes). The `-e` value is split by rsync itself on whitespace, so every part of it must
 * be a plain word: the paths we put there are our own temp files (checked), options are constants.
 *
 * Deletion: rsync only ever deletes on the receiving side, and only with --delete*; the source is never written
 * (no --remove-source-files, ever). We do not pass --delete either: a file on new that old lacks is an orphan no
 * database row points at (harmless), while deleting it could remove something undo cannot bring back.
 */
import { BugError } from "../lib/errors.js";

/** Paths and hosts we accept in an rsync/ssh argv: no whitespace, quotes or shell/rsync specials. */
const WORD = /^[A-Za-z0-9_@%+=:,./[\]-]+$/;

function word(s: string, what: string): string {
  if (!WORD.test(s) || s.startsWith("-"))
    throw new BugError(`refusing an unusual ${what} for rsync: ${JSON.stringify(s)}`);
  return s;
}

export interface SshTransport {
  /** Private key of the temporary key pair (on the destination). */
  readonly identityFile: string;
  /** known_hosts holding the source's host keys, written by us. */
  readonly knownHostsFile: string;
  readonly port?: number;
}

/** The `-e` command: no user config, only our key, only our known_hosts, never a prompt. */
export function sshCommand(t: SshTransport): string {
  return [
    "ssh",
    "-F",
    "/dev/null",
    "-i",
    word(t.identityFile, "identity file"),
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${word(t.knownHostsFile, "known_hosts file")}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=20",
    "-o",
    "ServerAliveInterval=15",
    "-p",
    String(t.port ?? 22),
  ].join(" ");
}

/** `user@host` for rsync; IPv6 literals are bracketed. */
export function remoteSpec(user: string, host: string, path: string): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${word(user, "user")}@${word(h, "host")}:${word(path, "path")}`;
}

export interface RsyncPull {
  readonly transport: SshTransport;
  readonly sourceUser: string;
  readonly sourceHost: string;
  /** Directory on the source; its contents are copied into `destDir`. */
  readonly sourceDir: string;
  readonly destDir: string;
  /** Keep holes in sparse files (file-backed volumes). */
  readonly sparse?: boolean;
  /** Update files in place (final volume pass: only changed blocks are written). */
  readonly inplace?: boolean;
  /** Only these top-level names of sourceDir (plain file names: volume files), everything else excluded. */
  readonly only?: readonly string[];
  /** A line per file transferred, `FILE_LINE_MARK<bytes sent> <name>` (parseFileLine), when it is done. */
  readonly perFile?: boolean;
}

/** Starts our --out-format lines; progress2 lines start with spaces and digits, so the two never mix up. */
export const FILE_LINE_MARK = "handover-file ";

export function rsyncPullArgv(r: RsyncPull): string[] {
  const argv = [
    "rsync",
    "--archive", // perms, times, owner/group by NAME (ids differ between releases' distros), symlinks
    "--hard-links",
    "--partial", // an interrupted pass resumes instead of starting over
    "--no-inc-recursive", // totals known up front, so progress2 percentages mean something
    "--info=progress2",
    "--no-human-readable", // plain byte counts in progress lines
  ];
  // %b: bytes actually sent for the file (literal data and delta), %n: its name relative to sourceDir.
  if (r.perFile) argv.push(`--out-format=${FILE_LINE_MARK}%b %n`);
  if (r.sparse) argv.push("--sparse");
  if (r.inplace) argv.push("--inplace");
  for (const name of r.only ?? []) argv.push(`--include=/${word(name, "file name")}`);
  if (r.only) argv.push("--exclude=*");
  argv.push("-e", sshCommand(r.transport));
  argv.push(`${remoteSpec(r.sourceUser, r.sourceHost, r.sourceDir)}/`, `${word(r.destDir, "path")}/`);
  return argv;
}

export interface RsyncProgress {
  readonly bytes: number;
  readonly percent: number;
  /** As rsync prints it (e.g. "12345678B/s" with --no-human-readable, or "12.34MB/s"). */
  readonly rate: string;
  /** Remaining time as h:mm:ss. */
  readonly eta: string;
}

/**
 * One `--info=progress2` update: `     1234567  45%   12.34MB/s    0:00:10 (xfr#1, to-chk=0/3)`. rsync separates
 * updates with \r and ends the last with \n; callers split on both.
 */
export function parseProgress2(line: string): RsyncProgress | undefined {
  const m = /^\s*([\d,.]+)\s+(\d{1,3})%\s+(\S+)\s+(\d+:\d{2}:\d{2})/.exec(line);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  const bytes = Number(m[1].replace(/[,.]/g, ""));
  if (!Number.isFinite(bytes)) return undefined;
  return { bytes, percent: Number(m[2]), rate: m[3], eta: m[4] };
}

/** One `--out-format` line of ours: the file's name and the bytes rsync sent for it. */
export function parseFileLine(line: string): { name: string; bytes: number } | undefined {
  if (!line.startsWith(FILE_LINE_MARK)) return undefined;
  const m = /^(\d+) (.+)$/.exec(line.slice(FILE_LINE_MARK.length));
  return m?.[1] && m[2] ? { bytes: Number(m[1]), name: m[2] } : undefined;
}

/** Splits rsync's stdout into lines (\r or \n separated), keeping an incomplete tail for the next chunk. */
export class LineSplitter {
  private rest = "";
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/[\r\n]/);
    this.rest = parts.pop() ?? "";
    return parts;
  }
}

/** Splits a progress stream into updates (\r or \n separated), keeping an incomplete tail for the next chunk. */
export class ProgressSplitter {
  private readonly lines = new LineSplitter();
  push(chunk: string): RsyncProgress[] {
    return this.lines
      .push(chunk)
      .map(parseProgress2)
      .filter((p): p is RsyncProgress => p !== undefined);
  }
}
