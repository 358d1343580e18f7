/**
 * One rsync pull: rsync on the destination with progress events, over SSH with a temporary key. Either the run's
 * key (made once by files.temp-key and reused by every pass: `key`), or, without one, a key made for this pass
 * alone (journaled through `record` before the source is touched, removed in `finally`). Used by files.sync,
 * volumes.copy and the benchmark.
 */
import type { StepContext } from "../engine/step.js";
import type { Host } from "../hosts/host.js";
import { tail } from "../hosts/errors.js";
import { BugError, UserError } from "../lib/errors.js";
import { LineSplitter, parseFileLine, parseProgress2, rsyncPullArgv } from "./rsync.js";
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
  const argv = rsyncPullArgv({
    transport: {
      identityFile: key.identityFile,
      knownHostsFile: key.knownHostsFile,
      port: sshPortOf(source),
    },
    sourceUser: "root",
    sourceHost: source.address,
    sourceDir: o.sourceDir,
    destDir: o.destDir,
    ...(o.sparse ? { sparse: true } : {}),
    ...(o.inplace ? { inplace: true } : {}),
    ...(o.only ? { only: o.only } : {}),
    ...(o.onFile ? { perFile: true } : {}),
  });
  const run = await dest.execStream(argv);
  const onAbort = (): void => run.kill();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const splitter = new LineSplitter();
  let last = 0;
  let stderr = "";
  run.stdout.on("data", (c: Buffer) => {
    for (const line of splitter.push(c.toString("utf8"))) {
      const f = o.onFile ? parseFileLine(line) : undefined;
      // Directories get lines too (their times are updated): only files are reported.
      if (f && !f.name.endsWith("/")) o.onFile?.(f.name, f.bytes);
      const p = f ? undefined : parseProgress2(line);
      if (!p) continue;
      last = p.bytes;
      const total = p.percent > 0 ? Math.round((p.bytes * 100) / p.percent) : undefined;
      ctx.emit({
        type: "step-progress",
        message: `${o.what}: ${p.percent}% ${p.rate} ETA ${p.eta}`,
        bytes: p.bytes,
        ...(total !== undefined ? { totalBytes: total } : {}),
      });
    }
  });
  run.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-16_000);
  });
  // Listened for from the start: streams that ended before the exit status arrived must not be waited for (that
  // wait, 2 s per pass, was most of a small delta pass's time).
  const drained = Promise.all([ended(run.stdout), ended(run.stderr)]);
  try {
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
    if (r.exitCode !== 0 && r.exitCode !== 24) {
      const why = RSYNC_EXIT[r.exitCode] ?? (r.signal ? `killed (${r.signal})` : "");
      throw new UserError(
        "RSYNC_FAILED",
        `${o.what}: rsync on ${dest.name} exited with ${r.exitCode}${why ? ` (${why})` : ""}: ${tail(stderr, 1500)}`,
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
  return last;
}
