/**
 * One rsync pull: rsync on the destination with progress events, over SSH with a temporary key. Either the run's
 * key (made once by files.temp-key and reused by every pass: `key`), or, without one, a key made for this pass
 * alone (journaled through `record` before the source is touched, removed in `finally`). Used by files.sync,
 * volumes.copy and the benchmark. With `directCopyMinBytes` (files.sync: immutable glance images), files the
 * destination lacks are first copied by direct-copy.ts's `ssh cat` fast path, then rsync runs over everything
 * unless the listings showed nothing else to do.
 */
import type { StepContext } from "../engine/step.js";
import type { Host } from "../hosts/host.js";
import { tail } from "../hosts/errors.js";
import { BugError, UserError } from "../lib/errors.js";
import { LineSplitter, parseFileLine, parseProgress2, rsyncPullArgv, type SshTransport } from "./rsync.js";
import {
  COPYING_LINE_MARK,
  directCopyArgv,
  directCopyDirOk,
  directCopyStdin,
  planDirectCopy,
  type DirectCopyPlan,
} from "./direct-copy.js";
import {
  createTempKey,
  removeTempKeys,
  type KeyFileOption,
  type TempKey,
  type TempKeyRecord,
} from "./temp-key.js";

export interface PullOptions extends KeyFileOption {
  readonly sourceDir: string;
  readonly destDir: string;
  readonly sparse?: boolean;
  readonly inplace?: boolean;
  readonly only?: readonly string[];
  /** The run's key, already installed: used as is and left in place. */
  readonly key?: TempKey;
  /**
   * Without `key`: a key is made for this pass; called with its record before the source's authorized_keys is
   * changed (journal it).
   */
  readonly record?: (r: TempKeyRecord) => void;
  /** Called as each file is done, with the bytes rsync sent for it (files unchanged since are not reported). */
  readonly onFile?: (name: string, bytes: number) => void;
  /** Label for progress and errors. */
  readonly what: string;
  /**
   * Files at least this big that the destination lacks go by the `ssh cat` fast path first, and rsync runs only
   * when something else differs (direct-copy.ts). Only for files that are never rewritten in place (glance
   * images); ignored with `sparse` or `inplace`.
   */
  readonly directCopyMinBytes?: number;
  /** How often the fast path polls the file being copied for progress (tests shorten it). @default 1000 */
  readonly progressPollMs?: number;
}

/** rsync exit codes worth explaining (man rsync). */
const RSYNC_EXIT: Readonly<Record<number, string>> = {
  10: "error in socket I/O",
  11: "error in file I/O (disk full?)",
  12: "error in rsync protocol data stream (ssh failed?)",
  23: "partial transfer due to error",
  24: "some source files vanished during the transfer",
  255: "ssh failed",
};

/** Resolves when the stream has ended; call it BEFORE awaiting the exit, or an "end" already past is missed. */
function ended(stream: NodeJS.ReadableStream): Promise<void> {
  const s = stream as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean };
  if (s.readableEnded === true || s.destroyed === true) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once("end", () => resolve());
    stream.once("close", () => resolve());
    stream.once("error", () => resolve());
  });
}

/**
 * The port the source's sshd listens on, as the jump reaches it (SshHost has `port`; Host does not promise one).
 * The destination reaches the source at the same address, so the same port.
 */
export function sshPortOf(source: Host): number {
  const port = (source as Host & { readonly port?: unknown }).port;
  return typeof port === "number" && Number.isInteger(port) && port > 0 ? port : 22;
}

/** Creates the temporary key for `dest` to pull from `source` (see temp-key.ts). */
export function createPullKey(
  dest: Host,
  source: Host,
  onRecord: (r: TempKeyRecord) => void,
  opts: KeyFileOption = {},
): Promise<TempKey> {
  return createTempKey(dest, source, {
    fromAddress: dest.address,
    sourceAddress: source.address,
    port: sshPortOf(source),
    onRecord,
    ...opts,
  });
}

