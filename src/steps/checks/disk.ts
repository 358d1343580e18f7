/**
 * check.disk (read-only): each path's nearest existing ancestor is looked up with df; needs that land on the
 * same filesystem are added up (the databases and the images may well share /).
 */
import type { JsonObject, StepContext, StepImpl, VerifyResult } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";
import { checkHost } from "./host-param.js";

interface Need {
  path: string;
  bytes: number;
  why: string;
}

function read(raw: JsonObject): { host: string; needs: Need[] } {
  const p = new Params("check.disk", raw);
  return {
    host: checkHost("check.disk", raw, "new"),
    needs: p.objs("needs").map((o) => {
      const q = new Params("check.disk.needs", o);
      return { path: q.str("path"), bytes: q.num("bytes"), why: q.str("why", "") };
    }),
  };
}

async function nearestExisting(h: Host, path: string): Promise<string> {
  let p = path.replace(/\/+$/, "") || "/";
  while (p !== "/" && (await h.stat(p)) === undefined) p = p.slice(0, p.lastIndexOf("/")) || "/";
  return p;
}

/** df -B1 --output=target,avail for one path -> mount point and free bytes. */
export function parseDf(stdout: string): { mount: string; avail: number } | undefined {
  const line = stdout.trim().split("\n")[1];
  const m = line ? /^(\S+)\s+(\d+)/.exec(line.trim()) : null;
  return m ? { mount: m[1] ?? "", avail: Number(m[2]) } : undefined;
}

function gib(n: number): string {
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

async function check(ctx: StepContext, raw: JsonObject): Promise<VerifyResult> {
  const { host, needs } = read(raw);
  const h = ctx.host(host);
  const mounts = new Map<string, { avail: number; need: number; whys: string[] }>();
  for (const n of needs) {
    const at = await nearestExisting(h, n.path);
    const r = await h.run(["df", "-B1", "--output=target,avail", "--", at]);
    const df = parseDf(r.stdout);
    if (!df) return { ok: false, detail: `cannot read df output for ${at} on ${host}: ${r.stdout.trim()}` };
    const m = mounts.get(df.mount) ?? { avail: df.avail, need: 0, whys: [] };
    m.need += n.bytes;
    m.whys.push(`${n.why || n.path} ${gib(n.bytes)}`);
    mounts.set(df.mount, m);
  }
  const short = [...mounts].filter(([, m]) => m.avail < m.need);
  const all = [...mounts].map(
    ([mount, m]) => `${mount}: ${gib(m.avail)} free, ${gib(m.need)} needed (${m.whys.join(", ")})`,
  );
  return short.length === 0
    ? { ok: true, detail: `${host}: ${all.join("; ") || "nothing to check"}` }
    : {
        ok: false,
        detail: `${host}: not enough space: ${short.map(([mount, m]) => `${mount} has ${gib(m.avail)} free, needs ${gib(m.need)} (${m.whys.join(", ")})`).join("; ")}`,
      };
}

export function diskStep(_deps: StepDeps): StepImpl {
  return {
    kind: "check.disk",
    async run(ctx, raw) {
      const r = await check(ctx, raw);
      if (!r.ok) {
        throw new UserError("CHECK_DISK", r.detail, {
          nextSteps: ["Free or add space where named, then re-run."],
        });
      }
      ctx.emit({ type: "log", level: "info", message: r.detail });
    },
    verify: (ctx, raw) => check(ctx, raw),
    undo: () => Promise.resolve(),
  };
}
