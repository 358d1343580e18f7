/**
 * Secrets given to a call are removed from every message, log line and error built from it. A secret shorter
 * than 4 characters is still redacted: we would rather over-redact than leak.
 */
export const REDACTED = "***";

export function redact(text: string, secrets: readonly string[] | undefined): string {
  if (!secrets || secrets.length === 0) return text;
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join(REDACTED);
  }
  return out;
}
