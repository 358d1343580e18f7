/**
 * A line-preserving editor for oslo.config INI files (nova.conf, keystone.conf, ...).
 *
 * Why not a generic INI library: they normalise what they read (drop comments, merge repeated keys, re-space
 * `=`), and packaged OpenStack configs are mostly comments that operators rely on. Here a document is the file's
 * lines, each with its own line ending, plus an index of what oslo.config would see in them. Serialising an
 * unedited document gives back the input byte for byte; an edit touches only the lines of the option it edits.
 *
 * The parsing rules follow oslo_config/iniparser.py, so that what `getValues` returns is what the service reads:
 * - a line is blank when it is empty after removing trailing whitespace; a blank line ends a multi-line value;
 * - a line starting with a space or tab continues the previous assignment (it is an error without one);
 * - `[name]` starts a section (the name is not stripped); a section may appear several times and oslo merges
 *   the occurrences;
 * - `#` or `;` at the start of a line is a comment; there are no inline comments (`a = b # c` has value `b # c`);
 * - the key ends at the first `=` or `:`, whichever comes first; key and value are stripped; a value that starts
 *   and ends with the same quote character loses one pair of quotes;
 * - a key repeated in a section gives several values (MultiStrOpt); a single-valued option takes the last one;
 * - group names other than `DEFAULT` are compared case-insensitively, keys exactly.
 *
 * Documents are immutable: every edit returns a new document.
 */
import { BugError } from "../lib/errors.js";

export type LineEnding = "" | "\n" | "\r\n" | "\r";

export interface IniLine {
  /** The line without its line ending, exactly as in the file. */
  readonly text: string;
  /** The line ending that followed it ("" only for a last line without one). */
  readonly eol: LineEnding;
}

export type LineKind = "blank" | "comment" | "section" | "option" | "continuation" | "invalid";

/** One active assignment, possibly spanning continuation lines. */
export interface IniOption {
  /** The section it is in, as written; null for assignments before any section header. */
  readonly section: string | null;
  readonly key: string;
  /** The value oslo.config reads: stripped, one pair of quotes removed, continuation lines joined with "\n". */
  readonly value: string;
  /** Index of the line holding `key = ...`. */
  readonly first: number;
  /** Index of its last continuation line (equals `first` when there is none). */
  readonly last: number;
}

/** One occurrence of a section: its header line and the lines up to the next header. */
export interface IniBlock {
  /** Section name as written; null for the lines before the first header. */
  readonly name: string | null;
  /** Index of the header line, or -1 for the leading block. */
  readonly header: number;
  /** First line after the header (0 for the leading block). */
  readonly start: number;
  /** One past the block's last line. */
  readonly end: number;
}

/** A line oslo.config would reject; kept verbatim, reported so callers can warn. */
export interface IniProblem {
  readonly line: number;
  readonly message: string;
}

export interface IniDocument {
  readonly lines: readonly IniLine[];
  readonly kinds: readonly LineKind[];
  readonly blocks: readonly IniBlock[];
  readonly options: readonly IniOption[];
  readonly problems: readonly IniProblem[];
  /** The line ending used for lines we add: the file's first one, "\n" for a file without any. */
  readonly eol: Exclude<LineEnding, "">;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

/** Python's universal newlines: \r\n, \n and a lone \r all end a line (oslo opens files in text mode). */
function splitLines(text: string): IniLine[] {
  const lines: IniLine[] = [];
  const re = /\r\n|\n|\r/g;
  let pos = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    lines.push({ text: text.slice(pos, m.index), eol: m[0] as LineEnding });
    pos = m.index + m[0].length;
  }
  if (pos < text.length) lines.push({ text: text.slice(pos), eol: "" });
  return lines;
}

/**
 * Python's notion of whitespace for str.strip(): JavaScript's trim() differs (it strips U+FEFF, Python does not;
 * Python strips U+001C..U+001F and U+0085, JavaScript does not). oslo strips with Python's.
 */
const PY_WS =
  "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_LEADING_WS = new RegExp(`^${PY_WS}+`);
const PY_TRAILING_WS = new RegExp(`${PY_WS}+$`);
const pyRstrip = (s: string): string => s.replace(PY_TRAILING_WS, "");
const pyLstrip = (s: string): string => s.replace(PY_LEADING_WS, "");
const pyStrip = (s: string): string => pyLstrip(pyRstrip(s));

