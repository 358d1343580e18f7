/**
 * The fast path of a pull for big files the destination does not have yet: one `ssh old cat FILE > TMP` per file,
 * run on the destination by a fixed script, then rename. Used before rsync by files.sync (glance images), never
 * for volumes.
 *
 * Why not rsync for these: both controllers share 2 cores on the lab, so throughput follows CPU seconds per byte.
 * Measured on loopback (docs/benchmarks.md, "loopback experiment"): the receiving side of rsync costs ~1.5 CPU-s
 * per GiB more than `ssh cat > file`, because ssh hands the data to the rsync receiver through a socket in ~16 KiB
 * reads (one pselect per read) before it is written, where `cat > file` lets ssh write the file itself. That is
 * the 0.78x of the lab bench; `--whole-file` does not change it (a file absent on the destination is already sent
 * whole) and a `tar | ssh | tar` stream has the same extra hop. With ssh's stdout as the file, the copy costs
 * what the raw pipe costs.
 *
 * The contract is unchanged because rsync still runs afterwards over everything: it sets owner, mode and anything
 * else, copies the small files and any file the fast path skipped or failed, and its quick check (size + mtime,
 * which the script sets from the source's listing) skips the files copied here. A fast copy that fails (a file
 * deleted on the live cloud, ssh refused) is not an error: rsync copies or reports that file. Files present on
 * the destination, complete or partial, are always left to rsync (which resumes a partial one by delta). The
 * script writes to a dot-file of its own in the destination directory and renames it only when its size is the
 * listed size, so an interrupted copy never leaves a file under the image's name; the dot-file is removed when the
 * script ends and otherwise by undo (a file the step created). Every file still goes through glance's checksums
 * (files.sync).
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

export interface SourceFile {
  readonly name: string;
  readonly size: number;
  /** As `find -printf %T@` prints it; `touch -d @MTIME` takes it back. */
  readonly mtime: string;
}

/** Parses `find DIR -maxdepth 1 -type f -printf '%s %T@ %f\n'`; lines that do not fit are dropped. */
export function parseSourceListing(stdout: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^(\d+) (\S+) (.+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    out.push({ size: Number(m[1]), mtime: m[2], name: m[3] });
  }
  return out;
}

/** Parses `find DIR -maxdepth 1 -printf '%f\n'`: every name there, of any type (an rsync partial counts). */
export function parseDestNames(stdout: string): Set<string> {
  return new Set(stdout.split("\n").filter((n) => n !== ""));
}

/**
 * The files the fast path copies: regular files at the top of the source directory, at least `minBytes`, with a
 * plain name (see NAME; anything else is left to rsync), that the destination does not have under any type.
 * `only`, when given, restricts to those names as rsync's `only` does. Biggest first, so the ETA settles early.
 */
export function directCopyCandidates(
  source: readonly SourceFile[],
  destNames: ReadonlySet<string>,
  minBytes: number,
  only?: readonly string[],
): SourceFile[] {
  const allowed = only ? new Set(only) : undefined;
  return source
    .filter(
      (f) =>
        f.size >= minBytes &&
        NAME.test(f.name) &&
        MTIME.test(f.mtime) &&
        !destNames.has(f.name) &&
        (allowed === undefined || allowed.has(f.name)),
    )
    .sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
}

/** Starts a line the script prints before copying a file: `<size> <name>`. */
export const COPYING_LINE_MARK = "handover-copying ";

/**
 * The fixed script. Arguments: destination dir, source dir, then the ssh argv with `user@host` last. The file
 * list comes on stdin, one `size mtime name` per line (names checked by NAME, so `read` cannot split them
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
  "while read -r size mtime name; do",
  '  tmp="$dest/.$name.handover-part.$$"',
  `  printf '%s%s %s\\n' '${COPYING_LINE_MARK}' "$size" "$name"`,
  "  printf 'handover-part %s\\n' \"$tmp\"",
  // ssh's stdout is the file itself: no process between the decrypting ssh and the page cache.
  '  if "$@" cat -- "$src/$name" < /dev/null > "$tmp" && [ "$(stat -c %s -- "$tmp")" = "$size" ] &&',
  '    touch -d "@$mtime" -- "$tmp" && mv -f -- "$tmp" "$dest/$name"; then',
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
      if (!NAME.test(f.name) || !MTIME.test(f.mtime) || !Number.isSafeInteger(f.size))
        throw new BugError(`direct copy: unusual file ${JSON.stringify(f)}`);
      return `${f.size} ${f.mtime} ${f.name}\n`;
    })
    .join("");
}

/** Whether a directory can be used by the fast path at all (otherwise rsync alone copies it). */
export function directCopyDirOk(dir: string): boolean {
  return DIR.test(dir) && !dir.split("/").includes("..");
}

/**
 * Lists what the fast path would copy (read-only `find` on both hosts). A listing that fails means no fast copy:
 * rsync then copies everything and reports what is wrong.
 */
export async function planDirectCopy(
  dest: Host,
  source: Host,
  sourceDir: string,
  destDir: string,
  minBytes: number,
  only?: readonly string[],
): Promise<SourceFile[]> {
  if (!directCopyDirOk(sourceDir) || !directCopyDirOk(destDir)) return [];
  const listed = await Promise.all([
    source.exec(["find", sourceDir, "-maxdepth", "1", "-type", "f", "-printf", "%s %T@ %f\\n"]),
    dest.exec(["find", destDir, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\n"]),
  ]).catch(() => undefined);
  const [src, dst] = listed ?? [];
  if (src?.exitCode !== 0 || dst?.exitCode !== 0) return [];
  return directCopyCandidates(parseSourceListing(src.stdout), parseDestNames(dst.stdout), minBytes, only);
}
