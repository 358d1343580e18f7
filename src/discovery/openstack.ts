/**
 * OpenStack facts from the old controller: nova's cells, services (computes and control), instances and iSCSI
 * attachments; cinder's backend and volumes; glance's store and images; keystone's role names; and the
 * catalog's data checks, run as SELECTs. Config files are read, never written; SQL only reads (sql.ts).
 */
import { dataChecksFor, type Catalog, type ServiceName } from "../plan/catalog.js";
import type {
  CinderFacts,
  ComputeServiceFacts,
  GlanceFacts,
  NovaFacts,
  NovaServiceFacts,
} from "../plan/facts.js";
import { describeFailure } from "./controller.js";
import { cinderBackendFromConf, glanceStoreFromConf } from "./openstack-config.js";
import type { ReadOnlyHost } from "./readonly-host.js";
import type { SqlReader } from "./sql.js";
import {
  CELL0_UUID,
  ISCSI_LIKE,
  SQL_CELL_MAPPINGS,
  SQL_CINDER_VOLUMES,
  SQL_GLANCE_IMAGES,
  SQL_INSTANCE_COUNT,
  SQL_ISCSI_BDM_COUNT,
  SQL_KEYSTONE_ROLES,
  SQL_NOVA_SERVICES,
  cellsFromRows,
  firstNumber,
  novaServicesFromRows,
  num,
  volumesFromRows,
} from "./sql-rows.js";

export interface OpenStackFacts {
  nova?: NovaFacts;
  cinder?: CinderFacts;
  glance?: GlanceFacts;
  keystoneRoles?: string[];
  dataChecks?: Record<string, number>;
}

export interface OpenStackContext {
  /** Services installed on the old controller (from its packages). */
  readonly installed: readonly ServiceName[];
  /** Databases present on the old server. */
  readonly databases: ReadonlySet<string>;
  /** The hop and the services chosen, for the catalog's data checks. */
  readonly sourceRelease: string;
  readonly targetRelease: string;
  readonly services: readonly ServiceName[];
}

async function readConf(host: ReadOnlyHost, path: string): Promise<string | undefined> {
  if ((await host.stat(path)) === undefined) return undefined;
  return (await host.readFile(path)).toString("utf8");
}

/** nova: cells from nova_api, then per cell database its services, instances and iSCSI BDMs. */
export async function discoverNova(
  sql: SqlReader,
  databases: ReadonlySet<string>,
  notes: string[],
): Promise<NovaFacts> {
  const cells = databases.has("nova_api")
    ? cellsFromRows(await sql.query("nova_api", SQL_CELL_MAPPINGS))
    : [];
  // Without cell mappings (nova_api missing or empty), the one nova database is the cell.
  const cellDbs =
    cells.length > 0
      ? cells.map((c) => ({ uuid: c.uuid, name: c.name, database: c.database }))
      : [{ uuid: "", name: "nova", database: databases.has("nova") ? "nova" : undefined }];
  const computes: ComputeServiceFacts[] = [];
  const controlServices: NovaServiceFacts[] = [];
  let instances = 0;
  let iscsiAttachments = 0;
  for (const cell of cellDbs) {
    if (cell.database === undefined || !databases.has(cell.database)) {
      notes.push(
        `nova: cell ${cell.name} maps to database ${cell.database ?? "(unreadable URL)"}, which is not on the old controller's server; its services and instances were not counted`,
      );
      continue;
    }
    // cell0 holds instances that never got scheduled, but no services.
    if (cell.uuid !== CELL0_UUID) {
      const split = novaServicesFromRows(await sql.query(cell.database, SQL_NOVA_SERVICES));
      computes.push(...split.computes);
      controlServices.push(...split.controlServices);
    }
    instances += firstNumber(await sql.query(cell.database, SQL_INSTANCE_COUNT));
    iscsiAttachments += firstNumber(await sql.query(cell.database, SQL_ISCSI_BDM_COUNT, ISCSI_LIKE));
  }
  return {
    cells: cells.map((c) => ({ uuid: c.uuid, name: c.name })),
    computes,
    controlServices,
    instances,
    iscsiAttachments,
  };
}

/** Where the lab keeps LVM "logical volumes" as files when the kernel has no device-mapper. */
const LVM_FILES = "/var/lib/cinder/lvm-files";