const QUOTES = ['"', "'"];

/** What oslo does to the text after the separator: strip, then drop one pair of matching quotes. */
function unquote(raw: string): string {
  const v = pyStrip(raw);
  if (v.length > 0 && QUOTES.includes(v[0] ?? "") && v[0] === v[v.length - 1]) return v.slice(1, -1);
  return v;
}

/** Position of the separator: the first `=` or `:`, whichever comes first; -1 when there is neither. */
function separatorIndex(line: string): number {
  const eq = line.indexOf("=");
  const colon = line.indexOf(":");
  if (eq < 0) return colon;
  if (colon < 0) return eq;
  return Math.min(eq, colon);
}

export function normalizeSection(name: string): string {
  return name === "DEFAULT" ? name : name.toLowerCase();
}

function sameSection(a: string | null, b: string): boolean {
  return a !== null && normalizeSection(a) === normalizeSection(b);
}

function parseLines(lines: IniLine[]): IniDocument {
  const kinds: LineKind[] = [];
  const blocks: IniBlock[] = [];
  const options: IniOption[] = [];
  const problems: IniProblem[] = [];

  let section: string | null = null;
  let header = -1;
  let blockStart = 0;
  // The assignment being read, kept open while continuation lines follow it.
  let open: { key: string; parts: string[]; first: number; last: number } | null = null;

  const flush = (): void => {
    if (open) {
      options.push({
        section,
        key: open.key,
        value: open.parts.join("\n"),
        first: open.first,
        last: open.last,
      });
      open = null;
    }
  };
  const closeBlock = (end: number): void => {
    // The leading block exists only when something precedes the first header.
    if (header >= 0 || end > 0) blocks.push({ name: section, header, start: blockStart, end });
  };

  lines.forEach((line, i) => {
    // No special case for a UTF-8 byte order mark: oslo reads files as plain utf-8, so "\uFEFF[DEFAULT]" is a
    // broken line to it, and reporting it here is the honest answer.
    const r = pyRstrip(line.text);
    if (r === "") {
      flush();
      kinds.push("blank");
      return;
    }
    if (r.startsWith(" ") || r.startsWith("\t")) {
      if (open) {
        open.parts.push(pyLstrip(r));
        open.last = i;
        kinds.push("continuation");
      } else {
        kinds.push("invalid");
        problems.push({ line: i, message: "indented line with no assignment to continue" });
      }
      return;
    }
    flush();
    if (r.startsWith("[")) {
      // Not stripped: oslo takes `[ x ]` as the group " x ", which no option belongs to.
      const name = r.endsWith("]") && r.length > 2 ? r.slice(1, -1) : "";
      if (name === "") {
        kinds.push("invalid");
        problems.push({
          line: i,
          message: r.endsWith("]") ? "empty section name" : "section header without ']'",
        });
        return;
      }
      closeBlock(i);
      section = name;
      header = i;
      blockStart = i + 1;
      kinds.push("section");
      return;
    }
    if (r.startsWith("#") || r.startsWith(";")) {
      kinds.push("comment");
      return;
    }
    const sep = separatorIndex(r);
    const key = sep < 0 ? "" : pyStrip(r.slice(0, sep));
    if (key === "") {
      kinds.push("invalid");
      problems.push({
        line: i,
        message: sep < 0 ? "line is neither a comment nor key = value" : "empty key",
      });
      return;
    }
    if (section === null) problems.push({ line: i, message: `"${key}" is set before any [section]` });
    kinds.push("option");
    open = { key, parts: [unquote(r.slice(sep + 1))], first: i, last: i };
  });
  flush();
  closeBlock(lines.length);

  const eol = lines.find((l) => l.eol !== "")?.eol ?? "\n";
  return { lines, kinds, blocks, options, problems, eol: eol as Exclude<LineEnding, ""> };
}

export function parseIni(text: string): IniDocument {
  return parseLines(splitLines(text));
}

