/**
 * Discovery of one controller: OS, host name, packages and the release they make, service units, interfaces,
 * free disk, and (when its MySQL answers) the server version and every database's size. Read-only by
 * construction: it only has a ReadOnlyHost and a SqlReader.
 *
 * What cannot be found is a finding, not an error: a bare new controller has no OpenStack, perhaps no MySQL,
 * perhaps no /var/lib/mysql yet. Such gaps are returned as notes for the operator.
 */
import {
  detectReleaseFromPackages,
  familyOf,
  serviceVersionsFromPackages,
  type Catalog,
  type Family,
} from "../plan/catalog.js";
import type { ControllerFacts, DatabaseFacts, DiskFacts, OsFacts, UnitFacts } from "../plan/facts.js";
import { errorMessage, isUserError } from "../lib/errors.js";
import { installedServices, relevantPackages, relevantUnitNames } from "./packages.js";
import {
  diskFacts,
  parseDpkgQuery,
  parseHostname,
  parseIpAddrJson,
  parseOsRelease,
  parseRpmQuery,
  parseServiceStatusAll,
  parseSystemctlUnits,
} from "./parse-host.js";
import {
  DPKG_QUERY_ARGV,
  HOSTNAME_ARGV,
  IP_ADDR_ARGV,
  RPM_QUERY_ARGV,
  SERVICE_STATUS_ALL_ARGV,
  SYSTEMCTL_UNITS_ARGV,
  dfArgv,
  type ReadOnlyHost,
} from "./readonly-host.js";
import type { SqlReader } from "./sql.js";
import {
  SQL_DATABASE_SIZES,
  SQL_NON_UTF8_TABLES,
  SQL_VERSION,
  SYSTEM_SCHEMAS,
  databasesFromRows,
} from "./sql-rows.js";

export interface Discovered<T> {
  readonly facts: T;
  /** Things discovery could not find or read, for the operator (printed with the plan). */
  readonly notes: readonly string[];
}

async function readText(host: ReadOnlyHost, path: string): Promise<string | undefined> {
  if ((await host.stat(path)) === undefined) return undefined;
  return (await host.readFile(path)).toString("utf8");
}

export async function discoverOs(host: ReadOnlyHost): Promise<OsFacts | undefined> {
  const text = (await readText(host, "/etc/os-release")) ?? (await readText(host, "/usr/lib/os-release"));
  return text === undefined ? undefined : parseOsRelease(text);
}

function familyFor(catalog: Catalog, os: OsFacts): Family | undefined {
  try {
    return familyOf(catalog, os.id);
  } catch {
    return undefined;
  }
}

/** Installed packages with the family's tool; an unknown distro tries dpkg, then rpm. */
export async function discoverPackages(
  host: ReadOnlyHost,
  family: Family | undefined,
  notes: string[],
): Promise<Map<string, string>> {
  const tries: ["dpkg" | "rpm", readonly string[]][] =
    family === "rhel"
      ? [["rpm", RPM_QUERY_ARGV]]
      : family === "debian"
        ? [["dpkg", DPKG_QUERY_ARGV]]
        : [
            ["dpkg", DPKG_QUERY_ARGV],
            ["rpm", RPM_QUERY_ARGV],
          ];
  for (const [tool, argv] of tries) {
    const r = await host.exec(argv);
    // dpkg-query exits 0 listing everything; non-zero with output still lists what it could read.
    if (r.exitCode === 0 || r.stdout.trim() !== "") {
      return tool === "dpkg" ? parseDpkgQuery(r.stdout) : parseRpmQuery(r.stdout);
    }
    if (family !== undefined) {
      notes.push(
        `${host.name}: could not list packages (${argv[0]} exit ${r.exitCode}: ${firstLine(r.stderr)})`,
      );
    }
  }
  if (family === undefined) notes.push(`${host.name}: found neither dpkg-query nor rpm; packages unknown`);
  return new Map();
}

/** Units relevant to OpenStack, through systemd when it runs (PID 1), else the init scripts. */
export async function discoverUnits(
  host: ReadOnlyHost,
  catalog: Catalog,
  notes: string[],
): Promise<UnitFacts[]> {
  const systemd = (await host.stat("/run/systemd/system")) !== undefined;
  const r = await host.exec(systemd ? SYSTEMCTL_UNITS_ARGV : SERVICE_STATUS_ALL_ARGV);
  const all = systemd ? parseSystemctlUnits(r.stdout) : parseServiceStatusAll(`${r.stdout}\n${r.stderr}`);
  if (all.length === 0 && r.exitCode !== 0) {
    notes.push(
      `${host.name}: could not list services (${systemd ? "systemctl" : "service --status-all"} exit ${r.exitCode}: ${firstLine(r.stderr)})`,
    );
  }
  const wanted = relevantUnitNames(catalog);
  const seen = new Set<string>();
  return all.filter((u) => wanted.has(u.name) && !seen.has(u.name) && seen.add(u.name));
}

