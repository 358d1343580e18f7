/**
 * The machine's configured Debian mirror, read from its apt sources at run time: the project never names the
 * package registry hosts in a committed file (they are a property of the machine, not of the project).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
}

const SOURCES_DIR = "/etc/apt/sources.list.d";
const SOURCES_LIST = "/etc/apt/sources.list";

/** Parse deb822 `.sources` stanzas and one-line `deb URI SUITE ...` entries (deb-src and disabled ones skipped). */
export function parseAptSources(
  deb822Files: readonly string[],
  oneLineFiles: readonly string[],
): AptSource[] {
  const out: AptSource[] = [];
  for (const text of deb822Files) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of stanza.split("\n")) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
      }
      if (!(fields.get("types") ?? "").split(/\s+/).includes("deb")) continue;
      if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
      const suites = (fields.get("suites") ?? "").split(/\s+/).filter(Boolean);
      for (const uri of (fields.get("uris") ?? "").split(/\s+/).filter(Boolean)) out.push({ uri, suites });
    }
  }
  for (const text of oneLineFiles) {
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").trim();
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m) out.push({ uri: m[1]!, suites: [m[2]!] });
    }
  }
  return out;
}

export function machineAptSources(): AptSource[] {
  const deb822: string[] = [];
  const oneLine: string[] = [];
  if (existsSync(SOURCES_DIR)) {
    for (const f of readdirSync(SOURCES_DIR)) {
      if (f.endsWith(".sources")) deb822.push(readFileSync(join(SOURCES_DIR, f), "utf8"));
      if (f.endsWith(".list")) oneLine.push(readFileSync(join(SOURCES_DIR, f), "utf8"));
    }
  }
  if (existsSync(SOURCES_LIST)) oneLine.push(readFileSync(SOURCES_LIST, "utf8"));
  return parseAptSources(deb822, oneLine);
}

/**
 * The Debian archive mirror: the source serving a plain release suite (not -security, -updates). The same
 * mirror serves bullseye and bookworm.
 */
export function debianMirror(sources: readonly AptSource[] = machineAptSources()): string {
  const main = sources.find((s) =>
    s.suites.some((suite) => /^(bullseye|bookworm|trixie|stable|oldstable)$/.test(suite)),
  );
  if (!main) {
    throw new Error(
      "no Debian archive found in /etc/apt/sources.list{,.d}: the lab builds its rootfs from the machine's mirror",
    );
  }
  return main.uri.replace(/\/+$/, "");
}

/** Host names of every configured apt source (for the preflight address check). */
export function registryHosts(sources: readonly AptSource[] = machineAptSources()): string[] {
  const hosts = new Set<string>();
  for (const s of sources) {
    try {
      hosts.add(new URL(s.uri).hostname);
    } catch {
      // not a URL (cdrom:, file:): nothing to resolve
    }
  }
  return [...hosts];
}
