/**
 * Escaping for the two output formats. Step messages, verify texts and diffs come from hosts and tools and can
 * hold anything (`<`, `&`, quotes, backticks, pipes): every such string goes through one of these.
 */

const HTML: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text and attribute values in HTML and inline SVG. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML[c] ?? c);
}

/**
 * A GitHub-flavoured table cell: pipes escaped, newlines as <br>, and `<`/`>`/`&` as entities so a message cannot
 * open an HTML tag in a renderer that allows some.
 */
export function mdCell(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, "<br>");
}

/** Inline code in a table cell: backticks cannot be escaped inside code spans, so a longer run delimits it. */
export function mdCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text.replace(/\|/g, "\\|")}${pad}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside (a diff can contain ```). */
export function mdFence(text: string, info = ""): string {
  const longest = Math.max(0, ...(text.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text.replace(/\n$/, "")}\n${fence}`;
}