/** Runs the pull; resolves with the bytes rsync reports having moved. */
export async function rsyncPull(ctx: StepContext, dest: Host, source: Host, o: PullOptions): Promise<number> {
  if (o.key) return pullWith(ctx, dest, source, o.key, o);
  if (!o.record) throw new BugError(`${o.what}: rsyncPull needs a key or a record callback`);
  const keyOpts = o.authorizedKeys === undefined ? {} : { authorizedKeys: o.authorizedKeys };
  const key = await createPullKey(dest, source, o.record, keyOpts);
  try {
    return await pullWith(ctx, dest, source, key, o);
  } finally {
    await removeTempKeys(dest, source, [{ dir: key.dir, nonce: key.nonce }], keyOpts);
  }
}

async function pullWith(
  ctx: StepContext,
  dest: Host,
  source: Host,
  key: TempKey,
  o: PullOptions,
): Promise<number> {
  const transport: SshTransport = {
    identityFile: key.identityFile,
    knownHostsFile: key.knownHostsFile,
    port: sshPortOf(source),
  };
  let fast = 0;
  const min = o.directCopyMinBytes;
  if (
    min !== undefined &&
    !o.sparse &&
    !o.inplace &&
    directCopyDirOk(o.sourceDir) &&
    directCopyDirOk(o.destDir)
  ) {
    const plan = planDirectCopy(dest, source, o.sourceDir, o.destDir, min, o.only);
    const r = await directCopy(ctx, dest, source, transport, plan, o);
    // Nothing else differs and every fast copy worked: rsync would start only to find nothing to do.
    if (!r.rsyncNeeded) return r.bytes;
    fast = r.bytes;
  }
  const argv = rsyncPullArgv({
    transport,
    sourceUser: "root",
    sourceHost: source.address,
    sourceDir: o.sourceDir,
    destDir: o.destDir,
    ...(o.sparse ? { sparse: true } : {}),
    ...(o.inplace ? { inplace: true } : {}),
    ...(o.only ? { only: o.only } : {}),
    ...(o.onFile ? { perFile: true } : {}),
  });
  let last = 0;
  await streamed(ctx, dest, source, argv, undefined, o, "rsync", (line) => {
    const f = o.onFile ? parseFileLine(line) : undefined;
    // Directories get lines too (their times are updated): only files are reported.
    if (f && !f.name.endsWith("/")) o.onFile?.(f.name, f.bytes);
    const p = f ? undefined : parseProgress2(line);
    if (!p) return;
    last = p.bytes;
    const total = p.percent > 0 ? Math.round((p.bytes * 100) / p.percent) : undefined;
    ctx.emit({
      type: "step-progress",
      message: `${o.what}: ${p.percent}% ${p.rate} ETA ${p.eta}`,
      bytes: fast + p.bytes,
      ...(total !== undefined ? { totalBytes: fast + total } : {}),
    });
  });
  return fast + last;
}

