/**
 * Streams one command's stdout on a host into another command's stdin on another host (through the jump: two SSH
 * channels, nothing written to disk in between), e.g. `tar -c` on old into `tar -x` on new. Both exit codes are
 * checked: a producer that dies midway ends the consumer's stdin cleanly, so the consumer's exit code alone would
 * call a truncated copy a success. Whichever side fails first stops the other.
 */
import { Transform } from "node:stream";
import type { ExecOptions, ExecStream, Host } from "../hosts/host.js";
import { displayCommand, tail } from "../hosts/errors.js";
import { UserError } from "../lib/errors.js";
import { redact } from "../lib/redact.js";

export interface PipeEnd {
  readonly host: Host;
  readonly argv: readonly string[];
  /** Given to execStream; its secretsToRedact are also removed from the failure message. */
  readonly exec?: Omit<ExecOptions, "stdin">;
  /** How the failure message names this side. @default the command line in backticks */
  readonly label?: string;
  /**
   * What of this side's output the failure message quotes (stdout is "" for the producer: it is the data).
   * @default the producer's stderr; the consumer's stderr, then stdout
   */
  readonly errorText?: (stderr: string, stdout: string) => string;
}

export interface PipeOptions {
  readonly signal?: AbortSignal;
  /** Called with the running byte count as data flows. */
  readonly onBytes?: (bytes: number) => void;
  /** Error code for a failure. @default "HOST_PIPE_FAILED" */
  readonly code?: string;
  /** What is being copied, for the message ("the /etc/nova tree"). */
  readonly what: string;
  readonly nextSteps?: readonly string[];
  /** The message when the signal stopped the copy. @default `copy of <what> interrupted` */
  readonly abortedMessage?: string;
}

function collect(stream: NodeJS.ReadableStream): () => string {
  let text = "";
  stream.on("data", (c: Buffer | string) => {
    text += c.toString();
    if (text.length > 64_000) text = text.slice(-32_000);
  });
  return () => text;
}

function outcome(r: { exitCode: number; signal?: string }): string {
  return r.signal ? `was killed (${r.signal})` : `exited with ${r.exitCode}`;
}

function start(end: PipeEnd): Promise<ExecStream> {
  return end.exec ? end.host.execStream(end.argv, end.exec) : end.host.execStream(end.argv);
}

/** One side's failure; `stdout` is undefined for the producer (its stdout is the data). */
function problem(
  end: PipeEnd,
  r: { exitCode: number; signal?: string },
  stderr: string,
  stdout: string | undefined,
): string {
  const text = end.errorText
    ? end.errorText(stderr, stdout ?? "")
    : stdout === undefined
      ? stderr
      : `${stderr}\n${stdout}`.trim();
  return `${end.label ?? `\`${displayCommand(end.argv)}\``} on ${end.host.name} ${outcome(r)}: ${tail(text, 1500)}`;
}

/** Runs `from | to` and resolves with the bytes that went through; throws a UserError naming both sides. */
export async function pipeBetween(from: PipeEnd, to: PipeEnd, options: PipeOptions): Promise<number> {
  const src: ExecStream = await start(from);
  let dst: ExecStream;
  try {
    dst = await start(to);
  } catch (e) {
    src.kill();
    await src.done;
    throw e;
  }
  const srcErr = collect(src.stderr);
  const dstErr = collect(dst.stderr);
  const dstOut = collect(dst.stdout);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      options.onBytes?.(bytes);
      cb(null, chunk);
    },
  });
  // A dying consumer closes its stdin: the pipe errors with EPIPE; the exit codes below say what happened.
  dst.stdin.on("error", () => undefined);
  counter.on("error", () => undefined);
  src.stdout.on("error", () => undefined);
  src.stdout.pipe(counter).pipe(dst.stdin);
  const onAbort = (): void => {
    src.kill();
    dst.kill();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // An abort while the commands were starting would never fire the listener.
  if (options.signal?.aborted) onAbort();
  try {
    const [s, d] = await Promise.all([
      src.done.then((r) => {
        if (r.exitCode !== 0) dst.kill();
        return r;
      }),
      dst.done.then((r) => {
        if (r.exitCode !== 0) src.kill();
        return r;
      }),
    ]);
    if (options.signal?.aborted) {
      throw new UserError("ABORTED", options.abortedMessage ?? `copy of ${options.what} interrupted`);
    }
    const problems: string[] = [];
    if (s.exitCode !== 0) problems.push(problem(from, s, srcErr(), undefined));
    if (d.exitCode !== 0) problems.push(problem(to, d, dstErr(), dstOut()));
    if (problems.length > 0) {
      const secrets = [...(from.exec?.secretsToRedact ?? []), ...(to.exec?.secretsToRedact ?? [])];
      throw new UserError(
        options.code ?? "HOST_PIPE_FAILED",
        redact(`copying ${options.what} failed:\n  ${problems.join("\n  ")}`, secrets),
        {
          nextSteps: options.nextSteps ?? ["Fix the cause named above, then re-run."],
        },
      );
    }
    return bytes;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
