/**
 * pkg.prevent-start / pkg.allow-start: Debian's /usr/sbin/policy-rc.d exiting 101 keeps package installs from
 * starting any service (invoke-rc.d contract), so nothing on new runs before its data is in place; allow-start
 * removes it again (services stay stopped). Both undo to the file as it was before.
 */
import type { StepImpl } from "../../engine/step.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { firstSnapshot, restoreFile, snapshotFile } from "./files.js";

function modeOf(text: string): number {
  const n = Number.parseInt(text, 8);
  return Number.isInteger(n) ? n : 0o755;
}

export function preventStartSteps(_deps: StepDeps): StepImpl[] {
  const prevent: StepImpl = {
    kind: "pkg.prevent-start",
    async run(ctx, raw) {
      const p = new Params("pkg.prevent-start", raw);
      const file = p.str("file");
      const host = ctx.host("new");
      const before = firstSnapshot(ctx.previousUndoData, "before") ?? (await snapshotFile(host, file));
      ctx.checkpoint?.({ before });
      await host.writeFileAtomic(file, p.str("content"), {
        mode: modeOf(p.str("mode", "0755")),
        uid: 0,
        gid: 0,
      });
      return { before };
    },
    async verify(ctx, raw) {
      const p = new Params("pkg.prevent-start", raw);
      const file = p.str("file");
      const host = ctx.host("new");
      const st = await host.stat(file);
      if (!st) return { ok: false, detail: `${file} does not exist` };
      const same = (await host.readFile(file)).toString("utf8") === p.str("content");
      const mode = (st.mode & 0o777) === modeOf(p.str("mode", "0755"));
      return same && mode
        ? { ok: true, detail: `${file} in place: package installs start no service` }
        : { ok: false, detail: `${file} ${same ? "has the wrong mode" : "has other content"}` };
    },
    async undo(ctx, raw, undoData) {
      const file = new Params("pkg.prevent-start", raw).str("file");
      await restoreFile(ctx.host("new"), file, firstSnapshot(undoData, "before"));
    },
  };
  const allow: StepImpl = {
    kind: "pkg.allow-start",
    async run(ctx, raw) {
      const file = new Params("pkg.allow-start", raw).str("file");
      const host = ctx.host("new");
      const before = firstSnapshot(ctx.previousUndoData, "before") ?? (await snapshotFile(host, file));
      ctx.checkpoint?.({ before });
      await host.removeFile(file);
      return { before };
    },
    async verify(ctx, raw) {
      const file = new Params("pkg.allow-start", raw).str("file");
      return (await ctx.host("new").stat(file))
        ? { ok: false, detail: `${file} is still there` }
        : { ok: true, detail: `${file} removed` };
    },
    async undo(ctx, raw, undoData) {
      const file = new Params("pkg.allow-start", raw).str("file");
      const snap = firstSnapshot(undoData, "before");
      if (snap?.existed === true) await restoreFile(ctx.host("new"), file, snap);
    },
  };
  return [prevent, allow];
}
