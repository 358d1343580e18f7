/**
 * The fast path of a pull for big files the destination does not have yet: one `ssh old cat FILE > TMP` per file,
 * run on the destination by a fixed script, then rename. Used before rsync by files.sync's warm pass (glance
 * images, which are never rewritten in place), never for volumes.
 *
 * Why not rsync for these: both controllers share 2 cores on the lab, so throughput follows CPU seconds per byte.
 * Measured on loopback (docs/benchmarks.md, "loopback experiment"): the receiving side of rsync costs ~1.5 CPU-s
 * per 2 GiB more than `ssh cat > file` (the whole copy ~22 % more), because ssh hands the data to the rsync receiver through a socket in ~16 KiB
 * reads (one pselect per read) before it is written, where `cat > file` lets ssh write the file itself. That is
 * the 0.78x of the lab bench; `--whole-file` does not change it (a file absent on the destination is already sent
 * whole) and a `tar | ssh | tar` stream has the same extra hop. With ssh's stdout as the file, the copy costs
 * what the raw pipe costs.
 *
 * The contract is unchanged because rsync still runs afterwards whenever anything else differs: it copies the
 * small files, files changed or partial on the destination (resuming a partial one by delta), any file the fast
 * path skipped or failed, and fixes modes; its quick check (size + mtime, which the script sets from the source's
 * listing, as it sets the mode) skips the files copied here. When the listings show nothing else to do, rsync is
 * not started at all (its start-up, file list and end-of-run exchanges). A fast copy that fails (a file deleted
 * on the live cloud, ssh refused, the script itself) is not an error: a warning, then rsync runs and copies or
 * reports that file. The listings cost a few tenths of a second before the first byte, which is why files.sync's
 * small in-window delta pass does not use this path. The script writes to a dot-file of its own in
 * the destination directory and renames it only when its size is the listed size, so an interrupted copy never
 * leaves a file under the image's name; the dot-file is removed when the script ends and otherwise by undo (a
 * file the step created). Owners are the caller's (files.sync chowns the tree after every pass). Every image is
 * still checked against glance's checksums (files.sync).
 *
 * One SSH handshake per file (~0.15 s on the lab) is why only big files take this path: below `minBytes` rsync's
 * one session is cheaper.
 */
import type { Host } from "../hosts/host.js";
import { BugError } from "../lib/errors.js";
import { FILE_LINE_MARK, remoteSpec, sshCommand, type SshTransport } from "./rsync.js";

/** Above this, a file absent on the destination is copied by the fast path (see the header). */
export const DIRECT_COPY_MIN_BYTES = 256 * 1024 * 1024;

/**
 * Names the script accepts: no whitespace, quotes, globs or other shell specials (the source's shell parses the
 * remote `cat` command), no leading dot (ours are dot-files). Glance's are UUIDs.
 */
const NAME = /^[A-Za-z0-9_@%+=:,-][A-Za-z0-9_@%+=:,.-]*$/;
/** Directories likewise (the source dir is in that remote command too). */
const DIR = /^\/[A-Za-z0-9_@%+=:,./-]*$/;
/** `find -printf %T@`: seconds since the epoch with a fraction. */
const MTIME = /^\d{1,12}(\.\d{1,10})?$/;
/** `find -printf %m`: permission bits in octal. */
const MODE = /^[0-7]{3,4}$/;

/** One entry at the top of a directory, as LISTING prints it. */
export interface Entry {
  /** `find -printf %y`: f (regular file), d, l, ... */
  readonly type: string;
  readonly name: string;
  readonly size: number;
  /** As `find -printf %T@` prints it; `touch -d @MTIME` takes it back. */
  readonly mtime: string;
  /** As `find -printf %m` prints it. */
  readonly mode: string;
}
/** A file the fast path copies. */
export type SourceFile = Entry;

/** `find DIR -mindepth 1 -maxdepth 1 -printf LISTING`: every entry at the top of DIR, of any type. */
export const LISTING = "%y %s %T@ %m %f\\n";

/** Parses a LISTING; lines that do not fit are dropped. */
export function parseListing(stdout: string): Entry[] {
  const out: Entry[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^(\S) (\d+) (\S+) (\S+) (.+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3] || !m[4] || !m[5]) continue;
    out.push({ type: m[1], size: Number(m[2]), mtime: m[3], mode: m[4], name: m[5] });
  }
  return out;
}

/** Below `minBytes`, at most this many files the destination lacks go by the fast path, and only when rsync
 * would otherwise not run at all (one handshake each; rsync's one session is cheaper for more). */
export const SMALL_FILES_MAX = 2;

export interface DirectCopyPlan {
  /** Biggest first, so the ETA settles early. */
  readonly files: SourceFile[];
  /**
   * Whether rsync must still run: something other than a plain regular file the destination lacks differs
   * (a file changed or partial on the destination, another mode, a name or type the fast path refuses, small
   * files rsync takes). When false, after the fast path the destination holds what rsync's quick check (size and
   * mtime) and --perms would leave it with, and rsync would only start up to find nothing to do.
   */
  readonly rsyncNeeded: boolean;
}

/**
 * What the fast path copies and whether rsync must run after it (see DirectCopyPlan). Fast: regular files at the
 * top of the source directory with a plain name (NAME), a readable mtime and mode, that the destination does not
 * have under any type, of at least `minBytes` (or a few small ones when nothing else needs rsync). `only`, when
 * given, restricts everything to those names as rsync's `only` does.
 */
