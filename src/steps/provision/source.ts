/**
 * pkg.source: the package source for the target release on new (an apt list / a dnf repo file), then the
 * package index refreshed. `trusted` marks an unsigned apt source `[trusted=yes]`. Undo puts back the file that
 * was there before (or removes ours) and refreshes again.
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";
import { tail } from "../../hosts/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { firstSnapshot, restoreFile, snapshotFile } from "./files.js";

function read(raw: JsonObject): { family: string; file: string; lines: string[]; trusted: boolean } {
  const p = new Params("pkg.source", raw);
  return {
    family: p.str("family"),
    file: p.str("file"),
    lines: p.strs("lines"),
    trusted: p.bool("trusted", false),
  };
}

/** The file's content: apt lines get `[trusted=yes]` when asked and they carry no options yet. */
export function sourceContent(family: string, lines: readonly string[], trusted: boolean): string {
  const out = lines.map((l) => {
    const t = l.trim();
    if (family !== "debian" || !trusted) return t;
    const m = /^(deb(?:-src)?)\s+(?!\[)(.*)$/.exec(t);
    return m ? `${m[1] ?? "deb"} [trusted=yes] ${m[2] ?? ""}` : t;
  });
  return `# Written by handover: the target release's packages.\n${out.join("\n")}\n`;
}

async function refresh(host: Host, family: string): Promise<void> {
  const argv = family === "debian" ? ["apt-get", "update"] : ["dnf", "makecache"];
  const r = await host.exec(argv, {
    timeoutMs: 900_000,
    env: family === "debian" ? { DEBIAN_FRONTEND: "noninteractive" } : {},
  });
  // apt-get update exits 0 even when a source fails to download; its "Err:"/"W: Failed" lines say so.
  const failed = r.exitCode !== 0 || /^(Err:|W: Failed to fetch|E: )/m.test(r.stdout + r.stderr);
  if (failed) {
    throw new UserError(
      "PKG_SOURCE",
      `on ${host.name}: \`${argv.join(" ")}\` failed:\n${tail(`${r.stdout}\n${r.stderr}`, 1500)}`,
      {
        nextSteps: [
          "Check the package source lines in the answer file and that the new controller reaches them.",
        ],
      },
    );
  }
}

export function sourceStep(_deps: StepDeps): StepImpl {
  return {
    kind: "pkg.source",
    async run(ctx: StepContext, raw) {
      const { family, file, lines, trusted } = read(raw);
      const host = ctx.host("new");
      const before = firstSnapshot(ctx.previousUndoData, "before") ?? (await snapshotFile(host, file));
      ctx.checkpoint?.({ before });
      await host.writeFileAtomic(file, sourceContent(family, lines, trusted), { mode: 0o644 });
      await refresh(host, family);
      return { before };
    },
    async verify(ctx, raw) {
      const { family, file, lines, trusted } = read(raw);
      const host = ctx.host("new");
      if (!(await host.stat(file))) return { ok: false, detail: `${file} does not exist` };
      const ok = (await host.readFile(file)).toString("utf8") === sourceContent(family, lines, trusted);
      return ok
        ? { ok: true, detail: `${file} lists the target's package source` }
        : { ok: false, detail: `${file} differs from the plan` };
    },
    async undo(ctx, raw, undoData) {
      const { family, file } = read(raw);
      const host = ctx.host("new");
      await restoreFile(host, file, firstSnapshot(undoData, "before"));
      await refresh(host, family).catch(() => undefined);
    },
  };
}
