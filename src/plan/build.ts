/**
 * buildPlan: PlanInput + Facts + Catalog -> Plan (pure data). No I/O, no clock: the same inputs give the same
 * plan, byte for byte, so plans can be diffed and step ids stay stable across runs (resume relies on that).
 *
 * Layout: steps are appended phase by phase in PHASES order, and every `after` names an earlier step, so the list
 * is already a valid serial order; `after` carries the real dependencies so the engine can run independent steps
 * (different services' dumps, imports, syncs) concurrently. Resources are `host:kind:name`.
 *
 * Unsafe jumps are refused here, before any step exists, with every reason the catalog gives.
 */
import { BugError, UserError } from "../lib/errors.js";
import type { JsonObject, Phase, Plan, PlannedStep } from "../engine/step.js";
import { PHASES } from "../engine/step.js";
import type { Catalog, ServiceName, Unit } from "./catalog.js";
import {
  SERVICE_NAMES,
  assertSafeJump,
  compareReleases,
  configFilesFor,
  configRewritesFor,
  dataChecksFor,
  distroService,
  familyOf,
  oldestCompute,
  recipeFor,
  resolveRelease,
  upgradeCheckFor,
} from "./catalog.js";
import { apiCheckSummary } from "./api-calls.js";
import type { Facts } from "./facts.js";
import type { PlanInput } from "./input.js";
import type { StepKind } from "./kinds.js";

/** Where the new controller's services find their database and broker: the local MariaDB / RabbitMQ. */
export const NEW_LOCAL_ADDRESS = "127.0.0.1";
const CELL0_UUID = "00000000-0000-0000-0000-000000000000";
/** Start order across services: identity first, nova after what it calls, the dashboard last. */
const START_ORDER: readonly ServiceName[] = [
  "keystone",
  "glance",
  "placement",
  "neutron",
  "cinder",
  "nova",
  "horizon",
];
/** A compute not heard from for this long before discovery is reported as stale. */
/** Where the temporary key for the data copies is installed on old (src/data/temp-key.ts). */
const TEMP_KEY_FILE = "/root/.ssh/authorized_keys";
/**
 * The resource the key steps write. Named on new, where the key pair lives: its one line in old's authorized_keys
 * (marked, from=-restricted, always removed) leaves old's services and data alone, so old stays "written only by
 * freeze and switch steps" as far as the fallback is concerned (KINDS.md). Shared by both key steps so the removal
 * supersedes the creation: once removed, a resume does not make the key again.
 */
const TEMP_KEY_RESOURCE = "new:file:handover-temp-key";
const TEMP_KEY_REMOVE = "data.temp-key.remove";
const STALE_AFTER_MS = 24 * 3600 * 1000;
/** A compute heard from within this long before the facts were gathered was running nova-compute. */
const ALIVE_BEFORE_MS = 10 * 60 * 1000;
/** nova-compute's unit on a compute: Debian/Ubuntu's name, then RDO's (the computes' distribution is not in facts). */
const COMPUTE_UNITS = ["nova-compute", "openstack-nova-compute"] as const;

interface StepDraft {
  id: string;
  kind: StepKind;
  title: string;
  phase: Phase;
  hosts: string[];
  reads?: string[];
  writes?: string[];
  commands?: string[];
  after?: string[];
  irreversible?: string;
  /** PlannedStep.undoAfter: ancestors whose undo must finish before this step's. */
  undoAfter?: string[];
  params?: JsonObject;
}

/** Accumulates steps; refuses duplicate ids, unknown or later dependencies, and phases going backwards. */
class StepList {
  readonly steps: PlannedStep[] = [];
  private readonly byId = new Map<string, PlannedStep>();