/** Free space for each path, measured at the path or, when it does not exist yet, its nearest existing parent. */
export async function discoverDisk(
  host: ReadOnlyHost,
  paths: readonly string[],
  notes: string[],
): Promise<DiskFacts[]> {
  const out: DiskFacts[] = [];
  for (const path of [...new Set(paths)]) {
    let at = path;
    while (at !== "/" && (await host.stat(at)) === undefined) at = at.replace(/\/[^/]*$/, "") || "/";
    const r = await host.exec(dfArgv(at));
    const d = r.exitCode === 0 ? diskFacts(path, r.stdout) : undefined;
    if (d) out.push(d);
    else notes.push(`${host.name}: df ${at} failed (exit ${r.exitCode}: ${firstLine(r.stderr)})`);
  }
  return out;
}

export async function discoverDatabases(
  sql: SqlReader,
): Promise<{ version: string; databases: DatabaseFacts[] }> {
  const [v] = await sql.query(undefined, SQL_VERSION);
  const sizes = await sql.query(undefined, SQL_DATABASE_SIZES, SYSTEM_SCHEMAS);
  const nonUtf8 = await sql.query(undefined, SQL_NON_UTF8_TABLES, SYSTEM_SCHEMAS);
  const raw = v?.version;
  const version = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : "";
  return { version, databases: databasesFromRows(sizes, nonUtf8) };
}

export interface ControllerOptions {
  /** Paths whose free space the plan needs (the planner looks these exact paths up). */
  readonly diskPaths: readonly string[];
}

export async function discoverController(
  host: ReadOnlyHost,
  sql: SqlReader | undefined,
  catalog: Catalog,
  options: ControllerOptions,
): Promise<Discovered<ControllerFacts>> {
  const notes: string[] = [];
  const os = await discoverOs(host);
  if (!os) notes.push(`${host.name}: no /etc/os-release; the distribution is unknown`);
  const osFacts: OsFacts = os ?? { id: "", versionId: "", codename: "" };
  const hostname = parseHostname((await host.exec(HOSTNAME_ARGV)).stdout);
  const family = familyFor(catalog, osFacts);
  const all = await discoverPackages(host, family, notes);
  const { services } = installedServices(catalog, all);
  const packages = relevantPackages(all);
  // The catalog's own mapping from packages to a release, so plan and discovery cannot disagree on it.
  const release = detectReleaseFromPackages(catalog, Object.fromEntries(all));
  const versions = serviceVersionsFromPackages(catalog, Object.fromEntries(all));
  if (services.length > 0 && release === undefined) {
    notes.push(
      `${host.name}: OpenStack packages installed but their versions do not name one release (${Object.entries(
        versions,
      )
        .map(([s, v]) => `${s} ${v}`)
        .join(", ")})`,
    );
  }
  const units = await discoverUnits(host, catalog, notes);
  const ip = await host.exec(IP_ADDR_ARGV);
  const interfaces = parseIpAddrJson(ip.stdout);
  if (ip.exitCode !== 0)
    notes.push(`${host.name}: ip -j addr failed (exit ${ip.exitCode}: ${firstLine(ip.stderr)})`);
  const disk = await discoverDisk(host, options.diskPaths, notes);
  let mysql: { version: string; databases: DatabaseFacts[] } | undefined;
  if (sql) mysql = await discoverDatabases(sql);
  return {
    facts: {
      hostname,
      os: osFacts,
      ...(release !== undefined ? { release } : {}),
      packages,
      services,
      units,
      databases: mysql?.databases ?? [],
      disk,
      rabbitmq: "rabbitmq-server" in packages || units.some((u) => u.name === "rabbitmq-server"),
      ...(mysql ? { mysqlVersion: mysql.version } : {}),
      interfaces,
    },
    notes,
  };
}

export function firstLine(text: string): string {
  return text.trim().split(/\r?\n/)[0]?.slice(0, 200) ?? "";
}

/** A failure message for notes, without throwing away what kind of failure it was. */
export function describeFailure(e: unknown): string {
  return isUserError(e) ? `[${e.code}] ${e.message}` : errorMessage(e);
}
