/**
 * Unified diffs of config changes for the journal and the report, with secrets masked.
 *
 * The diff itself comes from jsdiff (`diff` on npm): a correct, minimal line diff with hunk headers is easy to
 * get subtly wrong by hand (Myers' algorithm, context merging, "\ No newline at end of file"), and jsdiff is the
 * widely used, maintained implementation, ships its own types and runs on Node 20. Masking happens per line after
 * diffing the real texts, so a change of only a password still shows as a changed line (with both sides masked)
 * rather than vanishing.
 */
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from "diff";
import { redact } from "../lib/redact.js";
import { maskLine } from "./secrets.js";

export interface ConfigDiffOptions {
  /** Lines of context around each change. @default 3 */
  readonly context?: number;
  /** Literal secrets to remove as well (passwords from the answer file), wherever they appear. */
  readonly secrets?: readonly string[];
}

export interface ConfigDiff {
  readonly path: string;
  /** The unified diff, masked; "" when the texts are equal. */
  readonly unified: string;
  readonly added: number;
  readonly removed: number;
}

function maskHunkLine(line: string, secrets: readonly string[] | undefined): string {
  // jsdiff's marker lines ("\ No newline at end of file") carry no content.
  if (line.startsWith("\\")) return line;
  return line.slice(0, 1) + redact(maskLine(line.slice(1)), secrets);
}

/** The masked unified diff of one file's change (`a/<path>` -> `b/<path>`). */
export function configDiff(
  path: string,
  before: string,
  after: string,
  options: ConfigDiffOptions = {},
): ConfigDiff {
  if (before === after) return { path, unified: "", added: 0, removed: 0 };
  const patch = structuredPatch(`a${path}`, `b${path}`, before, after, undefined, undefined, {
    context: options.context ?? 3,
  });
  let added = 0;
  let removed = 0;
  const hunks = patch.hunks.map((h) => ({
    ...h,
    lines: h.lines.map((l) => {
      if (l.startsWith("+")) added++;
      else if (l.startsWith("-")) removed++;
      return maskHunkLine(l, options.secrets);
    }),
  }));
  const unified = formatPatch({ ...patch, hunks }, FILE_HEADERS_ONLY);
  return { path, unified, added, removed };
}
