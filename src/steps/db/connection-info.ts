/**
 * Rewriting the iSCSI portal inside a `connection_info` JSON document (nova.block_device_mapping,
 * cinder.volume_attachment): `target_portal`, each of `target_portals`, and the portal inside `device_path`
 * (`/dev/disk/by-path/ip-<portal>-iscsi-<iqn>-lun-<n>`), wherever they sit in the document. Portals are compared
 * by host (the port is kept); the document is re-serialised the way Python's json.dumps writes it, which is how
 * nova and cinder stored it.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** "198.18.0.4:3260" / "[2001:db8::4]:3260" / "198.18.0.4" -> host and port ("" when none). */
export function splitPortal(portal: string): { host: string; port: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(portal);
  if (v6) return { host: v6[1] ?? "", port: v6[2] ?? "" };
  const parts = portal.split(":");
  if (parts.length === 2) return { host: parts[0] ?? "", port: parts[1] ?? "" };
  return { host: portal, port: "" };
}

function joinPortal(host: string, port: string): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return port === "" ? h : `${h}:${port}`;
}

/** A portal string with its host replaced when it is `oldHost`; unchanged otherwise. */
export function rewritePortal(portal: string, oldHost: string, newHost: string): string {
  const { host, port } = splitPortal(portal);
  return host.toLowerCase() === oldHost.toLowerCase() ? joinPortal(newHost, port) : portal;
}

const DEVICE_PATH = /^(.*\/ip-)(.+?)(-iscsi-.*)$/;

export function rewriteDevicePath(path: string, oldHost: string, newHost: string): string {
  const m = DEVICE_PATH.exec(path);
  if (!m) return path;
  return `${m[1] ?? ""}${rewritePortal(m[2] ?? "", oldHost, newHost)}${m[3] ?? ""}`;
}

/** Walks the document; returns the rewritten copy and how many values changed. */
export function rewriteConnectionInfo(
  doc: Json,
  oldHost: string,
  newHost: string,
): { doc: Json; changes: number } {
  let changes = 0;
  const walk = (v: Json, key?: string): Json => {
    if (typeof v === "string") {
      let out = v;
      if (key === "target_portal") out = rewritePortal(v, oldHost, newHost);
      else if (key === "device_path") out = rewriteDevicePath(v, oldHost, newHost);
      if (out !== v) changes++;
      return out;
    }
    if (Array.isArray(v)) {
      return v.map((x) => {
        if (key === "target_portals" && typeof x === "string") {
          const out = rewritePortal(x, oldHost, newHost);
          if (out !== x) changes++;
          return out;
        }
        return walk(x);
      });
    }
    if (v !== null && typeof v === "object") {
      const o: { [k: string]: Json } = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x, k);
      return o;
    }
    return v;
  };
  const doc2 = walk(doc);
  return { doc: doc2, changes };
}

/** Whether any portal field of the document still names `oldHost`. */
export function namesPortal(doc: Json, oldHost: string): boolean {
  return rewriteConnectionInfo(doc, oldHost, `${oldHost}.x`).changes > 0;
}

/** Python json.dumps defaults: ", " and ": " separators, ASCII only (\uXXXX escapes). */
export function pythonJson(v: Json): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "string") {
    return JSON.stringify(v).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x)}`)
    .join(", ")}}`;
}
