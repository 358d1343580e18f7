/**
 * Facts: what discovery finds, read-only, before planning. Discovery (another module, through Hosts and SQL over
 * SSH) fills this in; the planner only reads it. Everything here is plain JSON so `handover plan --json` can
 * print it and tests can write it by hand (see test/unit/plan/fixtures/lab-facts.ts).
 *
 * Sizes are bytes; times are ISO 8601 strings (discovery's clock, UTC).
 */
import type { ServiceName } from "./catalog.js";

export interface OsFacts {
  /** /etc/os-release ID: "debian", "ubuntu", "rhel", "centos", "rocky". */
  readonly id: string;
  /** /etc/os-release VERSION_ID: "11", "22.04", "9". */
  readonly versionId: string;
  /** /etc/os-release VERSION_CODENAME: "bullseye", "jammy" (empty on RHEL). */
  readonly codename: string;
}

export interface UnitFacts {
  /** Unit / init-script name, e.g. "nova-api". */
  readonly name: string;
  /** Running when discovery looked. */
  readonly active: boolean;
}

export interface DatabaseFacts {
  readonly name: string;
  readonly sizeBytes: number;
  readonly tables: number;
  /** Tables whose default charset is not utf8/utf8mb4 (glance's charset fix, seed 002). */
  readonly nonUtf8Tables: readonly string[];
}

export interface DiskFacts {
  /** Mount point or directory asked about: "/var/lib/mysql", "/var/lib/glance", "/". */
  readonly path: string;
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface InterfaceFacts {
  readonly name: string;
  /** Addresses with prefix length: "198.51.100.4/24". */
  readonly addresses: readonly string[];
}

export interface ControllerFacts {
  readonly hostname: string;
  readonly os: OsFacts;
  /** Detected from package versions (catalog.detectRelease); undefined when nothing OpenStack is installed. */
  readonly release?: string;
  /** Installed package name -> version ("nova-common" -> "2:22.0.0-2"). OpenStack, MariaDB, RabbitMQ only. */
  readonly packages: Readonly<Record<string, string>>;
  /** OpenStack services installed on the controller. */
  readonly services: readonly ServiceName[];
  /** Service units found (OpenStack, mariadb, rabbitmq-server, memcached, apache2/httpd, tgt). */
  readonly units: readonly UnitFacts[];
  readonly databases: readonly DatabaseFacts[];
  readonly disk: readonly DiskFacts[];
  readonly rabbitmq: boolean;
  /** `SELECT VERSION()`: "10.5.29-MariaDB-0+deb11u1". Undefined when no server answers. */
  readonly mysqlVersion?: string;
  readonly interfaces: readonly InterfaceFacts[];
}

export interface ComputeServiceFacts {
  /** nova.services.host of a nova-compute row. */
  readonly host: string;
  /** nova.services.version (nova's service version counter). */
  readonly version: number;
  /**
   * The compute's release when discovery could tell (its nova package version over SSH, or mapping the service
   * version); undefined when unknown, which the planner treats as "same as the old controller".
   */
  readonly release?: string;
  readonly disabled: boolean;
  readonly forcedDown: boolean;
  /** services.updated_at (last heartbeat); null if never. */
  readonly lastSeen: string | null;
}

export interface NovaServiceFacts {
  readonly host: string;
  /** "nova-conductor", "nova-scheduler", ... (not nova-compute). */
  readonly binary: string;
  readonly lastSeen: string | null;
}

export interface CellFacts {
  readonly uuid: string;
  readonly name: string;
}

export interface NovaFacts {
  /** nova_api.cell_mappings, cell0 included (uuid 00000000-0000-0000-0000-000000000000). */
  readonly cells: readonly CellFacts[];
  readonly computes: readonly ComputeServiceFacts[];
  /** Non-compute service records, for the finalize clean-up of stale records. */
  readonly controlServices: readonly NovaServiceFacts[];
  /** Counts for the report and for sizing: instances (not deleted), block_device_mapping rows with iSCSI info. */
  readonly instances: number;
  readonly iscsiAttachments: number;
}

export interface CinderVolumeFacts {
  readonly id: string;
  readonly sizeGb: number;
  /** cinder status: "available", "in-use", ... */
  readonly status: string;
}

export interface CinderFacts {
  /** Backend kind of the controller's cinder-volume: LVM volume group, file-backed (lab), or something we do not copy. */
  readonly backend: "lvm" | "file" | "other";
  /** LVM volume group ("cinder-volumes") or the directory holding file-backed volumes. */
  readonly location?: string;
  readonly volumes: readonly CinderVolumeFacts[];
}

export interface GlanceFacts {
  /** "file" when images live in a filesystem store on the controller; "other" (ceph, swift, ...) is not copied. */
  readonly store: "file" | "other";
  readonly imagesDir?: string;
  readonly images: number;
  readonly totalBytes: number;
}

export interface Facts {
  readonly collectedAt: string;
  readonly controllers: { readonly old: ControllerFacts; readonly new: ControllerFacts };
  /** From the old controller's nova databases; absent when nova is not there. */
  readonly nova?: NovaFacts;
  readonly cinder?: CinderFacts;
  readonly glance?: GlanceFacts;
  /** Role names in the old keystone database (for horizon's default role). */
  readonly keystoneRoles?: readonly string[];
  /**
   * Results of the catalog's data checks (catalog.dataChecksFor) run read-only on the old databases:
   * check id -> offending row count. Checks missing here are run again in preflight.
   */
  readonly dataChecks?: Readonly<Record<string, number>>;
}
