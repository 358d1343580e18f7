/**
 * What the operator reads about an answer file: one line per problem, always with the file, line, column and
 * the field path, e.g. `answers.yaml:14:11 controllers.old.ssh.port: expected an integer 1-65535, got "22x"`.
 */

/** A path into the answer file, as zod and yaml see it: keys and sequence indexes. */
export type FieldPath = readonly (string | number)[];

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
}

export interface Diagnostic extends Position {
  readonly severity: "error" | "warning";
  /** The answer file as the operator named it (not made absolute: it should look like what they typed). */
  readonly file: string;
  /** Dotted field path with [n] for list items, e.g. `networks[1].cidr`; `(top level)` for the document. */
  readonly path: string;
  readonly message: string;
}

/** Where a field sits in the file: the value when present, otherwise the nearest mapping that should hold it. */
export type Locate = (path: FieldPath, at?: "key" | "value") => Position;

export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out === "" ? "(top level)" : out;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col} ${d.path}:`;
  return d.severity === "warning" ? `${where} warning: ${d.message}` : `${where} ${d.message}`;
}

/** Stable order for display: by line, then column, then message (so output does not depend on check order). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.line - b.line || a.col - b.col || a.message.localeCompare(b.message));
}

/** Builds diagnostics for one file from a locator, so callers only say the path and the message. */
export function diagnosticFactory(file: string, locate: Locate) {
  return (
    severity: Diagnostic["severity"],
    path: FieldPath,
    message: string,
    at: "key" | "value" = "value",
  ): Diagnostic => ({ severity, file, ...locate(path, at), path: formatPath(path), message });
}

/** Edit distance counting a swap of two neighbours as one edit (typos like "nwe"), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = Array.from({ length: rows * cols }, (_, k) =>
    k < cols ? k : k % cols === 0 ? k / cols : 0,
  );
  const at = (i: number, j: number) => d[i * cols + j] ?? 0;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The closest candidate to a misspelt word, if it is close enough to be a plausible typo: `key-file` and
 * `Key_File` match `key_file`; otherwise at most 2 edits (1 for very short words).
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const canon = (s: string) => s.toLowerCase().replace(/-/g, "_");
  const exact = candidates.find((c) => canon(c) === canon(word));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(canon(word), canon(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = word.length <= 3 ? 1 : 2;
  return bestDistance <= limit ? best : undefined;
}