/** h:mm:ss, as rsync prints its ETA. */
function hms(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${mm}:${ss}`;
}

/**
 * The fast path (direct-copy.ts): resolves with the bytes it copied. Progress comes from polling the size of the
 * file being copied (the script prints its temp path), since `cat` prints none; per-file lines go to onFile.
 */
async function directCopy(
  ctx: StepContext,
  dest: Host,
  source: Host,
  transport: SshTransport,
  planned: Promise<DirectCopyPlan>,
  o: PullOptions,
): Promise<{ bytes: number; rsyncNeeded: boolean }> {
  const argv = directCopyArgv({
    transport,
    sourceUser: "root",
    sourceHost: source.address,
    sourceDir: o.sourceDir,
    destDir: o.destDir,
  });
  let plan: DirectCopyPlan = { files: [], rsyncNeeded: true };
  let total = 0;
  // The script is started at once and waits for its file list on stdin, so its start-up (a channel and a shell
  // on the destination) overlaps the listings instead of following them; with nothing to copy it just exits.
  const stdin = planned.then((p) => {
    plan = p;
    total = p.files.reduce((n, f) => n + f.size, 0);
    return directCopyStdin(p.files);
  });
  void stdin.catch(() => undefined); // awaited by streamed(), which throws it; unobserved if the start failed
  const started = ctx.now().getTime();
  let done = 0;
  let skipped = 0;
  let part: string | undefined;
  const report = (current: number): void => {
    const bytes = done + current;
    const seconds = (ctx.now().getTime() - started) / 1000;
    const rate = seconds > 0 ? bytes / seconds : 0;
    const percent = total > 0 ? Math.floor((bytes * 100) / total) : 100;
    ctx.emit({
      type: "step-progress",
      message: `${o.what}: ${percent}% ${Math.round(rate)}B/s ETA ${rate > 0 ? hms((total - bytes) / rate) : "0:00:00"}`,
      bytes,
      totalBytes: total,
    });
  };
  const timer = setInterval(() => {
    const p = part;
    if (p === undefined) return;
    dest.stat(p).then(
      (st) => {
        if (st && part === p) report(st.size);
      },
      () => undefined, // a poll that fails (file renamed meanwhile) only skips one update
    );
  }, o.progressPollMs ?? 1000);
  timer.unref();
  try {
    await streamed(ctx, dest, source, argv, stdin, o, "direct copy", (line) => {
      if (line.startsWith("handover-part ")) part = line.slice("handover-part ".length);
      else if (line.startsWith(COPYING_LINE_MARK)) part = undefined;
      else if (line.startsWith("handover-skipped ")) skipped++;
      const f = parseFileLine(line);
      if (!f) return;
      part = undefined;
      done += f.bytes;
      o.onFile?.(f.name, f.bytes);
      report(0);
    });
  } catch (e) {
    // The fast path never fails a pass: rsync runs after it and copies (or reports) whatever it did not.
    if (ctx.signal.aborted) throw e;
    const asked = (await planned).files.length > 0;
    if (asked) {
      ctx.emit({
        type: "log",
        level: "warn",
        message: `${o.what}: the fast copy stopped, rsync copies the rest: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
    return { bytes: done, rsyncNeeded: true };
  } finally {
    clearInterval(timer);
  }
  return { bytes: done, rsyncNeeded: plan.rsyncNeeded || skipped > 0 };
}

/**
 * Runs `argv` on the destination, lines of its stdout to `onLine`; throws a UserError for a failing exit (rsync's
 * codes explained), or when the run was aborted.
 */
async function streamed(
  ctx: StepContext,
  dest: Host,
  source: Host,
  argv: readonly string[],
  stdin: Promise<string> | undefined,
  o: PullOptions,
  tool: string,
  onLine: (line: string) => void,
): Promise<void> {
  const run = await dest.execStream(argv);
  const onAbort = (): void => run.kill();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const splitter = new LineSplitter();
  let stderr = "";
  run.stdout.on("data", (c: Buffer) => {
    for (const line of splitter.push(c.toString("utf8"))) onLine(line);
  });
  run.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-16_000);
  });
  // Listened for from the start: streams that ended before the exit status arrived must not be waited for (that
  // wait, 2 s per pass, was most of a small delta pass's time).
  const drained = Promise.all([ended(run.stdout), ended(run.stderr)]);
  // A stdin that cannot be made (a bug) still ends, so the command exits; the error is thrown below.
  const fed = stdin?.then(
    (text) => void run.stdin.end(text),
    (e: unknown) => {
      run.stdin.end();
      throw e;
    },
  );
  try {
    await fed;
    const r = await run.done;
    // The exit status can arrive before the last output: let stdout/stderr drain (bounded: a host that never
    // ends a stream must not hang the step).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise((resolve) => {
        timer = setTimeout(resolve, 2000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (ctx.signal.aborted) throw new UserError("ABORTED", `${o.what} interrupted`);
    // 24: files vanished on the source mid-copy (an image deleted while the cloud is live): not an error.
    if (r.exitCode !== 0 && !(tool === "rsync" && r.exitCode === 24)) {
      const why =
        (tool === "rsync" ? RSYNC_EXIT[r.exitCode] : undefined) ?? (r.signal ? `killed (${r.signal})` : "");
      throw new UserError(
        "RSYNC_FAILED",
        `${o.what}: ${tool} on ${dest.name} exited with ${r.exitCode}${why ? ` (${why})` : ""}: ${tail(stderr, 1500)}`,
        {
          nextSteps: [
            `Check that ${dest.name} reaches ${source.address} over SSH and has disk space, then re-run (the copy resumes).`,
          ],
        },
      );
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
  }
}
