/**
 * gatherFacts: everything the planner needs, from both controllers, read-only. The old controller is discovered
 * first (its glance and cinder facts say which paths the new one needs room at), then the new one.
 *
 * The old controller's MySQL must answer (its databases are what we migrate); the new controller's may not exist
 * yet, or may not accept the answer file's password yet (Debian's root uses unix_socket until provisioning
 * sets one): both are notes, not errors.
 */
import { isUserError } from "../lib/errors.js";
import { MysqlErrorCode } from "../db/mysql-client.js";
import type { Catalog, ServiceName } from "../plan/catalog.js";
import type { Facts } from "../plan/facts.js";
import { describeFailure, discoverController } from "./controller.js";
import { discoverOpenStack } from "./openstack.js";
import type { ReadOnlyHost } from "./readonly-host.js";
import { readOnlySql, type SqlOpener, type SqlReader } from "./sql.js";

export interface DiscoveryEndpoint {
  readonly host: ReadOnlyHost;
  readonly openSql: SqlOpener;
}

export interface DiscoveryRequest {
  readonly catalog: Catalog;
  readonly sourceRelease: string;
  readonly targetRelease: string;
  /** Services chosen in the answers (for the catalog's data checks). */
  readonly services: readonly ServiceName[];
  /** Discovery's clock (injected for tests). */
  readonly now: () => Date;
}

export interface GatheredFacts {
  readonly facts: Facts;
  readonly notes: readonly string[];
}

const BASE_DISK_PATHS = ["/", "/var/lib/mysql"];

export async function gatherFacts(
  old: DiscoveryEndpoint,
  neu: DiscoveryEndpoint,
  req: DiscoveryRequest,
): Promise<GatheredFacts> {
  const notes: string[] = [];
  const collectedAt = req
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
  const oldSql = readOnlySql(await old.openSql());
  let newSql: SqlReader | undefined;
  try {
    const oldCtl = await discoverController(old.host, oldSql, req.catalog, { diskPaths: BASE_DISK_PATHS });
    notes.push(...oldCtl.notes);
    const os = await discoverOpenStack(old.host, oldSql, req.catalog, {
      installed: oldCtl.facts.services,
      databases: new Set(oldCtl.facts.databases.map((d) => d.name)),
      sourceRelease: req.sourceRelease,
      targetRelease: req.targetRelease,
      services: req.services,
    });
    notes.push(...os.notes);

    const newPaths = [...BASE_DISK_PATHS];
    if (os.facts.glance?.store === "file")
      newPaths.push(
        os.facts.glance.imagesDir ?? req.catalog.services.glance.images_dir ?? "/var/lib/glance/images",
      );
    const cinderDir = os.facts.cinder?.backend === "file" ? os.facts.cinder.location : undefined;
    if (cinderDir?.startsWith("/")) newPaths.push(cinderDir);

    try {
      newSql = readOnlySql(await neu.openSql());
    } catch (e) {
      if (!isUserError(e) || (e.code !== MysqlErrorCode.unreachable && e.code !== MysqlErrorCode.authFailed))
        throw e;
      notes.push(
        e.code === MysqlErrorCode.unreachable
          ? `${neu.host.name}: no MySQL answering yet (normal before provisioning): ${describeFailure(e)}`
          : `${neu.host.name}: MySQL answers but refused the answer file's login (provisioning sets it): ${describeFailure(e)}`,
      );
    }
    const newCtl = await discoverController(neu.host, newSql, req.catalog, { diskPaths: newPaths });
    notes.push(...newCtl.notes);

    return {
      facts: {
        collectedAt,
        controllers: { old: oldCtl.facts, new: newCtl.facts },
        ...(os.facts.nova ? { nova: os.facts.nova } : {}),
        ...(os.facts.cinder ? { cinder: os.facts.cinder } : {}),
        ...(os.facts.glance ? { glance: os.facts.glance } : {}),
        ...(os.facts.keystoneRoles ? { keystoneRoles: os.facts.keystoneRoles } : {}),
        ...(os.facts.dataChecks ? { dataChecks: os.facts.dataChecks } : {}),
      },
      notes,
    };
  } finally {
    await Promise.allSettled([oldSql.close(), newSql?.close()]);
  }
}
