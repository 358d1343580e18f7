/**
 * Facts read from OpenStack config files (through the line-preserving oslo INI parser): where cinder keeps its
 * volumes and where glance keeps its images. Pure: text in, facts out. Defaults are the services' own.
 */
import { getValue, parseIni } from "../config/oslo-ini.js";
import type { CinderFacts, GlanceFacts } from "../plan/facts.js";

const LVM_DEFAULT_VG = "cinder-volumes";
const GLANCE_DEFAULT_DIR = "/var/lib/glance/images";

export interface CinderBackend {
  readonly backend: CinderFacts["backend"];
  readonly location?: string;
  /** The volume driver, for the notes when it is one we do not copy. */
  readonly driver: string;
}

function kindOf(driver: string): CinderFacts["backend"] {
  if (/\.lvm\.LVMVolumeDriver$|\.lvm\.LVM/.test(driver)) return "lvm";
  if (/\.(nfs\.NfsDriver|remotefs\.|glusterfs\.)/.test(driver)) return "file";
  return "other";
}

/**
 * cinder.conf: the first of `[DEFAULT] enabled_backends` (each a section with volume_driver / volume_group /
 * nfs_mount_point_base), or the legacy single backend in [DEFAULT]. Several backends of different kinds are
 * "other": handover copies one local backend only.
 */
export function cinderBackendFromConf(text: string): CinderBackend {
  const doc = parseIni(text);
  const enabled = (getValue(doc, "DEFAULT", "enabled_backends") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const sections = enabled.length > 0 ? enabled : ["DEFAULT"];
  const backends = sections.map((sec) => {
    const driver = getValue(doc, sec, "volume_driver") ?? "cinder.volume.drivers.lvm.LVMVolumeDriver";
    const kind = kindOf(driver);
    const location =
      kind === "lvm"
        ? (getValue(doc, sec, "volume_group") ?? LVM_DEFAULT_VG)
        : kind === "file"
          ? (getValue(doc, sec, "nfs_mount_point_base") ?? getValue(doc, "DEFAULT", "state_path"))
          : undefined;
    return { backend: kind, driver, ...(location !== undefined ? { location } : {}) };
  });
  const first = backends[0] ?? { backend: "other" as const, driver: "" };
  if (backends.some((b) => b.backend !== first.backend || b.location !== first.location)) {
    return { backend: "other", driver: backends.map((b) => b.driver).join(", ") };
  }
  return first;
}

/**
 * glance-api.conf: the file store when it is the default store, the old way (`[glance_store] default_store =
 * file`, or nothing: file is the default) or the multi-store way (`[DEFAULT] enabled_backends = name:file` with
 * `[glance_store] default_backend = name` and the directory in section [name]).
 */
export function glanceStoreFromConf(text: string): Pick<GlanceFacts, "store" | "imagesDir"> {
  const doc = parseIni(text);
  const enabled = getValue(doc, "DEFAULT", "enabled_backends");
  if (enabled !== undefined && enabled.trim() !== "") {
    const pairs = enabled
      .split(",")
      .map((p) => p.split(":").map((x) => x.trim()))
      .filter((p): p is [string, string] => p.length === 2 && p[0] !== "" && p[1] !== "");
    const wanted = getValue(doc, "glance_store", "default_backend") ?? pairs[0]?.[0];
    const pair = pairs.find(([name]) => name === wanted);
    if (!pair || pair[1] !== "file") return { store: "other" };
    const dir = getValue(doc, pair[0], "filesystem_store_datadir") ?? GLANCE_DEFAULT_DIR;
    return { store: "file", imagesDir: trimSlash(dir) };
  }
  const store = getValue(doc, "glance_store", "default_store") ?? "file";
  if (store !== "file") return { store: "other" };
  const dir = getValue(doc, "glance_store", "filesystem_store_datadir") ?? GLANCE_DEFAULT_DIR;
  return { store: "file", imagesDir: trimSlash(dir) };
}

function trimSlash(dir: string): string {
  return dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
}