  add(d: StepDraft): string {
    if (this.byId.has(d.id)) throw new BugError(`duplicate plan step id ${d.id}`);
    const last = this.steps[this.steps.length - 1];
    if (last && PHASES.indexOf(last.phase) > PHASES.indexOf(d.phase)) {
      throw new BugError(`step ${d.id} (${d.phase}) added after a ${last.phase} step`);
    }
    const after = [...new Set(d.after ?? [])];
    for (const a of after)
      if (!this.byId.has(a)) throw new BugError(`step ${d.id} depends on unknown step ${a}`);
    const step: PlannedStep = {
      id: d.id,
      kind: d.kind,
      title: d.title,
      phase: d.phase,
      hosts: d.hosts,
      reads: d.reads ?? [],
      writes: d.writes ?? [],
      commands: d.commands ?? [],
      after,
      ...(d.irreversible !== undefined ? { irreversible: d.irreversible } : {}),
      // Only when declared: the plan hash of every other step stays what it was.
      ...(d.undoAfter !== undefined ? { undoAfter: d.undoAfter } : {}),
      params: d.params ?? {},
    };
    this.steps.push(step);
    this.byId.set(d.id, step);
    return d.id;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  idsIn(phase: Phase): string[] {
    return this.steps.filter((s) => s.phase === phase).map((s) => s.id);
  }
}

/** POSIX single-quote for display (the Host adapter does its own quoting for execution). */
function sh(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function asUser(user: string, argv: readonly string[]): string {
  return `su -s /bin/sh -c ${sh(argv.map(sh).join(" "))} ${user}`;
}

function serviceCommand(family: "debian" | "rhel", unit: string, action: "start" | "stop"): string {
  // Debian's packages ship init scripts (`service` works with or without systemd); RDO is systemd only.
  return family === "debian" ? `service ${unit} ${action}` : `systemctl ${action} ${unit}`;
}

function prefixOf(cidr: string): number {
  const p = Number(cidr.split("/")[1]);
  if (!Number.isInteger(p)) throw new BugError(`network cidr without prefix: ${cidr}`);
  return p;
}

function portalHost(portal: string): string {
  // "198.18.0.4:3260" -> "198.18.0.4"; "[2001:db8::4]:3260" -> "2001:db8::4"; a bare IPv6 stays whole.
  const v6 = /^\[(.+)\](?::\d+)?$/.exec(portal);
  if (v6?.[1]) return v6[1];
  return portal.split(":").length === 2 ? (portal.split(":")[0] ?? portal) : portal;
}

/**
 * Builds the plan. Throws UserError when the jump is unsafe or the facts contradict the input (a service chosen
 * that the old controller does not run, not enough disk), naming what to do.
 */
export function buildPlan(input: PlanInput, facts: Facts, catalog: Catalog): Plan {
  const source = resolveRelease(catalog, input.sourceRelease).name;
  const target = resolveRelease(catalog, input.targetRelease).name;
  const services = SERVICE_NAMES.filter((s) => input.services.includes(s));
  if (services.length === 0) {
    throw new UserError("PLAN_NO_SERVICES", "No services chosen to migrate.", {
      nextSteps: ["List the services to migrate in the answer file (services: [keystone, ...])."],
    });
  }

  const old = facts.controllers.old;
  const neu = facts.controllers.new;
  if (old.release !== undefined && compareReleases(catalog, old.release, source) !== 0) {
    throw new UserError(
      "PLAN_RELEASE_MISMATCH",
      `The answers say the source is ${source}, but the old controller's packages are ${old.release}.`,
      {
        nextSteps: [`Set source_release to ${old.release}, or check which controller the answers point at.`],
      },
    );
  }
  // Placement before Stein lives inside nova_api: choosing it is fine, it just is not on the old controller yet.
  const missing = services.filter(
    (s) => !old.services.includes(s) && !(s === "placement" && compareReleases(catalog, source, "stein") < 0),
  );
  if (missing.length > 0) {
    throw new UserError("PLAN_SERVICE_MISSING", `The old controller does not run: ${missing.join(", ")}.`, {
      nextSteps: [
        "Remove those services from the answer file, or point old at the controller that runs them.",
      ],
    });
  }

  const jump = assertSafeJump(catalog, source, target, services, facts.dataChecks ?? {});
  const warnings: string[] = [...jump.warnings];
  const oldFamily = familyOf(catalog, old.os.id);
  const family = familyOf(catalog, neu.os.id);
  const fam = catalog.families[family];
  const list = new StepList();
  const has = (s: ServiceName): boolean => services.includes(s);
  const placementFromNovaApi = has("placement") && compareReleases(catalog, source, "stein") < 0;

  // Databases to copy: every database of each chosen service that exists on old (placement pre-Stein has none).
  const oldDbs = new Map(old.databases.map((d) => [d.name, d]));
  const dbsOf = (s: ServiceName): string[] =>
    s === "placement" && placementFromNovaApi
      ? []
      : catalog.services[s].databases.filter((d) => oldDbs.has(d));
  for (const s of services) {
    const absent = catalog.services[s].databases.filter((d) => !oldDbs.has(d) && dbsOf(s).length > 0);
    if (absent.length > 0)
      warnings.push(`${s}: database(s) ${absent.join(", ")} not found on the old controller; not copied.`);
  }
  const allDbs = services.flatMap(dbsOf);

  // ------------------------------------------------------------------ preflight (read-only)
  list.add({
    id: "pre.health.old",
    kind: "check.health",
    title: "Old controller is healthy: services running, MariaDB answering",
    phase: "preflight",
    hosts: ["old"],
    // The units are reads too: once the freeze (which writes them) is done, a resume does not redo this
    // check against stopped APIs (the engine skips a done step that a later done step superseded).
    reads: [
      "old:host",
      ...allDbs.map((d) => `old:db:${d}`),
      ...activeUnits(catalog, old.os.id, services, old.units).map((u) => `old:service:${u}`),
    ],
    params: {
      units: activeUnits(catalog, old.os.id, services, old.units),
      databases: allDbs,
    },
  });
  list.add({
    id: "pre.health.new",
    kind: "check.health",
    title: "New controller is reachable and has no OpenStack data yet",
    phase: "preflight",
    hosts: ["new"],
    // The databases are reads: once provisioning creates them, a resume does not redo "new is empty".
    reads: ["new:host", ...allDbs.map((d) => `new:db:${d}`)],
    params: { units: [], databases: [], mustBeEmpty: allDbs },
  });
  const diskNeeds = diskRequirements(facts, services, allDbs);
  for (const need of diskNeeds) {
    const have = neu.disk.find((d) => d.path === need.path);
    if (have && have.freeBytes < need.bytes) {
      throw new UserError(
        "PLAN_DISK",
        `The new controller has ${gib(have.freeBytes)} free at ${need.path}; the migration needs about ${gib(need.bytes)} (${need.why}).`,
        { nextSteps: [`Free or add space at ${need.path} on the new controller, then plan again.`] },
      );
    }
  }
  list.add({
    id: "pre.disk.new",
    kind: "check.disk",
    title: "New controller has room for the databases and images",
    phase: "preflight",
    hosts: ["new"],
    reads: ["new:host"],
    params: { needs: diskNeeds.map((n) => ({ path: n.path, bytes: n.bytes, why: n.why })) },
  });
  for (const s of services) {
    for (const d of dataChecksFor(catalog, s, source, target)) {
      list.add({
        id: `pre.data.${d.id}`,
        kind: "check.data",
        title: d.title,
        phase: "preflight",
        hosts: ["old"],
        reads: [`old:db:${d.database}`],
        commands: [`[old] mysql ${d.database} -e ${sh(d.sql)}`],
        params: {
          service: s,
          database: d.database,
          sql: d.sql,
          severity: d.severity,
          message: d.message,
          nextSteps: d.next_steps,
        },
      });
    }
  }
  for (const s of services) {
    const argv = upgradeCheckFor(catalog, s, source);
    if (!argv || !old.services.includes(s)) continue;
    list.add({
      id: `pre.upgrade-check.${s}`,
      kind: "svc.upgrade-check",
      title: `${s}-status baseline on the old controller (recorded, not fatal)`,
      phase: "preflight",
      hosts: ["old"],
      // With old's API units: a resume after the freeze does not run old's check again (after the switch its
      // configs' addresses lead to new, where it would only wait for a database it cannot reach).
      reads: [
        ...dbsOf(s).map((d) => `old:db:${d}`),
        ...uniqueUnits(catalog, old.os.id, [s], (u) => u.api).map((u) => `old:service:${u}`),
      ],
      commands: [`[old] ${asUser(catalog.services[s].user, argv)}`],
      params: { service: s, argv, user: catalog.services[s].user, failOn: "none" },
    });
  }
  list.add({
    id: "pre.inventory.old",
    kind: "inventory.capture",
    title: "Inventory before: projects, users, endpoints, images, volumes, instances, networks ...",
    phase: "preflight",
    hosts: ["old"],
    reads: allDbs.map((d) => `old:db:${d}`),
    params: { host: "old", services, databases: allDbs },
  });
  const preflight = list.idsIn("preflight");

  // ------------------------------------------------------------------ provision (new controller only)
  const pkgsFor = (s: ServiceName): string[] => {
    const ds = distroService(catalog, neu.os.id, s);
    // Optional packages (neutron agents) only when the old controller had the matching unit.
    const extra = ds.optional_packages.filter((p) =>
      old.units.some((u) => u.name === p || p.endsWith(u.name)),
    );
    return [...ds.packages, ...extra];
  };
  const packages = [
    ...fam.mariadb.packages,
    ...(old.rabbitmq ? fam.rabbitmq.packages : []),
    ...(old.units.some((u) => u.name === "memcached") ? fam.memcached.packages : []),
    ...fam.tools,
    ...services.flatMap(pkgsFor),
  ];
  const repoFile = fam.apt_source_file ?? fam.repo_file ?? "";
  const repo = list.add({
    id: "prov.repo",
    kind: "pkg.source",
    title: `Package source for ${target} on the new controller`,
    phase: "provision",
    hosts: ["new"],
    writes: [`new:file:${repoFile}`],
    commands: [`[new] write ${repoFile}: ${input.packageSources.join(" | ")}`],
    after: preflight,
    params: { family, file: repoFile, lines: [...input.packageSources], trusted: input.trustedPackages },
  });
  const provAfter = [repo];
  if (fam.prevent_start) {
    provAfter.push(
      list.add({
        id: "prov.prevent-start",
        kind: "pkg.prevent-start",
        title: "Keep package installs from starting services before their data is in place",
        phase: "provision",
        hosts: ["new"],
        writes: [`new:file:${fam.prevent_start.file}`],
        commands: [`[new] write ${fam.prevent_start.file} (exit 101, mode ${fam.prevent_start.mode})`],
        after: preflight,
        params: { ...fam.prevent_start },
      }),
    );
  }
  const install = list.add({
    id: "prov.packages",
    kind: "pkg.install",
    title: `Install ${target} packages, MariaDB${old.rabbitmq ? ", RabbitMQ" : ""}`,
    phase: "provision",
    hosts: ["new"],
    writes: ["new:packages"],
    commands: [
      family === "debian"
        ? `[new] DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(" ")}`
        : `[new] dnf install -y ${packages.join(" ")}`,
    ],
    after: provAfter,
    params: { family, packages, debconf: fam.debconf },
  });
  const startInfra = (id: string, unit: string, what: string): string =>
    list.add({
      id,
      kind: "svc.start",
      title: `Start ${what} on the new controller`,
      phase: "provision",
      hosts: ["new"],
      writes: [`new:service:${unit}`],
      commands: [`[new] ${serviceCommand(family, unit, "start")}`],
      after: [install],
      params: { host: "new", units: [unit] },
    });
  const mariadb = startInfra("prov.mariadb.start", fam.mariadb.unit, "MariaDB");
  const rabbit = old.rabbitmq ? startInfra("prov.rabbitmq.start", fam.rabbitmq.unit, "RabbitMQ") : undefined;
  if (old.units.some((u) => u.name === "memcached"))
    startInfra("prov.memcached.start", fam.memcached.unit, "memcached");
  const stopped = new Map<ServiceName, string>();
  for (const s of services) {
    const units = distroService(catalog, neu.os.id, s).units.map((u) => u.name);
    stopped.set(
      s,
      list.add({
        id: `prov.stop.${s}`,
        kind: "svc.stop",
        title: `Make sure ${s} is not running on the new controller yet`,
        phase: "provision",
        hosts: ["new"],
        writes: units.map((u) => `new:service:${u}`),
        commands: units.map((u) => `[new] ${serviceCommand(family, u, "stop")}`),
        after: [install],
        params: { host: "new", units, ignoreMissing: true },
      }),
    );
  }
  const credentialFile = (s: ServiceName): string => `${input.stateDir}/secrets/${s}`;
  const dbCreated = new Map<ServiceName, string>();
  for (const s of services) {
    const dbs = s === "placement" && placementFromNovaApi ? ["placement"] : dbsOf(s);
    if (dbs.length === 0) continue;
    const rewrites = configRewritesFor(catalog, s, target).filter((r) => r.op === "db-url");
    dbCreated.set(
      s,
      list.add({
        id: `prov.db.${s}`,
        kind: "db.create",
        title: `Create ${dbs.join(", ")} and ${s}'s database user (${input.options.credentials === "keep" ? "old credentials" : "new credentials"})`,
        phase: "provision",
        // keep: the step reads the old config over SSH, so old is one of its hosts (the engine enforces it).
        hosts: input.options.credentials === "keep" ? ["new", "old"] : ["new"],
        reads: input.options.credentials === "keep" ? [`old:file:${catalog.services[s].config_dir}`] : [],
        writes: dbs.map((d) => `new:db:${d}`),
        commands: dbs.map(
          (d) =>
            `[new] mysql -e 'CREATE DATABASE IF NOT EXISTS ${d}; GRANT ALL ON ${d}.* TO <user>@... IDENTIFIED BY ***'`,
        ),
        after: [mariadb],
        params: {
          service: s,
          databases: dbs,
          credentials: input.options.credentials,
          // keep: user and password come from the old config's URL for each database; new: generated and stored
          // mode 0600 in credentialFile on the new controller (never in the journal).
          from: rewrites.map((r) => ({
            database: r.database ?? "",
            file: `${catalog.services[s].config_dir}/${r.file}`,
            section: r.section,
            key: r.key,
          })),
          secretFile: credentialFile(s),
        },
      }),
    );
  }
  // The AMQP credentials come from whichever chosen service's config carries a transport_url.
  const amqpSource = services.find((s) =>
    configRewritesFor(catalog, s, target).some((r) => r.op === "transport-url"),
  );
  if (rabbit && amqpSource) {
    const spec = catalog.services[amqpSource];
    const conf = `${spec.config_dir}/${spec.config_files[0] ?? ""}`;
    list.add({
      id: "prov.amqp",
      kind: "amqp.user",
      title: "Create the AMQP user and vhost the old transport_url uses",
      phase: "provision",
      hosts: ["new", "old"],
      reads: [`old:file:${spec.config_dir}`],
      writes: ["new:amqp:users"],
      commands: [
        "[new] rabbitmqctl add_user <user> *** ; rabbitmqctl set_permissions -p <vhost> <user> '.*' '.*' '.*'",
      ],
      after: [rabbit],
      params: {
        credentials: input.options.credentials,
        fromConfig: conf,
        secretFile: `${input.stateDir}/secrets/amqp`,
      },
    });
  }
  if (fam.prevent_start) {
    list.add({
      id: "prov.allow-start",
      kind: "pkg.allow-start",
      title:
        "Let services start again on the new controller (they stay stopped until their data is in place)",
      phase: "provision",
      hosts: ["new"],
      writes: [`new:file:${fam.prevent_start.file}`],
      commands: [`[new] rm -f ${fam.prevent_start.file}`],
      after: [install, ...stopped.values()],
      params: { file: fam.prevent_start.file },
    });
  }

  // ------------------------------------------------------------------ warm copies (before the freeze)
  const glanceFiles = has("glance") && facts.glance?.store === "file";
  const imagesDir = facts.glance?.imagesDir ?? catalog.services.glance.images_dir ?? "/var/lib/glance/images";
  if (has("glance") && facts.glance && facts.glance.store !== "file") {
    warnings.push(
      "glance: the image store is not a local filesystem; image data is not copied (the new controller must reach the same store).",
    );
  }
  // One temporary SSH key (new pulls from old) for every rsync pass up to the data phase, instead of one per pass:
  // making and removing it costs seconds, which the in-window delta pass would pay each time. Worth it from two
  // passes on (glance's warm + delta; file-backed cinder volumes' bulk pass joins them). The final volume pass in
  // the switch phase makes its own: the switch may come days later (`handover switch`), and the key should not
  // stay on old that long.
  const cinderFiles =
    has("cinder") &&
    facts.cinder !== undefined &&
    facts.cinder.volumes.length > 0 &&
    facts.cinder.backend === "file";
  const keyUsers = (glanceFiles ? 2 : 0) + (cinderFiles ? 1 : 0);
  let tempKey: string | undefined;
  if (keyUsers >= 2) {
    tempKey = list.add({
      id: "warm.temp-key",
      kind: "files.temp-key",
      title: "Temporary SSH key for the data copies: new may pull from old (removed after the last copy)",
      phase: "warm",
      hosts: ["old", "new"],
      reads: [],
      writes: [TEMP_KEY_RESOURCE],
      commands: [
        "[new] mktemp -d /tmp/handover-XXXXXXXXXX; ssh-keygen -q -t ed25519 -N '' -C handover-temp-<nonce> -f <dir>/id",
        `[new] write <dir>/known_hosts: old's host key for ${input.oldAddress}, as the jump verified it`,
        `[old] append to ${TEMP_KEY_FILE}: from="${input.stagingAddress}",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 <key> handover-temp-<nonce>`,
      ],
      after: [install],
      params: { from: "old", to: "new", removedBy: TEMP_KEY_REMOVE },
    });
  }
  const withKey: JsonObject = tempKey ? { keyStep: tempKey } : {};
  let warm: string | undefined;
  if (glanceFiles) {
    warm = list.add({
      id: "warm.glance.images",
      kind: "files.sync",
      title: "Warm copy of glance images (before the freeze)",
      phase: "warm",
      hosts: ["old", "new"],
      reads: [`old:file:${imagesDir}`],
      writes: [`new:file:${imagesDir}`],
      commands: [
        `[new] images of 256 MiB or more that new lacks: ssh -i <dir>/id root@${input.oldAddress} cat -- <file> > <file>.handover-part, then mode, mtime, rename (src/data/direct-copy.ts)`,
        `[new] rsync -a --partial -e 'ssh -i <dir>/id -o UserKnownHostsFile=<dir>/known_hosts' root@${input.oldAddress}:${imagesDir}/ ${imagesDir}/`,
      ],
      after: [install, ...(tempKey ? [tempKey] : [])],
      params: {
        from: "old",
        to: "new",
        path: imagesDir,
        pass: "warm",
        owner: catalog.services.glance.user,
        ...withKey,
      },
    });
  }

  // Cinder volumes in bulk before the freeze too: the API freeze does not stop instances writing to attached
  // volumes, so no pass before old's target stops is final anyway; the switch's final pass (after old's tgt and
  // cinder-volume stop) copies what changed and must match by sha256. Inside the freeze window the bulk copy only
  // delayed nova's and cinder's start on new (measured: the data phase was 58-91 s of the window).
  let warmVolumes: string | undefined;
  if (has("cinder") && facts.cinder && facts.cinder.volumes.length > 0) {
    if (facts.cinder.backend === "other") {
      warnings.push(
        "cinder: the volume backend is not LVM or file-backed on the controller; volume data is not copied.",
      );
    } else {
      const loc = facts.cinder.location ?? "cinder-volumes";
      warmVolumes = list.add({
        id: "warm.cinder.volumes",
        kind: "volumes.copy",
        title: `Bulk copy of ${facts.cinder.volumes.length} cinder volume(s) before the freeze (${facts.cinder.volumes.reduce((a, v) => a + v.sizeGb, 0)} GiB)`,
        phase: "warm",
        hosts: ["old", "new"],
        reads: facts.cinder.volumes.map((v) => `old:volume:${v.id}`),
        writes: facts.cinder.volumes.map((v) => `new:volume:${v.id}`),
        commands:
          facts.cinder.backend === "lvm"
            ? [
                `[new] lvcreate -L <size>G -n volume-<id> ${loc}; [old] dd if=/dev/${loc}/volume-<id> bs=4M | [new] dd of=/dev/${loc}/volume-<id> bs=4M (per volume)`,
              ]
            : [`[new] rsync -a --sparse root@${input.oldAddress}:${loc}/ ${loc}/`],
        after: [install, ...(tempKey && cinderFiles ? [tempKey] : [])],
        params: {
          backend: facts.cinder.backend,
          location: loc,
          volumes: facts.cinder.volumes.map((v) => ({ id: v.id, sizeGb: v.sizeGb })),
          pass: "bulk",
          concurrency: input.options.concurrency,
          ...(cinderFiles ? withKey : {}),
        },
      });
    }
  }

  // ------------------------------------------------------------------ old's APIs, asked before the freeze
  // The same calls as verify.<service>.api asks new later, so the report shows both side by side. They run on new
  // (its openstack client; nothing is written on old) against the address old's openrc names.
  const preApi: string[] = [];
  for (const s of START_ORDER.filter(has)) {
    if (s === "horizon" || !old.services.includes(s)) continue;
    preApi.push(
      list.add({
        id: `pre.${s}.api`,
        kind: "api.check",
        title: `${s} answers on the old controller (before the freeze, for comparison)`,
        phase: "warm",
        hosts: ["new", "old"],
        // Old's API units: once the freeze (which writes them) is done, a resume does not ask frozen APIs again.
        reads: uniqueUnits(catalog, old.os.id, [s], (u) => u.api).map((u) => `old:service:${u}`),
        commands: [`[new] ${apiCheckSummary(s, "old's OS_AUTH_URL host")}`],
        after: [install],
        params: { service: s, target: "old" },
      }),
    );
  }

  // ------------------------------------------------------------------ freeze (old controller: reversible)
  const freezeUnits = uniqueUnits(catalog, old.os.id, services, (u) => u.api).filter(
    (u) => old.units.length === 0 || old.units.some((x) => x.name === u),
  );
  const freeze = list.add({
    id: "freeze.apis",
    kind: input.options.freeze === "stop-apis" ? "freeze.stop-apis" : "freeze.haproxy-503",
    title:
      input.options.freeze === "stop-apis"
        ? "Freeze: stop the API services on the old controller (what ran is recorded for rollback)"
        : "Freeze: HAProxy answers 503 for the APIs on the old controller",
    phase: "freeze",
    hosts: ["old"],
    writes: freezeUnits.map((u) => `old:service:${u}`),
    commands:
      input.options.freeze === "stop-apis"
        ? freezeUnits.map((u) => `[old] ${serviceCommand(oldFamily, u, "stop")}`)
        : ["[old] switch the API backends to the maintenance backend (503)"],
    after: [
      ...list.idsIn("provision"),
      ...(warm ? [warm] : []),
      ...(warmVolumes ? [warmVolumes] : []),
      ...preApi,
      "pre.inventory.old",
    ],
    params: { host: "old", units: freezeUnits, mode: input.options.freeze },
  });

  // Old's other OpenStack daemons (conductor, scheduler, cinder-volume...) stop right after its APIs, beside the
  // dumps, not at the switch: with the APIs frozen they only keep writing old's databases (heartbeats, periodic
  // tasks) after the dumps were taken, and an init script may wait 30 s before it kills one (Debian's
  // start-stop-daemon --retry TERM/30/KILL/5: measured 30 s of the switch). Only the iSCSI target keeps running
  // until the switch (switch.old.stop): instances read and write their volumes through it. Rollback starts them
  // again with the APIs (freeze phase: the switch-back).
  const oldTargetUnit = has("cinder") ? distroService(catalog, old.os.id, "cinder").target_unit : undefined;
  const oldDaemonUnits = uniqueUnits(catalog, old.os.id, services, () => true).filter(
    (u) => old.units.some((x) => x.name === u && x.active) && !freezeUnits.includes(u) && u !== oldTargetUnit,
  );
  if (oldDaemonUnits.length > 0) {
    list.add({
      id: "freeze.old.daemons",
      kind: "svc.stop",
      title:
        "Stop the old controller's other OpenStack daemons (recorded for rollback; its iSCSI target stays up)",
      phase: "freeze",
      hosts: ["old"],
      writes: oldDaemonUnits.map((u) => `old:service:${u}`),
      commands: oldDaemonUnits.map((u) => `[old] ${serviceCommand(oldFamily, u, "stop")}`),
      after: [freeze],
      // Rollback starts these only once the APIs' undo has started them and they are active (not newest first):
      // Victoria's nova-conductor and nova-scheduler build a placement client at start-up, which asks keystone;
      // with keystone still stopped that is ECONNREFUSED, "CRITICAL nova Unhandled error", and the daemon exits
      // (lab: rollback said "undone" and left both down).
      undoAfter: [freeze],
      // lowPriority: on SIGTERM they spin their CPUs until their workers exit (units.ts lowerPriority).
      params: { host: "old", units: oldDaemonUnits, lowPriority: true },
    });
  }

  // ------------------------------------------------------------------ databases (dump on old | import on new)
  const imported = new Map<string, string>();
  for (const s of services) {
    for (const d of dbsOf(s)) {
      const created = dbCreated.get(s);
      imported.set(
        d,
        list.add({
          id: `db.${d}.import`,
          kind: "db.copy",
          title: `Copy database ${d} (${gib(oldDbs.get(d)?.sizeBytes ?? 0)}, ${oldDbs.get(d)?.tables ?? 0} tables)`,
          phase: "databases",
          hosts: ["old", "new"],
          reads: [`old:db:${d}`],
          writes: [`new:db:${d}`],
          commands: [
            `[old] mysqldump --defaults-extra-file=<0600 tmp> --single-transaction --routines --triggers --events --databases ${d} | [new] mysql --defaults-extra-file=<0600 tmp>`,
          ],
          after: [freeze, ...(created ? [created] : []), stopped.get(s) ?? freeze],
          params: { database: d, from: "old", to: "new", verifyRowCounts: true },
        }),
      );
    }
  }
  const nonUtf8 = oldDbs.get("glance")?.nonUtf8Tables ?? [];
  if (has("glance") && nonUtf8.length > 0 && imported.has("glance")) {
    imported.set(
      "glance",
      list.add({
        id: "db.glance.charset",
        kind: "db.convert-charset",
        title: `Convert ${nonUtf8.length} glance table(s) to utf8 (seed procedure step 4)`,
        phase: "databases",
        hosts: ["new"],
        writes: ["new:db:glance"],
        commands: nonUtf8.map(
          (t) =>
            `[new] mysql glance -e 'ALTER TABLE ${t} CONVERT TO CHARACTER SET utf8 COLLATE utf8_general_ci'`,
        ),
        after: [imported.get("glance") ?? freeze],
        params: { database: "glance", tables: [...nonUtf8], charset: "utf8", coveredBy: "db.glance.import" },
      }),
    );
  }

  // ------------------------------------------------------------------ configs (copy, then rewrite)
  const oldComputes = computesBelow(catalog, facts, source, target);
  const rewritten = new Map<ServiceName, string>();
  for (const s of services) {
    const spec = catalog.services[s];
    const files = configFilesFor(catalog, neu.os.id, s);
    const owner = distroService(catalog, neu.os.id, s).owner ?? { user: spec.user, group: spec.group };
    // Services whose config is a program rather than oslo INI (horizon) are edited in place instead of replaced.
    const copy = spec.copy_config
      ? list.add({
          id: `cfg.${s}.copy`,
          kind: "config.copy",
          title: `Copy ${spec.config_dir} from the old controller (new package files the old lacks are kept)`,
          phase: "configs",
          hosts: ["old", "new"],
          reads: [`old:file:${spec.config_dir}`],
          writes: [`new:file:${spec.config_dir}`],
          commands: [
            `[new] rsync -a --backup --suffix=.handover-orig root@${input.oldAddress}:${spec.config_dir}/ ${spec.config_dir}/`,
            `[new] chown -R ${owner.user}:${owner.group} ${spec.config_dir}`,
          ],
          after: [stopped.get(s) ?? install],
          params: { dir: spec.config_dir, owner: owner.user, group: owner.group, keepNewOnly: true },
        })
      : (stopped.get(s) ?? install);
    if (!spec.copy_config) {
      const file = `${spec.config_dir}/${files[0] ?? "local_settings"}`;
      const oldFile = `${spec.config_dir}/${configFilesFor(catalog, old.os.id, s)[0] ?? "local_settings"}`;
      const carry = spec.settings_rewrites.filter((r) => r.op === "carry-over").map((r) => r.key);
      const roleRule = spec.settings_rewrites.find((r) => r.op === "existing-role");
      const role = roleRule ? pickRole(facts.keystoneRoles, roleRule.prefer ?? []) : undefined;
      if (roleRule && !role) {
        warnings.push(
          `${s}: none of ${(roleRule.prefer ?? []).join(", ")} is a keystone role; ${roleRule.key} is left as the package sets it.`,
        );
      }
      rewritten.set(
        s,
        list.add({
          id: `cfg.${s}.rewrite`,
          kind: "config.horizon",
          title: `Edit the new ${files[0] ?? "local_settings"}: carry over ${carry.join(", ")}${role ? `; default role "${role}"` : ""}`,
          phase: "configs",
          hosts: ["old", "new"],
          reads: [`old:file:${spec.config_dir}`],
          writes: [`new:file:${spec.config_dir}`],
          commands: [
            ...carry.map((k) => `[new] ${file}: ${k} = <value from old ${oldFile}>`),
            ...(role && roleRule ? [`[new] ${file}: ${roleRule.key} = "${role}"`] : []),
          ],
          after: [copy],
          params: {
            file,
            oldFile,
            carryOver: carry,
            ...(role && roleRule ? { set: { [roleRule.key]: role } } : {}),
          },
        }),
      );
      continue;
    }
    const edits: JsonObject[] = [];
    const shown: string[] = [];
    for (const r of configRewritesFor(catalog, s, target)) {
      const file = `${spec.config_dir}/${r.file}`;
      if (r.op === "db-url") {
        edits.push({
          file,
          section: r.section,
          key: r.key,
          op: "db-url",
          database: r.database ?? "",
          host: NEW_LOCAL_ADDRESS,
        });
        shown.push(
          `[new] ${file} [${r.section}] ${r.key} = mysql+pymysql://<user>:***@${NEW_LOCAL_ADDRESS}/${r.database ?? ""}`,
        );
      } else if (r.op === "transport-url") {
        if (!old.rabbitmq) continue; // an external broker: the old URL stays valid
        edits.push({ file, section: r.section, key: r.key, op: "transport-url", host: NEW_LOCAL_ADDRESS });
        shown.push(
          `[new] ${file} [${r.section}] ${r.key} = rabbit://<user>:***@${NEW_LOCAL_ADDRESS}:5672/<vhost>`,
        );
      } else {
        edits.push({ file, section: r.section, key: r.key, op: "set", value: r.value ?? "" });
        shown.push(`[new] ${file} [${r.section}] ${r.key} = ${r.value ?? ""}`);
      }
    }
    if (s === "nova") {
      const conf = `${spec.config_dir}/nova.conf`;
      const set = (x: { section: string; key: string; value: string } | undefined, why: string): void => {
        if (!x) return;
        edits.push({ file: conf, section: x.section, key: x.key, op: "set", value: x.value, why });
        shown.push(`[new] ${conf} [${x.section}] ${x.key} = ${x.value}`);
      };
      if ((facts.nova?.computes.length ?? 0) > 0) {
        set(catalog.services.nova.rpc_pin, "computes run an older release until they are upgraded");
      }
      if (oldComputes.tooOld.length > 0)
        set(catalog.services.nova.ffu_workaround, "computes older than the target supports");
    }
    if (
      s === "cinder" &&
      input.iscsi &&
      portalHost(input.iscsi.oldPortal) !== portalHost(input.iscsi.newPortal)
    ) {
      const opt = catalog.services.cinder.target_ip_option ?? "target_ip_address";
      edits.push({
        file: `${spec.config_dir}/cinder.conf`,
        section: "*backends*",
        key: opt,
        op: "set",
        value: portalHost(input.iscsi.newPortal),
      });
      shown.push(
        `[new] ${spec.config_dir}/cinder.conf [<each enabled backend>] ${opt} = ${portalHost(input.iscsi.newPortal)}`,
      );
    }
    rewritten.set(
      s,
      list.add({
        id: `cfg.${s}.rewrite`,
        kind: "config.rewrite",
        title: `Point ${s}'s config at the new controller's database${old.rabbitmq ? " and broker" : ""}`,
        phase: "configs",
        hosts: ["new"],
        writes: [`new:file:${spec.config_dir}`],
        commands: shown,
        after: [copy, ...(dbCreated.has(s) ? [dbCreated.get(s) ?? copy] : [])],
        params: {
          service: s,
          edits,
          credentials: input.options.credentials,
          secretFile: credentialFile(s),
          diff: true,
        },
      }),
    );
  }
  if (oldComputes.tooOld.length > 0) {
    warnings.push(
      `nova: ${oldComputes.tooOld.length} compute(s) run a release older than ${target} supports ` +
        `(oldest supported: ${oldComputes.oldest ?? "?"}): ${oldComputes.tooOld.map((c) => `${c.host} (${c.release})`).join(", ")}. ` +
        `handover sets [workarounds] disable_compute_service_check_for_ffu = True and [upgrade_levels] compute = auto ` +
        `so nova-conductor and nova-api start, but instance operations on those computes may fail. Upgrade the computes ` +
        `to ${oldComputes.oldest ?? target} or later (ideally ${target}) right after the switch, then run finalize to remove the pin.`,
    );
  }
  if (oldComputes.stale.length > 0) {
    warnings.push(
      `nova: compute record(s) not heard from for over a day: ${oldComputes.stale.join(", ")}. Stale records with old ` +
        `versions keep the minimum compute version low; delete those hosts' services once you are sure they are gone.`,
    );
  }
  if (facts.cinder?.volumes.some((v) => v.status === "in-use")) {
    warnings.push(
      "cinder: in-use volumes are copied in bulk before the freeze and once more after the old iSCSI target stops at the switch; attached instances see no disk from that stop until the storage address answers on the new controller (keep it under the initiators' replacement_timeout, or pause them).",
    );
  }

  // ------------------------------------------------------------------ upgrade (each service's own tools, on new)
  const lastUpgrade = new Map<ServiceName, string>();
  const servicesPhaseRecipes = new Map<ServiceName, ReturnType<typeof recipeFor>>();
  for (const s of services) {
    const spec = catalog.services[s];
    const recipe = recipeFor(catalog, s, source, target);
    const dbs = s === "placement" && placementFromNovaApi ? ["placement"] : dbsOf(s);
    let prev: string[] = [
      rewritten.get(s) ?? freeze,
      ...dbs.map((d) => imported.get(d) ?? dbCreated.get(s) ?? freeze),
    ];
    if (s === "placement" && placementFromNovaApi) {
      const tables = spec.from_nova_api?.tables ?? [];
      prev = [
        list.add({
          id: "up.placement.from-nova-api",
          kind: "db.copy-tables",
          title: "Copy placement's tables out of nova_api (placement split in Stein)",
          phase: "upgrade",
          hosts: ["new"],
          reads: ["new:db:nova_api"],
          writes: ["new:db:placement"],
          commands: [
            `[new] mysqldump --defaults-extra-file=<0600 tmp> nova_api ${tables.join(" ")} | mysql --defaults-extra-file=<0600 tmp> placement`,
          ],
          after: [...prev, imported.get("nova_api") ?? freeze],
          params: { from: "nova_api", to: "placement", tables, coveredBy: "prov.db.placement" },
        }),
      ];
    }
    const coveredBy = dbs.map((d) => (imported.has(d) ? `db.${d}.import` : `prov.db.${s}`));
    for (const r of recipe) {
      if (r.phase !== "upgrade") continue;
      const writes = dbs.map((d) => `new:db:${d}`);
      if (r.per_cell) {
        const cells = facts.nova?.cells ?? [];
        let last = prev;
        for (const cell of cells) {
          const isCell0 = cell.uuid === CELL0_UUID;
          const argv = [
            ...r.argv.map((a) => a.replace("{cell_uuid}", cell.uuid).replace("{cell_name}", cell.name)),
            ...(isCell0 ? (r.argv_cell0_extra ?? []) : []),
          ];
          last = [
            list.add({
              id: `up.${s}.${r.id}.${cellKey(cell.name, cell.uuid)}`,
              kind: "svc.manage",
              title: r.title.replace("{cell_name}", cell.name || cell.uuid),
              phase: "upgrade",
              hosts: ["new"],
              reads: [`new:file:${spec.config_dir}`],
              writes: ["new:db:nova_api"],
              commands: [
                `[new] ${asUser(spec.user, argv)}${isCell0 && r.config_override_cell0 ? " (+ --config-file <0600 override: [database] connection = cell0 URL>)" : ""}`,
              ],
              after: last,
              params: {
                service: s,
                argv,
                user: spec.user,
                okExit: r.exit_ok,
                ...(isCell0 && r.config_override_cell0
                  ? { configOverride: { ...r.config_override_cell0 } }
                  : {}),
                coveredBy: "db.nova_api.import",
              },
            }),
          ];
        }
        if (cells.length === 0) {
          // Cells v2 is mandatory since Ocata: without mappings, db sync would not reach cell0 and the copy is
          // not a working nova. Refuse rather than guess.
          throw new UserError("PLAN_NOVA_CELLS", "nova_api on the old controller has no cell mappings.", {
            nextSteps: [
              "Check `nova-manage cell_v2 list_cells` on the old controller; map cell0 and the cell, then plan again.",
            ],
          });
        }
        prev = last;
        if (cells.filter((c) => c.uuid !== CELL0_UUID).length > 1) {
          warnings.push(
            "nova: more than one cell besides cell0; every cell mapping is pointed at this controller's nova database. Cells whose databases live elsewhere are not supported.",
          );
        }
        continue;
      }
      // nova's API sync may drop placement's old tables from nova_api: copy them out first.
      if (s === "nova" && r.id === "api-db-sync" && list.has("up.placement.from-nova-api")) {
        prev = [...prev, "up.placement.from-nova-api"];
      }
      prev = [
        list.add({
          id: `up.${s}.${r.id}`,
          kind: "svc.manage",
          title: r.title,
          phase: "upgrade",
          hosts: ["new"],
          reads: [`new:file:${spec.config_dir}`],
          writes,
          commands: [
            `[new] ${asUser(spec.user, r.argv)}${r.repeat ? ` (repeat while exit ${r.repeat.again.join("/")})` : ""}`,
          ],
          after: prev,
          params: {
            service: s,
            argv: r.argv,
            user: spec.user,
            okExit: r.exit_ok,
            ...(r.repeat ? { repeatOnExit: r.repeat.again, maxRepeats: r.repeat.max } : {}),
            // Every database the tool writes: an interrupted sync is redone from fresh copies of all of them
            // (nova's db sync writes nova and nova_cell0, not only nova_api).
            coveredBy: oneOrList(coveredBy.length > 0 ? coveredBy : [`prov.db.${s}`]),
          },
        }),
      ];
    }
    lastUpgrade.set(s, prev[prev.length - 1] ?? freeze);
    servicesPhaseRecipes.set(
      s,
      recipe.filter((r) => r.phase === "services"),
    );
  }

  // ------------------------------------------------------------------ data (after the freeze)
  const dataDone: string[] = [];
  if (glanceFiles) {
    dataDone.push(
      list.add({
        id: "data.glance.images",
        kind: "files.sync",
        title: "Delta copy of glance images, verified against glance's recorded checksums",
        phase: "data",
        hosts: ["old", "new"],
        reads: [`old:file:${imagesDir}`, "new:db:glance"],
        writes: [`new:file:${imagesDir}`],
        commands: [
          `[new] rsync -a --partial -e 'ssh -i <dir>/id -o UserKnownHostsFile=<dir>/known_hosts' root@${input.oldAddress}:${imagesDir}/ ${imagesDir}/`,
          "[new] md5sum/sha512sum of each image file, compared with glance's checksum and os_hash_value",
        ],
        after: [
          freeze,
          ...(warm ? [warm] : []),
          imported.get("glance") ?? freeze,
          ...(tempKey ? [tempKey] : []),
        ],
        params: {
          from: "old",
          to: "new",
          path: imagesDir,
          pass: "delta",
          owner: "glance",
          verifyChecksums: "glance",
          ...withKey,
        },
      }),
    );
  }
  if (tempKey) {
    const users = [
      ...dataDone.filter((d) => d === "data.glance.images"),
      ...(cinderFiles && warmVolumes ? [warmVolumes] : []),
    ];
    list.add({
      id: TEMP_KEY_REMOVE,
      kind: "files.temp-key-remove",
      title: "Remove the temporary SSH key from old and new (the last copy that uses it is done)",
      phase: "data",
      hosts: ["old", "new"],
      reads: [],
      writes: [TEMP_KEY_RESOURCE],
      commands: [
        `[old] remove the handover-temp-<nonce> line from ${TEMP_KEY_FILE}`,
        "[new] rm -rf <dir> (the key pair and known_hosts)",
      ],
      after: [tempKey, ...(warm ? [warm] : []), ...users],
      params: { from: "old", to: "new", keyStep: tempKey },
    });
  }
  if (
    input.iscsi &&
    portalHost(input.iscsi.oldPortal) !== portalHost(input.iscsi.newPortal) &&
    (has("nova") || has("cinder"))
  ) {
    const after = [lastUpgrade.get("nova"), lastUpgrade.get("cinder")].filter(
      (x): x is string => x !== undefined,
    );
    dataDone.push(
      list.add({
        id: "data.iscsi.connection-info",
        kind: "db.rewrite-connection-info",
        title: `Rewrite iSCSI target portal ${input.iscsi.oldPortal} -> ${input.iscsi.newPortal} in attached volumes' connection_info`,
        phase: "data",
        hosts: ["new"],
        reads: [],
        writes: [...(has("nova") ? ["new:db:nova"] : []), ...(has("cinder") ? ["new:db:cinder"] : [])],
        commands: [
          "[new] SELECT id, connection_info FROM nova.block_device_mapping WHERE connection_info LIKE '%target_portal%' -> edit JSON -> UPDATE ... WHERE id = ? (parameterised)",
          "[new] same for cinder.volume_attachment.connection_info",
        ],
        after: after.length > 0 ? after : [freeze],
        params: {
          oldPortal: input.iscsi.oldPortal,
          newPortal: input.iscsi.newPortal,
          tables: [
            ...(has("nova") ? ["nova.block_device_mapping"] : []),
            ...(has("cinder") ? ["cinder.volume_attachment"] : []),
          ],
          coveredBy: oneOrList([
            ...(has("nova") ? ["db.nova.import"] : []),
            ...(has("cinder") ? ["db.cinder.import"] : []),
          ]),
        },
      }),
    );
  }

  // ------------------------------------------------------------------ services (start in upstream order)
  const started = new Map<ServiceName, string[]>();
  /** Services-phase steps the switch waits for but the API checks need not: upgrade checks, online migrations. */
  const beforeSwitch: string[] = [];
  const unitStartStep = new Map<string, string>();
  const ordered = START_ORDER.filter(has);
  // Services sharing a unit (apache2/httpd) must all be ready before that unit starts.
  const sharers = new Map<string, ServiceName[]>();
  for (const s of ordered) {
    for (const u of distroService(catalog, neu.os.id, s).units)
      sharers.set(u.name, [...(sharers.get(u.name) ?? []), s]);
  }
  // New's own calls to the moved addresses (keystone URLs, endpoints, memcached in the copied configs; the
  // catalog) must reach new, not old's frozen services: a loopback alias until the switch (net.local-alias).
  const aliases = input.networks.map((n) =>
    list.add({
      id: `net.${n.name}.local`,
      kind: "net.local-alias",
      title: `New answers its own calls to ${n.address} (${n.name}) until the switch`,
      phase: "services",
      hosts: ["new"],
      writes: [`new:net:${n.address}`],
      commands: [
        "[new] sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
        `[new] ip addr add ${n.address}/${n.address.includes(":") ? 128 : 32} dev lo`,
      ],
      after: [freeze, ...preApi],
      params: { network: n.name, address: n.address },
    }),
  );
  const readyOf = (s: ServiceName): string[] => [
    lastUpgrade.get(s) ?? freeze,
    rewritten.get(s) ?? freeze,
    ...aliases,
  ];
  for (const s of ordered) {
    const spec = catalog.services[s];
    const prereq: string[] = [...readyOf(s)];
    if (s !== "keystone" && started.has("keystone")) prereq.push(...(started.get("keystone") ?? []));
    if (s === "glance") prereq.push(...dataDone.filter((d) => d === "data.glance.images"));
    if (s === "cinder" || s === "nova") prereq.push(...dataDone.filter((d) => d !== "data.glance.images"));
    const check = upgradeCheckFor(catalog, s, target);
    if (check) {
      const needs = (spec.upgrade_check?.needs_running ?? [])
        .filter(has)
        .flatMap((n) => started.get(n) ?? []);
      // Beside the service's start, not before it: new serves no one until the switch, which waits for the check
      // (a failure still stops the run there). Before the start it was ~15 s of nova's path through the window.
      beforeSwitch.push(
        list.add({
          id: `svc.${s}.upgrade-check`,
          kind: "svc.upgrade-check",
          title: `${s}-status upgrade check on the new controller (failure stops the run)`,
          phase: "services",
          hosts: ["new"],
          reads: [...dbsOf(s).map((d) => `new:db:${d}`), `new:file:${spec.config_dir}`],
          commands: [`[new] ${asUser(spec.user, check)}`],
          after: [...prereq, ...needs],
          params: {
            service: s,
            argv: check,
            user: spec.user,
            failOn: "failure",
            ...(s === "nova" && oldComputes.tooOld.length > 0 && spec.old_computes_check
              ? {
                  acknowledge: [
                    {
                      check: spec.old_computes_check,
                      why: `computes older than ${target} supports remain (${oldComputes.tooOld.map((c) => c.host).join(", ")}); the FFU workaround is set, upgrade them after the switch`,
                    },
                  ],
                }
              : {}),
          },
        }),
      );
    }
    const units = unitsInStartOrder(catalog, neu.os.id, s).filter(
      (u) => !u.optional || old.units.some((x) => x.name === u.name || x.name.endsWith(u.name)),
    );
    const ids: string[] = [];
    let prev = prereq;
    for (const u of units) {
      const existing = unitStartStep.get(u.name);
      if (existing) {
        ids.push(existing);
        continue;
      }
      const shared = (sharers.get(u.name) ?? []).filter((x) => x !== s);
      const id = list.add({
        id: `svc.${s}.start.${u.name}`,
        kind: "svc.start",
        title: `Start ${u.name}${shared.length > 0 ? ` (also serves ${shared.join(", ")})` : ""}`,
        phase: "services",
        hosts: ["new"],
        writes: [`new:service:${u.name}`],
        commands: [`[new] ${serviceCommand(family, u.name, "start")}`],
        after: [...prev, ...shared.flatMap(readyOf)],
        // An OpenStack daemon: rollback may stop it beside the others, whatever their start order (rollback.ts).
        // Not the iSCSI target below nor provisioning's infrastructure: other daemons may need those to stop.
        params: { host: "new", units: [u.name], waitActive: true, openstackDaemon: true },
      });
      unitStartStep.set(u.name, id);
      ids.push(id);
      prev = [id];
    }
    if (s === "cinder" && facts.cinder && facts.cinder.volumes.length > 0) {
      const tu = distroService(catalog, neu.os.id, "cinder").target_unit;
      if (tu && !unitStartStep.has(tu)) {
        const id = list.add({
          id: `svc.cinder.start.${tu}`,
          kind: "svc.start",
          title: `Start the iSCSI target daemon (${tu}) exporting the copied volumes`,
          phase: "services",
          hosts: ["new"],
          writes: [`new:service:${tu}`],
          commands: [`[new] ${serviceCommand(family, tu, "start")}`],
          after: prev,
          params: { host: "new", units: [tu], waitActive: true },
        });
        unitStartStep.set(tu, id);
        ids.push(id);
      }
    }
    // Online data migrations run while the services are up (upstream: they are online), beside the API checks.
    for (const r of servicesPhaseRecipes.get(s) ?? []) {
      const id = list.add({
        id: `svc.${s}.${r.id}`,
        kind: "svc.manage",
        title: r.title,
        phase: "services",
        hosts: ["new"],
        reads: [`new:file:${spec.config_dir}`],
        writes: dbsOf(s).map((d) => `new:db:${d}`),
        commands: [
          `[new] ${asUser(spec.user, r.argv)}${r.repeat ? ` (repeat while exit ${r.repeat.again.join("/")})` : ""}`,
        ],
        after: ids.length > 0 ? ids : prev,
        params: {
          service: s,
          argv: r.argv,
          user: spec.user,
          okExit: r.exit_ok,
          ...(r.repeat ? { repeatOnExit: r.repeat.again, maxRepeats: r.repeat.max } : {}),
          coveredBy: `db.${dbsOf(s)[0] ?? s}.import`,
        },
      });
      beforeSwitch.push(id);
    }
    started.set(s, ids.length > 0 ? ids : prev);
  }
  // The compute RPC pin on the computes too (issue 5), not only in new's nova.conf: an old compute that is later
  // upgraded keeps speaking the version the others understand. Only the old controller's API units are frozen, so
  // a restarted nova-compute still finds old's conductor. Counted among nova's started steps, so nova's API check,
  // the inventory and therefore every move wait for it.
  const rpcPin = (facts.nova?.computes.length ?? 0) > 0 ? catalog.services.nova.rpc_pin : undefined;
  // Computes the answers give SSH settings for that nova knows, in the answers' order; never a controller's name
  // (the session opens those as old/new, not as computes).
  const novaComputes = (facts.nova?.computes ?? []).map((c) => c.host);
  const pinned = [...new Set(input.computeHosts ?? [])].filter(
    (c) => novaComputes.includes(c) && c !== "old" && c !== "new",
  );
  if (has("nova") && rpcPin) {
    const unpinned = novaComputes.filter((c) => !pinned.includes(c));
    if (unpinned.length > 0) {
      warnings.push(
        `nova: compute(s) ${unpinned.join(", ")} are not in computes.hosts, so handover cannot pin them: set ` +
          `[${rpcPin.section}] ${rpcPin.key} = ${rpcPin.value} in their nova.conf and restart nova-compute yourself before the switch.`,
      );
    }
  }
  if (has("nova") && rpcPin && pinned.length > 0) {
    const conf = `${catalog.services.nova.config_dir}/nova.conf`;
    const on = `[${pinned.join(", ")}]`;
    started.set("nova", [
      ...(started.get("nova") ?? []),
      list.add({
        id: "svc.nova.pin-computes",
        kind: "nova.pin-computes",
        title: `Pin the compute RPC version on ${pinned.length} compute(s) (${rpcPin.key} = ${rpcPin.value}); a failing compute is reported, not fatal`,
        phase: "services",
        hosts: ["new", ...pinned],
        reads: [`new:file:${catalog.services.nova.config_dir}`],
        writes: pinned.flatMap((c) => [
          `${c}:file:${catalog.services.nova.config_dir}`,
          `${c}:service:nova-compute`,
        ]),
        commands: [
          `[new] check ${conf} has [${rpcPin.section}] ${rpcPin.key} = ${rpcPin.value}`,
          `${on} back up ${conf} to /var/backups/handover/edit${conf} (0600; an existing backup is kept)`,
          `${on} ${conf} [${rpcPin.section}] ${rpcPin.key} = ${rpcPin.value} (owner and mode kept)`,
          `${on} restart ${COMPUTE_UNITS.join(" or ")} if it exists and is running (systemctl or service), ${input.options.concurrency} compute(s) at once`,
        ],
        after: [rewritten.get("nova") ?? freeze],
        params: {
          controller: "new",
          file: conf,
          value: rpcPin.value,
          computes: pinned,
          units: [...COMPUTE_UNITS],
          concurrency: input.options.concurrency,
        },
      }),
    ]);
  }

  // ------------------------------------------------------------------ verify (new controller, read-only)
  const allStarted = [...new Set([...started.values()].flat())];
  const verifyIds: string[] = [];
  for (const s of ordered) {
    verifyIds.push(
      list.add({
        id: `verify.${s}.api`,
        kind: "api.check",
        title: `${s} answers on the new controller`,
        phase: "verify",
        // old too: the admin credentials come from old's openrc/clouds.yaml (read only).
        hosts: ["new", "old"],
        reads: [`new:service:${s}`],
        commands: [`[new] ${apiCheckSummary(s, input.stagingAddress)}`],
        after: started.get(s) ?? allStarted,
        params: {
          service: s,
          target: "new",
          address: input.stagingAddress,
          // The dashboard answers only to the names in its ALLOWED_HOSTS: ask it as clients will after the switch.
          ...(s === "horizon" && input.networks[0] ? { hostHeader: input.networks[0].address } : {}),
        },
      }),
    );
  }
  verifyIds.push(
    list.add({
      id: "verify.inventory",
      kind: "inventory.compare",
      title: "Inventory after equals inventory before (any difference stops the run)",
      phase: "verify",
      // old: only when the capture's result is gone from the journal, its databases are counted again (read-only).
      hosts: ["new", "old"],
      reads: allDbs.map((d) => `new:db:${d}`),
      // After the online migrations too: they may add rows (nova's fill_virtual_interface_list does).
      after: [...allStarted, ...beforeSwitch, ...dataDone],
      params: { host: "new", against: "pre.inventory.old", services, databases: allDbs },
    }),
  );

  // ------------------------------------------------------------------ switch (per network; reversible)
  verifyIds.push(...beforeSwitch.filter((id) => !verifyIds.includes(id)));
  let beforeFinalize = verifyIds;
  if (input.options.switch === "never") {
    warnings.push(
      "switch: never — addresses stay on the old controller; move them yourself or re-plan with switch: confirm.",
    );
  } else if (input.networks.length > 0) {
    let gate: string[] = verifyIds;
    if (input.options.switch === "confirm") {
      gate = [
        list.add({
          id: "switch.confirm",
          kind: "gate.confirm",
          title: "Confirm the switch: the new controller takes over the moved addresses",
          phase: "switch",
          hosts: [],
          after: verifyIds,
          params: {
            question: `Move ${input.networks.map((n) => n.address).join(", ")} to the new controller now?`,
            answerKey: "switch",
          },
        }),
      ];
    }
    // The old iSCSI target stops too: from here no instance writes reach the old volumes, so the final volume
    // pass below copies everything (volume writes after the bulk copy would otherwise be lost).
    const copyVolumes = warmVolumes !== undefined;
    // Old's other daemons stopped with the freeze (freeze.old.daemons, which leaves the target out).
    const oldTarget = copyVolumes ? oldTargetUnit : undefined;
    const oldUnits = (oldTarget ? [oldTarget] : []).filter(
      (u) => old.units.some((x) => x.name === u && x.active) && !freezeUnits.includes(u),
    );
    // The canary: a compute pings every moved address from before the old services stop until the moves are done,
    // so the report has the blackout as the compute saw it (net.canary-start/stop). Needs a compute to ask.
    // Only a compute the answers give SSH settings for can be asked.
    const reachable = new Set(input.computeHosts ?? []);
    const canaryHost = (facts.nova?.computes ?? []).find((c) => !c.disabled && reachable.has(c.host))?.host;
    if (!canaryHost) {
      warnings.push(
        "switch: no enabled compute host in computes.hosts to run the canary from; the switch blackout is not measured.",
      );
    }
    const canaryRes = canaryHost ? [`${canaryHost}:file:/tmp/handover-canary`] : [];
    if (canaryHost) {
      gate = [
        list.add({
          id: "switch.canary.start",
          kind: "net.canary-start",
          title: `Canary: ${canaryHost} pings ${input.networks.map((n) => n.address).join(", ")} every 10 ms through the switch`,
          phase: "switch",
          hosts: [canaryHost],
          writes: canaryRes,
          commands: input.networks.map(
            (n) =>
              `[${canaryHost}] ping ${n.address.includes(":") ? "-6 " : ""}-D -n -i 0.01 -W 1 -w 21600 ${n.address} (detached, stopped after the moves)`,
          ),
          after: gate,
          params: { compute: canaryHost, addresses: input.networks.map((n) => n.address) },
        }),
      ];
    }
    const stopOld = list.add({
      id: "switch.old.stop",
      kind: "svc.stop",
      title: "Stop what still serves on the old controller: its iSCSI target (recorded for rollback)",
      phase: "switch",
      hosts: ["old"],
      writes: oldUnits.map((u) => `old:service:${u}`),
      commands: oldUnits.map((u) => `[old] ${serviceCommand(oldFamily, u, "stop")}`),
      after: gate,
      params: { host: "old", units: oldUnits },
    });
    let beforeMoves = [stopOld];
    if (copyVolumes && facts.cinder) {
      const loc = facts.cinder.location ?? "cinder-volumes";
      beforeMoves = [
        list.add({
          id: "switch.cinder.volumes",
          kind: "volumes.copy",
          title: "Final pass over cinder volumes now that the old target no longer serves them",
          phase: "switch",
          hosts: ["old", "new"],
          reads: facts.cinder.volumes.map((v) => `old:volume:${v.id}`),
          writes: facts.cinder.volumes.map((v) => `new:volume:${v.id}`),
          commands:
            facts.cinder.backend === "lvm"
              ? [
                  `[old] dd if=/dev/${loc}/volume-<id> bs=4M | [new] dd of=/dev/${loc}/volume-<id> bs=4M (per volume, changed blocks)`,
                ]
              : [`[new] rsync -a --sparse --inplace root@${input.oldAddress}:${loc}/ ${loc}/`],
          after: [stopOld],
          params: {
            backend: facts.cinder.backend,
            location: loc,
            volumes: facts.cinder.volumes.map((v) => ({ id: v.id, sizeGb: v.sizeGb })),
            pass: "final",
            concurrency: input.options.concurrency,
          },
        }),
      ];
    }
    // Numbers of every migrated table on new just before clients can reach it: rollback reports what it would lose.
    if (allDbs.length > 0) {
      beforeMoves = [
        ...beforeMoves,
        list.add({
          id: "switch.db.snapshot",
          kind: "db.snapshot",
          title:
            "Row counts and checksums of the migrated tables on new (what a rollback would lose is measured against this)",
          phase: "switch",
          hosts: ["new"],
          reads: allDbs.map((d) => `new:db:${d}`),
          commands: allDbs.map((d) => `[new] SELECT COUNT(*) / CHECKSUM TABLE on every table of ${d}`),
          after: [stopOld],
          params: { databases: allDbs },
        }),
      ];
    }
    const moves: string[] = [];
    for (const n of input.networks) {
      moves.push(
        list.add({
          id: `net.switch.${n.name}`,
          kind: "net.move-address",
          title: `Move ${n.address}/${prefixOf(n.cidr)} (${n.name}) from old ${n.oldInterface} to new ${n.newInterface}`,
          phase: "switch",
          hosts: ["old", "new"],
          writes: [`old:net:${n.address}`, `new:net:${n.address}`],
          commands: [
            `[old] ip addr del ${n.address}/${prefixOf(n.cidr)} dev ${n.oldInterface}`,
            `[new] ip addr add ${n.address}/${prefixOf(n.cidr)} dev ${n.newInterface}`,
            `[new] arping -q -U -S ${n.address} -i ${n.newInterface} -c 3 ${n.address}`,
          ],
          after: beforeMoves,
          params: {
            network: n.name,
            address: n.address,
            prefix: prefixOf(n.cidr),
            oldInterface: n.oldInterface,
            newInterface: n.newInterface,
            gratuitousArp: true,
          },
        }),
      );
    }
    const moved = canaryHost
      ? [
          list.add({
            id: "switch.canary.stop",
            kind: "net.canary-stop",
            title: `Canary: stop the pings on ${canaryHost} and measure the blackout`,
            phase: "switch",
            hosts: [canaryHost],
            writes: canaryRes,
            commands: [`[${canaryHost}] kill the canary pings (by PID), read their logs, remove them`],
            after: moves,
            params: { compute: canaryHost },
          }),
        ]
      : moves;
    // From the computes the answers let us reach: the moved addresses now answer from new's MAC.
    const probeFrom = (facts.nova?.computes ?? [])
      .filter((c) => !c.disabled && reachable.has(c.host))
      .map((c) => c.host);
    const afterMoves = [...moved];
    if (probeFrom.length > 0) {
      afterMoves.push(
        list.add({
          id: "switch.neighbours",
          kind: "check.neighbours",
          title: `The moved addresses answer from new's MAC, as ${probeFrom.join(", ")} see${probeFrom.length === 1 ? "s" : ""} them`,
          phase: "switch",
          hosts: ["new", ...probeFrom],
          commands: probeFrom.flatMap((c) =>
            input.networks.map((n) => `[${c}] ping -c 2 ${n.address}; ip -j neigh show to ${n.address}`),
          ),
          after: moved,
          params: {
            from: probeFrom,
            targets: input.networks.map((n) => ({ address: n.address, newInterface: n.newInterface })),
          },
        }),
      );
    } else {
      warnings.push(
        "switch: no compute host in computes.hosts to check the moved addresses from; only new and old are checked.",
      );
    }
    // Heartbeats are awaited only from computes that were reporting when the facts were gathered: a compute
    // whose nova-compute was already silent would make the switch wait for something that never comes.
    const enabled = (facts.nova?.computes ?? []).filter((c) => !c.disabled);
    const alive = enabled.filter((c) => silenceMs(facts, c) <= ALIVE_BEFORE_MS);
    const silent = enabled.filter((c) => !alive.includes(c)).map((c) => c.host);
    if (silent.length > 0) {
      warnings.push(
        `nova: compute(s) ${silent.join(", ")} had not reported in the ${ALIVE_BEFORE_MS / 60_000} minutes before the facts were gathered; the switch does not wait for their heartbeat.`,
      );
    }
    beforeFinalize = afterMoves;
    if (alive.length > 0) {
      beforeFinalize = [
        list.add({
          id: "switch.verify",
          kind: "check.computes",
          title: "Computes report to the new controller after the switch",
          phase: "switch",
          hosts: ["new"],
          reads: has("nova") ? ["new:db:nova"] : [],
          after: afterMoves,
          params: { computes: alive.map((c) => c.host) },
        }),
      ];
    }
  } else {
    warnings.push("switch: no networks to move were given; the plan has no switch steps.");
  }

  // ------------------------------------------------------------------ finalize (explicit, after the switch)
  for (const s of services) {
    const spec = catalog.services[s];
    for (const r of recipeFor(catalog, s, source, target).filter((x) => x.phase === "finalize")) {
      beforeFinalize = [
        list.add({
          id: `fin.${s}.${r.id}`,
          kind: "svc.manage",
          title: r.title,
          phase: "finalize",
          hosts: ["new"],
          reads: [`new:file:${spec.config_dir}`],
          writes: dbsOf(s).map((d) => `new:db:${d}`),
          commands: [`[new] ${asUser(spec.user, r.argv)}`],
          after: beforeFinalize,
          ...(r.irreversible !== undefined ? { irreversible: r.irreversible } : {}),
          params: {
            service: s,
            argv: r.argv,
            user: spec.user,
            okExit: r.exit_ok,
            ...(r.irreversible !== undefined ? {} : { coveredBy: `db.${dbsOf(s)[0] ?? s}.import` }),
          },
        }),
      ];
    }
  }
  if (has("nova") && (facts.nova?.computes.length ?? 0) > 0) {
    const conf = `${catalog.services.nova.config_dir}/nova.conf`;
    const remove = [
      catalog.services.nova.rpc_pin,
      ...(oldComputes.tooOld.length > 0 ? [catalog.services.nova.ffu_workaround] : []),
    ].filter((x): x is { section: string; key: string; value: string } => x !== undefined);
    const unpin = list.add({
      id: "fin.nova.unpin",
      kind: "config.edit",
      title: `Remove the compute RPC pin${oldComputes.tooOld.length > 0 ? " and the FFU workaround" : ""} (only once every compute runs ${target})`,
      phase: "finalize",
      hosts: ["new"],
      reads: ["new:db:nova"],
      writes: [`new:file:${catalog.services.nova.config_dir}`],
      commands: remove.map((x) => `[new] ${conf}: remove [${x.section}] ${x.key}`),
      after: beforeFinalize,
      params: {
        file: conf,
        remove: remove.map((x) => ({ section: x.section, key: x.key })),
        requireComputesAtLeast: target,
      },
    });
    const novaUnits = unitsInStartOrder(catalog, neu.os.id, "nova")
      .map((u) => u.name)
      .filter((u) => unitStartStep.has(u));
    const restart = list.add({
      id: "fin.nova.restart",
      kind: "svc.restart",
      title: "Restart nova so it drops the pin",
      phase: "finalize",
      hosts: ["new"],
      writes: novaUnits.map((u) => `new:service:${u}`),
      commands: novaUnits.map(
        (u) => `[new] ${family === "debian" ? `service ${u} restart` : `systemctl restart ${u}`}`,
      ),
      after: [unpin],
      params: { host: "new", units: novaUnits },
    });
    // The computes' pin goes too, but only after fin.nova.unpin found every compute on the target (it refuses and
    // says the pin stays otherwise, so this never runs early). Best effort per compute, like the pin.
    if (rpcPin && pinned.length > 0) {
      const on = `[${pinned.join(", ")}]`;
      list.add({
        id: "fin.nova.unpin-computes",
        kind: "nova.unpin-computes",
        title: `Remove the compute RPC pin on ${pinned.length} compute(s) (after every compute runs ${target}); a failing compute is reported, not fatal`,
        phase: "finalize",
        hosts: pinned,
        writes: pinned.flatMap((c) => [
          `${c}:file:${catalog.services.nova.config_dir}`,
          `${c}:service:nova-compute`,
        ]),
        commands: [
          `${on} ${conf}: remove [${rpcPin.section}] ${rpcPin.key} (owner and mode kept)`,
          `${on} restart ${COMPUTE_UNITS.join(" or ")} if it exists and is running (systemctl or service), ${input.options.concurrency} compute(s) at once`,
        ],
        after: [unpin],
        params: {
          file: conf,
          computes: pinned,
          units: [...COMPUTE_UNITS],
          concurrency: input.options.concurrency,
        },
      });
    }
    const stale = (facts.nova?.controlServices ?? []).filter(
      (x) => x.host === old.hostname && old.hostname !== neu.hostname,
    );
    if (stale.length > 0) {
      list.add({
        id: "fin.nova.stale-services",
        kind: "nova.delete-services",
        title: `Delete the old controller's nova service records (${stale.map((x) => x.binary).join(", ")} on ${old.hostname})`,
        phase: "finalize",
        // old too: the admin credentials come from old's openrc/clouds.yaml (read only).
        hosts: ["new", "old"],
        writes: ["new:db:nova"],
        commands: stale.map((x) => `[new] openstack compute service delete <id of ${x.binary} on ${x.host}>`),
        after: [restart],
        irreversible: "deleted service records (and their compute nodes) cannot be restored through the API",
        params: { host: old.hostname, binaries: stale.map((x) => x.binary) },
      });
    }
  }

  return { version: 1, sourceRelease: source, targetRelease: target, steps: list.steps, warnings };
}

// ---------------------------------------------------------------------------------------------------------------
// helpers

function cellKey(name: string, uuid: string): string {
  if (uuid === CELL0_UUID) return "cell0";
  const n = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-|-$/g, "");
  return n.length > 0 ? n : uuid;
}

function unitsInStartOrder(c: Catalog, distro: string, s: ServiceName): Unit[] {
  const units = distroService(c, distro, s).units;
  const order = c.services[s].start_order;
  if (!order) return [...units];
  return [...units].sort((a, b) => order.indexOf(a.start) - order.indexOf(b.start));
}

function uniqueUnits(
  c: Catalog,
  distro: string,
  services: readonly ServiceName[],
  keep: (u: Unit) => boolean,
): string[] {
  return [
    ...new Set(
      services.flatMap((s) =>
        distroService(c, distro, s)
          .units.filter(keep)
          .map((u) => u.name),
      ),
    ),
  ];
}

function activeUnits(
  c: Catalog,
  distro: string,
  services: readonly ServiceName[],
  found: readonly { name: string; active: boolean }[],
): string[] {
  return uniqueUnits(c, distro, services, () => true).filter((u) =>
    found.some((f) => f.name === u && f.active),
  );
}

function pickRole(roles: readonly string[] | undefined, prefer: readonly string[]): string | undefined {
  if (!roles) return undefined;
  return prefer.find((p) => roles.includes(p));
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes >= 10 * 1024 ** 3 ? 0 : 1)} GiB`;
}

interface DiskNeed {
  path: string;
  bytes: number;
  why: string;
}

function diskRequirements(
  facts: Facts,
  services: readonly ServiceName[],
  dbs: readonly string[],
): DiskNeed[] {
  const sizes = new Map(facts.controllers.old.databases.map((d) => [d.name, d.sizeBytes]));
  const dbBytes = dbs.reduce((a, d) => a + (sizes.get(d) ?? 0), 0);
  // Imported InnoDB data plus the schema migrations' table copies: twice the old size is the rule of thumb.
  const needs: DiskNeed[] = [
    { path: "/var/lib/mysql", bytes: Math.ceil(dbBytes * 2), why: "imported databases and migration copies" },
  ];
  if (services.includes("glance") && facts.glance?.store === "file") {
    needs.push({
      path: facts.glance.imagesDir ?? "/var/lib/glance/images",
      bytes: facts.glance.totalBytes,
      why: "glance images",
    });
  }
  if (services.includes("cinder") && facts.cinder?.backend === "file" && facts.cinder.location) {
    needs.push({
      path: facts.cinder.location,
      bytes: facts.cinder.volumes.reduce((a, v) => a + v.sizeGb * 1024 ** 3, 0),
      why: "file-backed cinder volumes",
    });
  }
  return needs;
}

/**
 * How long a compute had been silent when the facts were gathered: Infinity when it never reported, NaN when the
 * collection time is unreadable (so it counts as neither stale nor alive).
 */
function silenceMs(facts: Facts, c: { readonly lastSeen: string | null }): number {
  return c.lastSeen === null
    ? Number.POSITIVE_INFINITY
    : Date.parse(facts.collectedAt) - Date.parse(c.lastSeen);
}

interface ComputeAssessment {
  oldest?: string;
  tooOld: { host: string; release: string }[];
  stale: string[];
}

/** Computes below the target's oldest supported compute release, and stale compute records. */
function computesBelow(c: Catalog, facts: Facts, source: string, target: string): ComputeAssessment {
  const oldest = oldestCompute(c, target);
  const computes = facts.nova?.computes ?? [];
  const tooOld = oldest
    ? computes
        .map((x) => ({ host: x.host, release: x.release ?? source }))
        .filter((x) => compareReleases(c, x.release, oldest) < 0)
    : [];
  const stale = computes.filter((x) => silenceMs(facts, x) > STALE_AFTER_MS).map((x) => x.host);
  return { ...(oldest ? { oldest } : {}), tooOld, stale };
}

/** `params.coveredBy`: one step id, or the distinct ids when a step changes several databases. */
function oneOrList(ids: readonly string[]): string | string[] {
  const distinct = [...new Set(ids)];
  return distinct.length === 1 ? distinct[0]! : distinct;
}
