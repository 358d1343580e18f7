/**
 * The answer file the wizard writes: YAML built with the `yaml` Document API so each section carries a comment
 * saying what it is (comments are nodes there, so they survive), secret references written as `{ env: NAME }` /
 * `{ file: PATH }` flow maps. The text is checked with the project's own loader before it is written.
 */
import { Document, isMap, isScalar, isSeq, type Pair } from "yaml";
import type { AnswersInput } from "../answers/index.js";

/** One comment above each top-level key (and the controllers' two entries): what the section is. */
const COMMENTS: Readonly<Record<string, string>> = {
  version: " Format version of this file.",
  source_release: " Release the cloud runs today (found in the old controller's packages when possible).",
  target_release: " Release the new controller will run.",
  controllers:
    " The two controllers: how handover reaches them over SSH, and their MySQL admin login (reached through\n the SSH connection). Passwords are references ({ env: NAME } or { file: /path }), not values.",
  computes: " Compute hosts: nova-compute is pinned before and checked after the switch, over SSH.",
  services: " OpenStack services migrated to the new controller.",
  networks: " Addresses that move from the old controller to the new one at the switch.",
  iscsi: " iSCSI portal in the volumes' connection_info, before and after the move.",
  packages: " Where the new controller installs the target release's packages from.",
  state_dir: " Journal, lock and reports (on the machine running handover).",
  options: " How the run behaves: parallel steps, the freeze, the switch confirmation, service credentials.",
};

const CONTROLLER_COMMENTS: Readonly<Record<string, string>> = {
  old: " The controller running today; its SSH address must stay with it (not a moved address).",
  new: " The new controller, reached at its staging address until the switch.",
};

export interface WriteMeta {
  /** The file name as the operator gave it, for the commands in the header. */
  readonly displayName: string;
  readonly now: Date;
}

export function answersToYaml(answers: AnswersInput, meta: WriteMeta): string {
  const doc = new Document(answers);
  doc.commentBefore = [
    " handover answer file, written by `handover wizard` " + meta.now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ` Check it:  handover validate -f ${meta.displayName}`,
    ` Preview:   handover plan -f ${meta.displayName}`,
    ` Run:       handover run -f ${meta.displayName}`,
    " Re-run `handover wizard -f FILE` to change it: its values are offered as the defaults.",
  ].join("\n");
  const root = doc.contents;
  if (isMap(root)) {
    for (const pair of root.items) {
      commentKey(pair, COMMENTS);
      // A blank line between sections; the service list on one line, as people write it.
      if (isScalar(pair.key) && pair !== root.items[0]) pair.key.spaceBefore = true;
      if (keyOf(pair) === "services" && isSeq(pair.value)) pair.value.flow = true;
      if (keyOf(pair) === "controllers" && isMap(pair.value)) {
        for (const p of pair.value.items) commentKey(p, CONTROLLER_COMMENTS);
      }
    }
  }
  flowSmallMaps(root);
  return doc.toString({ lineWidth: 0 });
}

function keyOf(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  return typeof k === "string" ? k : undefined;
}

function commentKey(pair: Pair, comments: Readonly<Record<string, string>>): void {
  const key = keyOf(pair);
  const text = key === undefined ? undefined : comments[key];
  if (text === undefined) return;
  if (isScalar(pair.key)) pair.key.commentBefore = text;
}

/** Secret references and other one-key maps read best on one line: `password: { file: /root/x.pass }`. */
function flowSmallMaps(node: unknown): void {
  if (isMap(node)) {
    if (node.items.length === 1 && node.items.every((p) => isScalar(p.value))) {
      const k = keyOf(node.items[0] as Pair);
      if (k === "env" || k === "file") node.flow = true;
    }
    for (const p of node.items) flowSmallMaps(p.value);
  } else if (node && typeof node === "object" && "items" in node) {
    for (const item of (node as { items: unknown[] }).items) flowSmallMaps(item);
  }
}