export async function discoverCinder(
  host: ReadOnlyHost,
  sql: SqlReader,
  databases: ReadonlySet<string>,
  notes: string[],
): Promise<CinderFacts> {
  const conf = await readConf(host, "/etc/cinder/cinder.conf");
  const backend = conf === undefined ? undefined : cinderBackendFromConf(conf);
  if (conf === undefined) notes.push("cinder: /etc/cinder/cinder.conf not found on the old controller");
  else if (backend?.backend === "other") {
    notes.push(`cinder: volume driver ${backend.driver} is not one handover copies (LVM or file-backed)`);
  }
  let kind = backend?.backend ?? "other";
  let location = backend?.location;
  if (backend?.backend === "lvm" && backend.location !== undefined) {
    // An LVM volume group shows up as /dev/<vg> once it has a logical volume; without it there is nothing to copy
    // with lvcreate + dd (the lab keeps its "volumes" as files because its kernel has no device-mapper).
    if ((await host.stat(`/dev/${backend.location}`)) === undefined) {
      // The lab's stand-in for a VG on a kernel without device-mapper (lab/rootfs/old/README.md): each "LV" is
      // a file <LVM_FILES>/<vg>/volume-<id>. Those are copied as a file backend.
      const files = `${LVM_FILES}/${backend.location}`;
      if ((await host.stat(files))?.isDirectory) {
        kind = "file";
        location = files;
        notes.push(
          `cinder: volume group ${backend.location} has no /dev/${backend.location}; its volumes are files in ${files} (copied as a file backend)`,
        );
      } else {
        notes.push(
          `cinder: the LVM driver names volume group ${backend.location}, but /dev/${backend.location} does not exist on the old controller`,
        );
      }
    }
  }
  const volumes = databases.has("cinder")
    ? volumesFromRows(await sql.query("cinder", SQL_CINDER_VOLUMES))
    : [];
  return {
    backend: kind,
    ...(location !== undefined ? { location } : {}),
    volumes,
  };
}

export async function discoverGlance(
  host: ReadOnlyHost,
  sql: SqlReader,
  databases: ReadonlySet<string>,
  notes: string[],
): Promise<GlanceFacts> {
  const conf = await readConf(host, "/etc/glance/glance-api.conf");
  if (conf === undefined) notes.push("glance: /etc/glance/glance-api.conf not found on the old controller");
  const store = conf === undefined ? { store: "other" as const } : glanceStoreFromConf(conf);
  const [row] = databases.has("glance") ? await sql.query("glance", SQL_GLANCE_IMAGES) : [];
  return { ...store, images: num(row?.n), totalBytes: num(row?.bytes) };
}

export async function discoverKeystoneRoles(sql: SqlReader): Promise<string[]> {
  const rows = await sql.query("keystone", SQL_KEYSTONE_ROLES);
  return rows.map((r) => String(r.name));
}

/** The catalog's data checks for the hop, as SELECTs on the old databases: check id -> offending rows. */
export async function runDataChecks(
  sql: SqlReader,
  catalog: Catalog,
  ctx: OpenStackContext,
  notes: string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of ctx.services) {
    let checks;
    try {
      checks = dataChecksFor(catalog, s, ctx.sourceRelease, ctx.targetRelease);
    } catch (e) {
      notes.push(`data checks for ${s} skipped: ${describeFailure(e)}`);
      continue;
    }
    for (const d of checks) {
      if (!ctx.databases.has(d.database)) continue; // preflight runs it again once the database exists
      try {
        out[d.id] = firstNumber(await sql.query(d.database, d.sql));
      } catch (e) {
        // A check that cannot run (an older schema without the column) is left to preflight, and said.
        notes.push(`data check ${d.id} could not run on ${d.database}: ${describeFailure(e)}`);
      }
    }
  }
  return out;
}

export async function discoverOpenStack(
  host: ReadOnlyHost,
  sql: SqlReader,
  catalog: Catalog,
  ctx: OpenStackContext,
): Promise<{ facts: OpenStackFacts; notes: string[] }> {
  const notes: string[] = [];
  const facts: OpenStackFacts = {};
  const dbs = ctx.databases;
  if (ctx.installed.includes("nova") || dbs.has("nova_api") || dbs.has("nova")) {
    facts.nova = await discoverNova(sql, dbs, notes);
  }
  if (ctx.installed.includes("cinder") || dbs.has("cinder")) {
    facts.cinder = await discoverCinder(host, sql, dbs, notes);
  }
  if (ctx.installed.includes("glance") || dbs.has("glance")) {
    facts.glance = await discoverGlance(host, sql, dbs, notes);
  }
  if (dbs.has("keystone")) facts.keystoneRoles = await discoverKeystoneRoles(sql);
  facts.dataChecks = await runDataChecks(sql, catalog, ctx, notes);
  return { facts, notes };
}
