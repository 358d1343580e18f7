/**
 * From the installed-package list to facts: which packages are worth recording (OpenStack, MariaDB/MySQL,
 * RabbitMQ, memcached, the iSCSI target), which OpenStack services are installed, and their versions for
 * catalog.detectRelease. The service -> package names come from the catalog (templates/distros.yaml), plus the
 * `<service>-common` packages that every Debian service package depends on.
 */
import { SERVICE_NAMES, type Catalog, type ServiceName } from "../plan/catalog.js";

/** Packages some services pull in but that say nothing about which OpenStack service is installed. */
const GENERIC = new Set(["httpd", "python3-mod_wsgi", "apache2", "targetcli", "tgt"]);

const INFRA =
  /^(mariadb-server(-[\d.]+)?|mariadb-server-core(-[\d.]+)?|mysql-server(-[\d.]+)?|galera(-\d+)?|rabbitmq-server|memcached|tgt|targetcli)$/;
const OPENSTACK =
  /^(openstack-.+|(python3-)?(keystone|glance|nova|neutron|cinder|placement)(-.+)?|python3-django-horizon)$/;

/** The packages Facts records: OpenStack and the infrastructure it runs on, not the whole distribution. */
export function relevantPackages(all: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, version] of [...all].sort(([a], [b]) => a.localeCompare(b))) {
    if (INFRA.test(name) || OPENSTACK.test(name)) out[name] = version;
  }
  return out;
}

/** Package names that mean "this service is installed", most telling first (its API package). */
export function servicePackages(catalog: Catalog, service: ServiceName): string[] {
  const names: string[] = [];
  for (const fam of [catalog.families.debian, catalog.families.rhel]) {
    names.push(...(fam.services[service]?.packages ?? []));
    for (const v of Object.values(fam.variants)) names.push(...(v.services[service]?.packages ?? []));
  }
  if (service === "horizon") names.push("openstack-dashboard", "python3-django-horizon");
  else names.push(`${service}-common`, `openstack-${service}-common`, `python3-${service}`);
  return [...new Set(names)].filter((n) => !GENERIC.has(n));
}

export interface InstalledServices {
  readonly services: ServiceName[];
  /** service -> version of its first installed package (for detectRelease). */
  readonly versions: Partial<Record<ServiceName, string>>;
}

export function installedServices(catalog: Catalog, all: ReadonlyMap<string, string>): InstalledServices {
  const services: ServiceName[] = [];
  const versions: Partial<Record<ServiceName, string>> = {};
  for (const s of SERVICE_NAMES) {
    const found = servicePackages(catalog, s).find((p) => all.has(p));
    if (found === undefined) continue;
    services.push(s);
    const v = all.get(found);
    if (v !== undefined) versions[s] = v;
  }
  return { services, versions };
}

/** Unit names worth recording: every unit the catalog knows for any service, plus the infrastructure's. */
export function relevantUnitNames(catalog: Catalog): Set<string> {
  const names = new Set<string>(["mysql", "mariadb", "apache2", "httpd", "tgt", "target", "iscsid"]);
  for (const fam of [catalog.families.debian, catalog.families.rhel]) {
    names.add(fam.mariadb.unit).add(fam.rabbitmq.unit).add(fam.memcached.unit);
    const specs = [
      ...Object.values(fam.services),
      ...Object.values(fam.variants).flatMap((v) => Object.values(v.services)),
    ];
    for (const spec of specs) {
      for (const u of spec?.units ?? []) names.add(u.name);
      if (spec?.target_unit) names.add(spec.target_unit);
      for (const p of spec?.optional_packages ?? []) names.add(p);
    }
  }
  return names;
}
