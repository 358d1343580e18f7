/**
 * Maps field paths to positions in the YAML source (and back), using the node ranges that `yaml`'s document API
 * keeps. This is what lets every answer-file error say file:line:col, whichever check found it.
 */
import { isAlias, isMap, isScalar, isSeq } from "yaml";
import type { Document, LineCounter, Node, ParsedNode } from "yaml";
import type { FieldPath, Locate, Position } from "./diagnostics.js";

type Found =
  /** The path exists: its key (for mapping entries) and value nodes. */
  | { readonly kind: "found"; readonly key: Node | undefined; readonly value: Node | undefined }
  /** The path stops existing at some point: the last node that does exist (the mapping that lacks the key). */
  | { readonly kind: "missing"; readonly container: Node | undefined; readonly key: Node | undefined };

export function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function deref(doc: Document, node: unknown): unknown {
  // An alias's position is the alias itself, but its content is the anchored node.
  return isAlias(node) ? node.resolve(doc) : node;
}

function findNode(doc: Document, path: FieldPath): Found {
  let current: unknown = doc.contents;
  let currentKey: Node | undefined;
  for (const part of path) {
    const container = deref(doc, current);
    if (isMap(container)) {
      const pair = container.items.find((p) => keyText(p.key) === String(part));
      if (pair === undefined) return { kind: "missing", container: current as Node, key: currentKey };
      currentKey = pair.key as Node;
      current = pair.value;
    } else if (isSeq(container) && typeof part === "number") {
      const item = container.items[part];
      if (item === undefined) return { kind: "missing", container: current as Node, key: currentKey };
      currentKey = undefined;
      current = item;
    } else {
      // The YAML has a scalar (or nothing) where the schema wanted a mapping or list: point at that.
      return { kind: "missing", container: (current as Node | null) ?? undefined, key: currentKey };
    }
  }
  return { kind: "found", key: currentKey, value: (current as Node | null) ?? undefined };
}

function hasText(node: Node | undefined): node is Node & { range: [number, number, number] } {
  // An empty value (`port:`) is a null scalar with an empty range: the key is a better place to point at.
  return node?.range != null && node.range[1] > node.range[0];
}

export function makeLocator(doc: Document, lineCounter: LineCounter): Locate {
  const at = (node: Node | undefined): Position | undefined =>
    node?.range != null ? lineCounter.linePos(node.range[0]) : undefined;
  const start: Position = { line: 1, col: 1 };
  return (path, where = "value") => {
    const found = findNode(doc, path);
    if (found.kind === "found") {
      if (where === "key") return at(found.key) ?? at(found.value) ?? start;
      return (
        (hasText(found.value) ? at(found.value) : undefined) ?? at(found.key) ?? at(found.value) ?? start
      );
    }
    // A missing key: point at the mapping that should contain it (its first line), or at its key when the
    // mapping is empty, so the operator sees the block to add the field to.
    return (hasText(found.container) ? at(found.container) : undefined) ?? at(found.key) ?? start;
  };
}

/** The deepest field path whose source range contains `offset` (to name the field of a YAML syntax error). */
export function pathAtOffset(doc: Document.Parsed, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  const contains = (node: unknown): boolean => {
    const range = (node as ParsedNode | null)?.range;
    return range != null && offset >= range[0] && offset <= range[2];
  };
  let current: unknown = doc.contents;
  for (let depth = 0; depth < 64; depth++) {
    if (isMap(current)) {
      const pair = current.items.find((p) => contains(p.key) || contains(p.value));
      if (pair === undefined) break;
      path.push(keyText(pair.key));
      if (!contains(pair.value)) break;
      current = pair.value;
    } else if (isSeq(current)) {
      const index = current.items.findIndex((item) => contains(item));
      if (index < 0) break;
      path.push(index);
      current = current.items[index];
    } else break;
  }
  return path;
}
