/** Visible progress for slow phases: one line per phase with elapsed seconds, on stderr. */

const started = Date.now();

function stamp(): string {
  return `[lab ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`;
}

export function say(message: string): void {
  process.stderr.write(`${stamp()} ${message}\n`);
}

/** Run a phase, printing its start and its duration; a heartbeat every 20 s shows long phases are alive. */
export async function phase<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  say(`${name} ...`);
  const beat = setInterval(
    () => say(`  ${name}: still running (${Math.round((Date.now() - t0) / 1000)} s)`),
    20_000,
  );
  try {
    const result = await fn();
    say(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  } catch (err) {
    say(`${name}: FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    throw err;
  } finally {
    clearInterval(beat);
  }
}
