/** A short human summary of Facts, printed above the plan by `handover plan`. Pure. */
import type { ControllerFacts, Facts } from "../plan/facts.js";

function size(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function controllerLine(role: string, c: ControllerFacts): string[] {
  const os = [c.os.id, c.os.versionId, c.os.codename].filter((x) => x !== "").join(" ") || "unknown OS";
  const release = c.release ?? (c.services.length > 0 ? "release not recognised" : "no OpenStack");
  const dbBytes = c.databases.reduce((a, d) => a + d.sizeBytes, 0);
  const mysql =
    c.mysqlVersion !== undefined
      ? `MySQL ${c.mysqlVersion}, ${c.databases.length} database(s), ${size(dbBytes)}`
      : "no MySQL answering";
  const lines = [`  ${role.padEnd(4)} ${c.hostname || "?"} (${os}): ${release}; ${mysql}`];
  if (c.services.length > 0) lines.push(`       services: ${c.services.join(", ")}`);
  const running = c.units.filter((u) => u.active).map((u) => u.name);
  if (running.length > 0) lines.push(`       running: ${running.join(", ")}`);
  for (const d of c.disk)
    lines.push(`       disk ${d.path}: ${size(d.freeBytes)} free of ${size(d.totalBytes)}`);
  const addrs = c.interfaces.map((i) => `${i.name} ${i.addresses.join(" ") || "-"}`);
  if (addrs.length > 0) lines.push(`       interfaces: ${addrs.join("; ")}`);
  const nonUtf8 = c.databases.filter((d) => d.nonUtf8Tables.length > 0);
  for (const d of nonUtf8) lines.push(`       ${d.name}: ${d.nonUtf8Tables.length} table(s) not in utf8`);
  return lines;
}

export function summariseFacts(facts: Facts): string[] {
  const out = [`Facts (collected ${facts.collectedAt}):`];
  out.push(...controllerLine("old", facts.controllers.old), ...controllerLine("new", facts.controllers.new));
  const n = facts.nova;
  if (n) {
    const computes = n.computes.map(
      (c) => `${c.host}${c.release ? ` ${c.release}` : ""}${c.disabled ? " disabled" : ""}`,
    );
    out.push(
      `  nova: ${n.cells.length} cell(s), ${n.computes.length} compute(s)${computes.length ? ` (${computes.join(", ")})` : ""}, ${n.instances} instance(s), ${n.iscsiAttachments} iSCSI attachment(s)`,
    );
  }
  const c = facts.cinder;
  if (c) {
    const gb = c.volumes.reduce((a, v) => a + v.sizeGb, 0);
    out.push(
      `  cinder: ${c.backend}${c.location ? ` ${c.location}` : ""}, ${c.volumes.length} volume(s), ${gb} GiB`,
    );
  }
  const g = facts.glance;
  if (g) {
    out.push(
      `  glance: ${g.store} store${g.imagesDir ? ` ${g.imagesDir}` : ""}, ${g.images} image(s), ${size(g.totalBytes)}`,
    );
  }
  if (facts.keystoneRoles) out.push(`  keystone roles: ${facts.keystoneRoles.join(", ")}`);
  const checks = Object.entries(facts.dataChecks ?? {});
  if (checks.length > 0) out.push(`  data checks: ${checks.map(([id, k]) => `${id}=${k}`).join(", ")}`);
  return out;
}