export function planFromListings(
  source: readonly Entry[],
  dest: readonly Entry[],
  minBytes: number,
  only?: readonly string[],
): DirectCopyPlan {
  const allowed = only ? new Set(only) : undefined;
  const there = new Map(dest.map((e) => [e.name, e]));
  const big: SourceFile[] = [];
  const small: SourceFile[] = [];
  let rsyncNeeded = false;
  for (const e of source) {
    if (allowed && !allowed.has(e.name)) continue;
    const d = there.get(e.name);
    const plain = e.type === "f" && NAME.test(e.name) && MTIME.test(e.mtime) && MODE.test(e.mode);
    if (d === undefined && plain) (e.size >= minBytes ? big : small).push(e);
    else if (!(plain && d?.type === "f" && d.size === e.size && d.mtime === e.mtime && d.mode === e.mode))
      rsyncNeeded = true;
  }
  const smallByRsync = rsyncNeeded || small.length > SMALL_FILES_MAX;
  const files = smallByRsync ? big : [...big, ...small];
  return {
    files: files.sort((a, b) => b.size - a.size || a.name.localeCompare(b.name)),
    rsyncNeeded: rsyncNeeded || (smallByRsync && small.length > 0),
  };
}

/** Starts a line the script prints before copying a file: `<size> <name>`. */
export const COPYING_LINE_MARK = "handover-copying ";

/**
 * The fixed script. Arguments: destination dir, source dir, then the ssh argv with `user@host` last. The file
 * list comes on stdin, one `size mtime mode name` per line (names checked by NAME, so `read` cannot split them
 * wrongly). Lines out: COPYING_LINE_MARK before a file, `FILE_LINE_MARK<bytes> <name>` after it (rsync's
 * --out-format, parsed by the same code), `handover-skipped <name>` when the copy did not work (rsync does it).
 * The temp file's path is printed first (`handover-part <path>`) so the caller can poll its size for progress.
 */
export const DIRECT_COPY_SCRIPT = [
  "set -u",
  'dest=$1 src=$2; shift 2; tmp=""',
  // An interrupted script (the run aborted, the channel closed) leaves no temp file behind.
  `trap 'rm -f -- "$tmp"' EXIT`,
  "trap 'exit 143' HUP INT TERM PIPE",
  "while read -r size mtime mode name; do",
  '  tmp="$dest/.$name.handover-part.$$"',
  `  printf '%s%s %s\\n' '${COPYING_LINE_MARK}' "$size" "$name"`,
  "  printf 'handover-part %s\\n' \"$tmp\"",
  // ssh's stdout is the file itself: no process between the decrypting ssh and the page cache.
  '  if "$@" cat -- "$src/$name" < /dev/null > "$tmp" && [ "$(stat -c %s -- "$tmp")" = "$size" ] &&',
  '    chmod "$mode" -- "$tmp" && touch -d "@$mtime" -- "$tmp" && mv -f -T -- "$tmp" "$dest/$name"; then',
  `    printf '%s%s %s\\n' '${FILE_LINE_MARK}' "$size" "$name"`,
  "  else",
  '    rm -f -- "$tmp"',
  "    printf 'handover-skipped %s\\n' \"$name\"",
  "  fi",
  '  tmp=""',
  "done",
].join("\n");

export interface DirectCopy {
  readonly transport: SshTransport;
  readonly sourceUser: string;
  readonly sourceHost: string;
  readonly sourceDir: string;
  readonly destDir: string;
}

/** The argv run on the destination; the file list goes to its stdin (directCopyStdin). */
export function directCopyArgv(d: DirectCopy): string[] {
  // remoteSpec checks user and host; ssh takes an IPv6 literal without rsync's brackets.
  const spec = remoteSpec(d.sourceUser, d.sourceHost, "/");
  const target = spec.slice(0, -2).replace(/@\[(.*)\]$/, "@$1");
  for (const dir of [d.sourceDir, d.destDir])
    if (!directCopyDirOk(dir))
      throw new BugError(`direct copy: refusing an unusual dir ${JSON.stringify(dir)}`);
  // sshCommand's words are plain (checked), so splitting on spaces gives the same argv rsync's -e would run.
  return [
    "sh",
    "-c",
    DIRECT_COPY_SCRIPT,
    "handover-direct-copy",
    d.destDir,
    d.sourceDir,
    ...sshCommand(d.transport).split(" "),
    target,
  ];
}

export function directCopyStdin(files: readonly SourceFile[]): string {
  return files
    .map((f) => {
      if (!NAME.test(f.name) || !MTIME.test(f.mtime) || !MODE.test(f.mode) || !Number.isSafeInteger(f.size))
        throw new BugError(`direct copy: unusual file ${JSON.stringify(f)}`);
      return `${f.size} ${f.mtime} ${f.mode} ${f.name}\n`;
    })
    .join("");
}

/** Whether a directory can be used by the fast path at all (otherwise rsync alone copies it). */
export function directCopyDirOk(dir: string): boolean {
  return DIR.test(dir) && !dir.split("/").includes("..");
}

/**
 * Lists both sides (read-only `find`) and plans the fast path. A listing that fails means no fast copy: rsync
 * then copies everything and reports what is wrong.
 */
export async function planDirectCopy(
  dest: Host,
  source: Host,
  sourceDir: string,
  destDir: string,
  minBytes: number,
  only?: readonly string[],
): Promise<DirectCopyPlan> {
  const none: DirectCopyPlan = { files: [], rsyncNeeded: true };
  if (!directCopyDirOk(sourceDir) || !directCopyDirOk(destDir)) return none;
  const list = (h: Host, dir: string) =>
    h.exec(["find", dir, "-mindepth", "1", "-maxdepth", "1", "-printf", LISTING]);
  const listed = await Promise.all([list(source, sourceDir), list(dest, destDir)]).catch(() => undefined);
  const [src, dst] = listed ?? [];
  if (src?.exitCode !== 0 || dst?.exitCode !== 0) return none;
  return planFromListings(parseListing(src.stdout), parseListing(dst.stdout), minBytes, only);
}