export function serializeIni(doc: IniDocument): string {
  let out = "";
  for (const l of doc.lines) out += l.text + l.eol;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** Every active occurrence of `key` in every occurrence of `section`, in file order. */
export function findOptions(doc: IniDocument, section: string, key: string): IniOption[] {
  return doc.options.filter((o) => o.key === key && sameSection(o.section, section));
}

/** All values of `key` in `section` (several for a MultiStrOpt), in file order; [] when unset. */
export function getValues(doc: IniDocument, section: string, key: string): string[] {
  return findOptions(doc, section, key).map((o) => o.value);
}

/** The value a single-valued option takes: the last one, as oslo.config does. */
export function getValue(doc: IniDocument, section: string, key: string): string | undefined {
  return getValues(doc, section, key).at(-1);
}

/** Section names in file order, each once (as first written). */
export function sectionNames(doc: IniDocument): string[] {
  const seen = new Map<string, string>();
  for (const b of doc.blocks)
    if (b.name !== null && !seen.has(normalizeSection(b.name))) seen.set(normalizeSection(b.name), b.name);
  return [...seen.values()];
}

export function hasSection(doc: IniDocument, section: string): boolean {
  return doc.blocks.some((b) => sameSection(b.name, section));
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** How an assignment is spelled around its separator, e.g. `key = v` vs `key=v` vs `key: v`. */
interface AssignStyle {
  readonly before: string;
  readonly sep: string;
  readonly after: string;
}

const DEFAULT_STYLE: AssignStyle = { before: " ", sep: "=", after: " " };

function styleOf(line: string): AssignStyle {
  const sep = separatorIndex(line);
  if (sep < 0) return DEFAULT_STYLE;
  const head = line.slice(0, sep);
  const before = head.slice(pyRstrip(head).length);
  const rest = line.slice(sep + 1);
  let after = rest.slice(0, rest.length - pyLstrip(rest).length);
  // `key =` with an empty value says nothing about the space after `=`: mirror the space before it.
  if (after === rest) after = before;
  return { before, sep: line[sep] ?? "=", after };
}

function assertKey(key: string): void {
  if (key === "" || key !== pyStrip(key) || /[=:\r\n]/.test(key) || /^[[#;]/.test(key)) {
    throw new BugError(`not a valid oslo.config option name: ${JSON.stringify(key)}`);
  }
}

function assertSection(section: string): void {
  if (section === "" || section !== pyStrip(section) || /[\r\n]/.test(section) || !/^[^\]]/.test(section)) {
    throw new BugError(`not a valid oslo.config section name: ${JSON.stringify(section)}`);
  }
}

/**
 * The line texts that make oslo.config read exactly `value`. A value with surrounding whitespace, or one that
 * starts and ends with the same quote, is wrapped in quotes (oslo removes one pair). A value with newlines is
 * written as continuation lines, which only works when every later line is non-empty and unindented.
 */
function assignmentLines(key: string, value: string, style: AssignStyle): string[] {
  if (value.includes("\r")) throw new BugError(`value for ${key} contains a carriage return`);
  const [firstPart = "", ...rest] = value.split("\n");
  for (const part of rest) {
    if (part === "" || part !== pyStrip(part)) {
      throw new BugError(`value for ${key} has a line oslo.config cannot read back (empty or indented)`);
    }
  }
  let first = firstPart;
  const needsQuotes =
    first !== pyStrip(first) ||
    (first.length > 0 && QUOTES.includes(first[0] ?? "") && first[0] === first[first.length - 1]);
  if (needsQuotes) {
    if (rest.length > 0) throw new BugError(`value for ${key} needs quotes and has several lines`);
    first = first.startsWith('"') ? `'${first}'` : `"${first}"`;
  }
  const head =
    first === ""
      ? `${key}${style.before}${style.sep}`
      : `${key}${style.before}${style.sep}${style.after}${first}`;
  return [head, ...rest.map((p) => `    ${p}`)];
}

/** A splice of the line array: replace lines [from, to) with `texts`. */
interface Splice {
  readonly from: number;
  readonly to: number;
  readonly texts: readonly string[];
}

/**
 * Applies non-overlapping splices and reparses. New lines take the document's line ending; a file that had no
 * final newline still has none after something is appended at its end.
 */
function applySplices(doc: IniDocument, splices: readonly Splice[]): IniDocument {
  const lines = [...doc.lines];
  const sorted = [...splices].sort((a, b) => b.from - a.from);
  for (const s of sorted) {
    const added: IniLine[] = s.texts.map((t) => ({ text: t, eol: doc.eol }));
    const atEnd = s.to === lines.length && lines.length > 0;
    // Keep a file's "no newline at end of file" shape when the edit touches its last line.
    if (atEnd && lines[lines.length - 1]?.eol === "") {
      const prev = lines[s.from - 1];
      if (added.length > 0) {
        added[added.length - 1] = { text: added[added.length - 1]?.text ?? "", eol: "" };
        if (s.from === s.to && prev) lines[s.from - 1] = { text: prev.text, eol: doc.eol };
      } else if (prev) {
        lines[s.from - 1] = { text: prev.text, eol: "" };
      }
    }
    lines.splice(s.from, s.to - s.from, ...added);
  }
  // A lone "\r" followed by an empty line ending in "\n" would read back as one "\r\n": two lines would become
  // one. Only an edit can create that pair (the parser never produces it), and "\r\n" keeps both lines.
  for (let i = 0; i + 1 < lines.length; i++) {
    const cur = lines[i];
    const next = lines[i + 1];
    if (cur?.eol === "\r" && next?.text === "" && next.eol.startsWith("\n"))
      lines[i] = { text: cur.text, eol: "\r\n" };
  }
  return parseLines(lines);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The last line in `section` that is the option commented out, e.g. `#connection = <None>`. */
function commentedDefault(doc: IniDocument, section: string, key: string): number | undefined {
  const re = new RegExp(`^[#;]+\\s*${escapeRegExp(key)}\\s*[=:]`);
  let found: number | undefined;
  for (const b of doc.blocks) {
    if (!sameSection(b.name, section)) continue;
    for (let i = b.start; i < b.end; i++) {
      if (doc.kinds[i] === "comment" && re.test(doc.lines[i]?.text ?? "")) found = i;
    }
  }
  return found;
}

/** Where a new assignment goes when the section exists but has neither the key nor its commented default. */
function endOfSection(doc: IniDocument, block: IniBlock): number {
  let at = block.end;
  while (at > block.start && doc.kinds[at - 1] === "blank") at--;
  return at;
}

function styleForNew(doc: IniDocument, section: string): AssignStyle {
  const inSection = doc.options.filter((o) => sameSection(o.section, section)).at(-1);
  const any = inSection ?? doc.options[0];
  return any ? styleOf(doc.lines[any.first]?.text ?? "") : DEFAULT_STYLE;
}

/** Where and how to add an assignment that has no active occurrence yet. */
function insertionFor(
  doc: IniDocument,
  section: string,
  key: string,
  texts: (style: AssignStyle) => string[],
): Splice {
  const commented = commentedDefault(doc, section, key);
  // An indented line right after the comment would become a continuation of the new assignment.
  const next = commented === undefined ? undefined : doc.lines[commented + 1]?.text;
  const nextIsIndented = next !== undefined && pyRstrip(next) !== "" && /^[ \t]/.test(next);
  if (commented !== undefined && !nextIsIndented) {
    const c = doc.lines[commented]?.text.replace(/^[#;]+\s*/, "") ?? "";
    return { from: commented + 1, to: commented + 1, texts: texts(styleOf(c)) };
  }
  const block = doc.blocks.filter((b) => sameSection(b.name, section)).at(-1);
  if (block) {
    const at = endOfSection(doc, block);
    return { from: at, to: at, texts: texts(styleForNew(doc, section)) };
  }
  const n = doc.lines.length;
  const needsBlank = n > 0 && doc.kinds[n - 1] !== "blank";
  return {
    from: n,
    to: n,
    texts: [...(needsBlank ? [""] : []), `[${section}]`, ...texts(styleForNew(doc, section))],
  };
}

/**
 * Sets a single-valued option. The last active occurrence is replaced (keeping its spacing around `=`); when the
 * option is only present commented out (`#connection = <None>`), the active line goes right after that comment;
 * otherwise it is appended at the end of the section, before its trailing blank lines; a missing section is
 * appended to the file.
 */
export function setOption(doc: IniDocument, section: string, key: string, value: string): IniDocument {
  assertSection(section);
  assertKey(key);
  const existing = findOptions(doc, section, key).at(-1);
  if (existing) {
    const style = styleOf(doc.lines[existing.first]?.text ?? "");
    return applySplices(doc, [
      { from: existing.first, to: existing.last + 1, texts: assignmentLines(key, value, style) },
    ]);
  }
  return applySplices(doc, [insertionFor(doc, section, key, (s) => assignmentLines(key, value, s))]);
}

/**
 * Sets a multi-valued option (the key repeated once per value). The values replace the first occurrence, other
 * occurrences are removed; with no occurrence they are placed as `setOption` places one. No values removes it.
 */
export function setMulti(
  doc: IniDocument,
  section: string,
  key: string,
  values: readonly string[],
): IniDocument {
  assertSection(section);
  assertKey(key);
  if (values.length === 0) return removeOption(doc, section, key);
  const existing = findOptions(doc, section, key);
  const build = (style: AssignStyle): string[] => values.flatMap((v) => assignmentLines(key, v, style));
  const [head, ...others] = existing;
  if (!head) return applySplices(doc, [insertionFor(doc, section, key, build)]);
  const style = styleOf(doc.lines[head.first]?.text ?? "");
  return applySplices(doc, [
    { from: head.first, to: head.last + 1, texts: build(style) },
    ...others.map((o) => ({ from: o.first, to: o.last + 1, texts: [] })),
  ]);
}

/** Removes every active occurrence of the option (with its continuation lines). Comments are left alone. */
export function removeOption(doc: IniDocument, section: string, key: string): IniDocument {
  const existing = findOptions(doc, section, key);
  if (existing.length === 0) return doc;
  return applySplices(
    doc,
    existing.map((o) => ({ from: o.first, to: o.last + 1, texts: [] })),
  );
}

/**
 * Comments out every active occurrence (each of its lines gets a leading `#`), so an operator reading the file
 * later sees what used to be set. Used for renamed options.
 */
export function commentOutOption(doc: IniDocument, section: string, key: string): IniDocument {
  const existing = findOptions(doc, section, key);
  if (existing.length === 0) return doc;
  return applySplices(
    doc,
    existing.map((o) => ({
      from: o.first,
      to: o.last + 1,
      texts: doc.lines.slice(o.first, o.last + 1).map((l) => `#${l.text}`),
    })),
  );
}

/** A new value for one specific occurrence (as found in `doc.options`). */
export interface OccurrenceEdit {
  readonly option: IniOption;
  readonly value: string;
}

/**
 * Replaces the values of specific occurrences in one pass, each keeping its own spacing. Used where every
 * occurrence matters (a host inside each value of a MultiStrOpt, or a key repeated across merged sections).
 */
export function replaceOccurrences(doc: IniDocument, edits: readonly OccurrenceEdit[]): IniDocument {
  if (edits.length === 0) return doc;
  return applySplices(
    doc,
    edits.map(({ option, value }) => {
      if (!doc.options.includes(option)) throw new BugError("occurrence is not from this document");
      return {
        from: option.first,
        to: option.last + 1,
        texts: assignmentLines(option.key, value, styleOf(doc.lines[option.first]?.text ?? "")),
      };
    }),
  );
}

/**
 * Renames an option in place: each active occurrence of `oldKey` is commented out, and `newKey = value` goes
 * right after the last one (so the operator sees both, side by side). When `newKey` is already active in the
 * section it is set there instead. Nothing happens when `oldKey` is not active.
 */
export function renameOption(
  doc: IniDocument,
  section: string,
  oldKey: string,
  newKey: string,
  value: string,
): IniDocument {
  assertKey(newKey);
  const olds = findOptions(doc, section, oldKey);
  const last = olds.at(-1);
  if (!last) return doc;
  const newExists = findOptions(doc, section, newKey).length > 0;
  const commented = (o: IniOption): string[] => doc.lines.slice(o.first, o.last + 1).map((l) => `#${l.text}`);
  const splices: Splice[] = olds.map((o) => ({
    from: o.first,
    to: o.last + 1,
    texts:
      o === last && !newExists
        ? [...commented(o), ...assignmentLines(newKey, value, styleOf(doc.lines[o.first]?.text ?? ""))]
        : commented(o),
  }));
  const renamed = applySplices(doc, splices);
  return newExists ? setOption(renamed, section, newKey, value) : renamed;
}
