/**
 * One rsync pull, start to finish: temporary key (journaled through `record` before the source is touched),
 * rsync on the destination with progress events, key removed in `finally`. Used by files.sync and volumes.copy.
 */
import type { StepContext } from "../engine/step.js";
import type { Host } from "../hosts/host.js";
import { tail } from "../hosts/errors.js";
import { UserError } from "../lib/errors.js";
import { ProgressSplitter, rsyncPullArgv } from "./rsync.js";
import { createTempKey, removeTempKeys, type TempKeyRecord } from "./temp-key.js";

export interface PullOptions {
  readonly sourceDir: string;
  readonly destDir: string;
  readonly sparse?: boolean;
  readonly inplace?: boolean;
  readonly only?: readonly string[];
  /** Called with the key's record before the source's authorized_keys is changed (journal it). */
  readonly record: (r: TempKeyRecord) => void;
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

function ended(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once("end", () => resolve());
    stream.once("close", () => resolve());
    stream.once("error", () => resolve());
  });
}

export async function rsyncPull(ctx: StepContext, dest: Host, source: Host, o: PullOptions): Promise<number> {
  const key = await createTempKey(dest, source, {
    fromAddress: dest.address,
    sourceAddress: source.address,
    onRecord: o.record,
  });
  try {
    const argv = rsyncPullArgv({
      transport: { identityFile: key.identityFile, knownHostsFile: key.knownHostsFile },
      sourceUser: "root",
      sourceHost: source.address,
      sourceDir: o.sourceDir,
      destDir: o.destDir,
      ...(o.sparse ? { sparse: true } : {}),
      ...(o.inplace ? { inplace: true } : {}),
      ...(o.only ? { only: o.only } : {}),
    });
    const run = await dest.execStream(argv);
    const onAbort = (): void => run.kill();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const splitter = new ProgressSplitter();
    let last = 0;
    let stderr = "";
    run.stdout.on("data", (c: Buffer) => {
      for (const p of splitter.push(c.toString("utf8"))) {
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
    try {
      const r = await run.done;
      // The exit status can arrive before the last output: let stdout/stderr drain (bounded: a host that never
      // ends a stream must not hang the step).
      await Promise.race([
        Promise.all([ended(run.stdout), ended(run.stderr)]),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
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
  } finally {
    await removeTempKeys(dest, source, [{ dir: key.dir, nonce: key.nonce }]);
  }
}
