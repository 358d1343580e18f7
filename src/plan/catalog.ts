/**
 * The release catalog: templates/releases.yaml and templates/distros.yaml, validated with zod, plus the questions
 * the planner asks of it (which releases a hop crosses, whether a jump is safe, which sync recipe applies).
 *
 * This module never reads files (src/plan imports no fs): callers hand it the YAML text, e.g.
 * `loadCatalog((name) => readFileSync(join(templatesDir, name), "utf8"))`.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { BugError, UserError } from "../lib/errors.js";

// ---------------------------------------------------------------------------------------------------------------
// Schema (snake_case, as written in the YAML)

export const SERVICE_NAMES = [
  "keystone",
  "glance",
  "placement",
  "nova",
  "neutron",
  "cinder",
  "horizon",
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
const serviceName = z.enum(SERVICE_NAMES);

const releaseName = z.string().regex(/^[a-z0-9.]+$/, "release names are lowercase codenames or YYYY.N");
const dateString = z
  .union([z.string(), z.date()])
  .transform((d) => (d instanceof Date ? d.toISOString().slice(0, 10) : d));

const releaseSchema = z.strictObject({
  name: releaseName,
  codename: z.string().regex(/^[a-z]+$/),
  date: dateString,
  slurp: z.boolean(),
  target: z.boolean(),
  versions: z.partialRecord(serviceName, z.number().int().positive()),
  availability: z.array(
    z.strictObject({
      family: z.enum(["debian", "rhel"]),
      distro: z.string(),
      suite: z.string(),
      source: z.enum(["main", "uca", "osbpo", "rdo"]),
    }),
  ),
});

const argv = z.array(z.string().min(1)).min(1);

const recipeStepSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string(),
  argv,
  phase: z.enum(["upgrade", "services", "finalize"]).default("upgrade"),
  since: releaseName.optional(),
  until: releaseName.optional(),
  source_before: releaseName.optional(),
  exit_ok: z.array(z.number().int()).default([0]),
  repeat: z
    .strictObject({ again: z.array(z.number().int()).min(1), max: z.number().int().positive() })
    .optional(),
  per_cell: z.boolean().default(false),
  config_override_cell0: z.record(z.string(), z.string()).optional(),
  /** Extra argv for cell0 only (no secrets: those go in config_override_cell0). */
  argv_cell0_extra: z.array(z.string()).optional(),
  irreversible: z.string().optional(),
});

const rangeFields = { since: releaseName.optional(), until: releaseName.optional() };

const configRewriteSchema = z.strictObject({
  file: z.string(),
  section: z.string(),
  key: z.string(),
  op: z.enum(["db-url", "transport-url", "set"]),
  database: z.string().optional(),
  value: z.string().optional(),
  ...rangeFields,
});

const minSourceSchema = z.strictObject({
  since: releaseName,
  until: releaseName.optional(),
  source: releaseName,
  ref: z.string(),
});

const blockerSchema = z.strictObject({
  id: z.string(),
  source_before: releaseName,
  target_at_least: releaseName.optional(),
  reason: z.string(),
  ref: z.string(),
  next_steps: z.array(z.string()).default([]),
});

const dataCheckSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  database: z.string(),
  sql: z.string().regex(/^SELECT /, "data checks are read-only SELECTs"),
  crosses: releaseName.optional(),
  always: z.boolean().default(false),
  severity: z.enum(["error", "warning"]),
  message: z.string(),
  next_steps: z.array(z.string()).default([]),
});

const iniSetting = z.strictObject({ section: z.string(), key: z.string(), value: z.string() });

const serviceSchema = z.strictObject({
  user: z.string(),
  group: z.string(),
  config_dir: z.string().startsWith("/"),
  config_files: z.array(z.string()).min(1),
  databases: z.array(z.string().regex(/^[a-z0-9_]+$/)),
  since: releaseName,
  upgrade_check: z
    .strictObject({ argv, since: releaseName, needs_running: z.array(serviceName).default([]) })
    .optional(),
  config_rewrites: z.array(configRewriteSchema).default([]),
  /** false: the new package's config is edited in place (settings_rewrites) instead of replaced by the old one. */
  copy_config: z.boolean().default(true),
  settings_rewrites: z
    .array(
      z.strictObject({
        key: z.string().regex(/^[A-Z_]+$/),
        op: z.enum(["carry-over", "existing-role"]),
        prefer: z.array(z.string()).optional(),
      }),
    )
    .default([]),
  images_dir: z.string().optional(),
  min_source: z.array(minSourceSchema).default([]),
  blockers: z.array(blockerSchema).default([]),
  data_checks: z.array(dataCheckSchema).default([]),
  recipes: z.array(recipeStepSchema),
  charset_fix: z.strictObject({ when: z.literal("non-utf8-tables") }).optional(),
  from_nova_api: z.strictObject({ tables: z.array(z.string()).min(1), stamp: z.string() }).optional(),
  oldest_compute: z.record(releaseName, releaseName).optional(),
  ffu_workaround: iniSetting.optional(),
  /** The upgrade check (by title) that fails while computes older than oldest_compute remain: acknowledged,
   * with the plan's warning, when the planner sets ffu_workaround. */
  old_computes_check: z.string().optional(),
  rpc_pin: iniSetting.optional(),
  target_ip_option: z.string().optional(),
  start_order: z.array(z.string()).optional(),
  notes: z.array(z.string()).default([]),
});

const releasesFileSchema = z.strictObject({
  schema: z.literal(1),
  releases: z.array(releaseSchema).min(2),
  services: z.record(serviceName, serviceSchema),
  crossings: z.array(z.strictObject({ release: releaseName, note: z.string() })).default([]),
});

const unitSchema = z.strictObject({
  name: z.string(),
  start: z.string(),
  api: z.boolean().default(false),
  optional: z.boolean().default(false),
});

const distroServiceSchema = z.strictObject({
  packages: z.array(z.string()).min(1),
  optional_packages: z.array(z.string()).default([]),
  units: z.array(unitSchema),
  config_files: z.array(z.string()).optional(),
  owner: z.strictObject({ user: z.string(), group: z.string() }).optional(),
  target_unit: z.string().optional(),
});

const infraSchema = z.strictObject({
  packages: z.array(z.string()).min(1),
  unit: z.string(),
  config_dir: z.string().optional(),
});

const familySchema = z.strictObject({
  distros: z.array(z.string()).min(1),
  package_manager: z.enum(["apt", "dnf"]),
  prevent_start: z.strictObject({ file: z.string(), content: z.string(), mode: z.string() }).optional(),
  apt_source_file: z.string().optional(),
  repo_file: z.string().optional(),
  debconf: z.array(z.string()).default([]),
  mariadb: infraSchema,
  rabbitmq: infraSchema,
  memcached: infraSchema,
  tools: z.array(z.string()),
  services: z.record(serviceName, distroServiceSchema),
  variants: z
    .record(z.string(), z.strictObject({ services: z.partialRecord(serviceName, distroServiceSchema) }))
    .default({}),
});

const distrosFileSchema = z.strictObject({
  schema: z.literal(1),
  families: z.strictObject({ debian: familySchema, rhel: familySchema }),
});

export type Release = z.infer<typeof releaseSchema>;
export type RecipeStep = z.infer<typeof recipeStepSchema>;
export type ServiceSpec = z.infer<typeof serviceSchema>;
export type DataCheck = z.infer<typeof dataCheckSchema>;
export type Blocker = z.infer<typeof blockerSchema>;
export type ConfigRewrite = z.infer<typeof configRewriteSchema>;
export type FamilySpec = z.infer<typeof familySchema>;
export type DistroService = z.infer<typeof distroServiceSchema>;
export type Unit = z.infer<typeof unitSchema>;
export type Family = "debian" | "rhel";

export interface Catalog {
  readonly releases: readonly Release[];
  readonly services: Readonly<Record<ServiceName, ServiceSpec>>;
  readonly crossings: readonly { release: string; note: string }[];
  readonly families: Readonly<Record<Family, FamilySpec>>;
}

export type CatalogFile = "releases.yaml" | "distros.yaml";

// ---------------------------------------------------------------------------------------------------------------
// Loading

/** Loads both catalog files through `read` (which returns a file's text) and validates them together. */
export function loadCatalog(read: (name: CatalogFile) => string): Catalog {
  return parseCatalog(read("releases.yaml"), read("distros.yaml"));
}

export function parseCatalog(releasesYaml: string, distrosYaml: string): Catalog {
  const rel = validate("releases.yaml", releasesFileSchema, releasesYaml);
  const dis = validate("distros.yaml", distrosFileSchema, distrosYaml);
  const services = rel.services as Partial<Record<ServiceName, ServiceSpec>>;
  for (const s of SERVICE_NAMES) {
    if (!services[s]) badCatalog("releases.yaml", `services.${s}`, "missing service");
  }
  const catalog: Catalog = {
    releases: rel.releases,
    services: services as Record<ServiceName, ServiceSpec>,
    crossings: rel.crossings,
    families: dis.families,
  };
  checkConsistency(catalog);
  return catalog;
}

function validate<T>(file: CatalogFile, schema: z.ZodType<T>, text: string): T {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new UserError("CATALOG_INVALID", `templates/${file} is not valid YAML: ${(e as Error).message}`, {
      nextSteps: [`Fix templates/${file}; it ships with handover, so reinstall if you did not edit it.`],
      cause: e,
    });
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const lines = result.error.issues
      .slice(0, 10)
      .map((i) => `  ${i.path.map(String).join(".") || "(top)"}: ${i.message}`);
    throw new UserError(
      "CATALOG_INVALID",
      `templates/${file} does not match the catalog schema:\n${lines.join("\n")}`,
      {
        nextSteps: [
          `Fix templates/${file} at the paths above; it ships with handover, so reinstall if you did not edit it.`,
        ],
      },
    );
  }
  return result.data;
}

function badCatalog(file: CatalogFile, path: string, message: string): never {
  throw new UserError("CATALOG_INVALID", `templates/${file} is inconsistent at ${path}: ${message}`, {
    nextSteps: [`Fix templates/${file}; it ships with handover, so reinstall if you did not edit it.`],
  });
}

/** Cross-field rules zod cannot express: every release named exists, names are unique, dates ascend. */
function checkConsistency(c: Catalog): void {
  const names = new Set<string>();
  c.releases.forEach((r, i) => {
    if (names.has(r.name) || names.has(r.codename))
      badCatalog("releases.yaml", `releases.${i}`, `duplicate ${r.name}`);
    names.add(r.name);
    if (r.codename !== r.name) names.add(r.codename);
    const prev = c.releases[i - 1];
    if (prev && prev.date >= r.date)
      badCatalog("releases.yaml", `releases.${i}.date`, "releases must be in date order");
  });
  const known = (path: string, name: string | undefined): void => {
    if (name !== undefined && !c.releases.some((r) => r.name === name)) {
      badCatalog("releases.yaml", path, `unknown release "${name}"`);
    }
  };
  for (const [s, spec] of Object.entries(c.services)) {
    const p = `services.${s}`;
    known(`${p}.since`, spec.since);
    known(`${p}.upgrade_check.since`, spec.upgrade_check?.since);
    spec.recipes.forEach((r, i) => {
      known(`${p}.recipes.${i}.since`, r.since);
      known(`${p}.recipes.${i}.until`, r.until);
      known(`${p}.recipes.${i}.source_before`, r.source_before);
      if (r.irreversible !== undefined && r.phase !== "finalize") {
        // Points of no return wait for the operator's explicit finalize, after the switch.
        badCatalog(
          "releases.yaml",
          `${p}.recipes.${i}`,
          "an irreversible step belongs in the finalize phase",
        );
      }
      if (r.phase === "finalize" && r.irreversible === undefined && r.id !== "check-final") {
        // Finalize exists for what cannot be undone; anything else belongs earlier.
        badCatalog("releases.yaml", `${p}.recipes.${i}`, "a finalize step must say why it is irreversible");
      }
    });
    const ids = spec.recipes.map((r) => r.id);
    if (new Set(ids).size !== ids.length) badCatalog("releases.yaml", `${p}.recipes`, "duplicate recipe ids");
    spec.min_source.forEach((m, i) => {
      known(`${p}.min_source.${i}.since`, m.since);
      known(`${p}.min_source.${i}.until`, m.until);
      known(`${p}.min_source.${i}.source`, m.source);
    });
    spec.blockers.forEach((b, i) => {
      known(`${p}.blockers.${i}.source_before`, b.source_before);
      known(`${p}.blockers.${i}.target_at_least`, b.target_at_least);
    });
    spec.data_checks.forEach((d, i) => known(`${p}.data_checks.${i}.crosses`, d.crosses));
    for (const [t, o] of Object.entries(spec.oldest_compute ?? {})) {
      known(`${p}.oldest_compute.${t}`, t);
      known(`${p}.oldest_compute.${t}`, o);
    }
    spec.config_rewrites.forEach((r, i) => {
      known(`${p}.config_rewrites.${i}.since`, r.since);
      known(`${p}.config_rewrites.${i}.until`, r.until);
      if (r.op === "db-url" && (r.database === undefined || !spec.databases.includes(r.database))) {
        badCatalog(
          "releases.yaml",
          `${p}.config_rewrites.${i}`,
          "db-url rewrite must name one of the service's databases",
        );
      }
    });
  }
  c.crossings.forEach((x, i) => known(`crossings.${i}.release`, x.release));
  for (const fam of ["debian", "rhel"] as const) {
    const f = c.families[fam];
    for (const s of SERVICE_NAMES) {
      if (!f.services[s]) badCatalog("distros.yaml", `families.${fam}.services.${s}`, "missing service");
      const order = c.services[s].start_order;
      for (const u of f.services[s]?.units ?? []) {
        if (order && !order.includes(u.start)) {
          badCatalog(
            "distros.yaml",
            `families.${fam}.services.${s}.units.${u.name}`,
            `start "${u.start}" not in ${s}.start_order`,
          );
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Releases

/** The canonical release for a name or codename; a UserError naming the known ones otherwise. */
export function resolveRelease(c: Catalog, name: string): Release {
  const n = name.trim().toLowerCase();
  const r = c.releases.find((x) => x.name === n || x.codename === n);
  if (!r) {
    throw new UserError("RELEASE_UNKNOWN", `Unknown OpenStack release "${name}".`, {
      nextSteps: [`Use one of: ${c.releases.map((x) => x.name).join(", ")}.`],
    });
  }
  return r;
}

export function releaseIndex(c: Catalog, name: string): number {
  return c.releases.indexOf(resolveRelease(c, name));
}

/** -1, 0, 1 as release a is older than, the same as, or newer than release b. */
export function compareReleases(c: Catalog, a: string, b: string): number {
  return Math.sign(releaseIndex(c, a) - releaseIndex(c, b));
}

/** The releases a hop passes through: after `source`, up to and including `target` (empty when not newer). */
export function releasesBetween(c: Catalog, source: string, target: string): Release[] {
  return c.releases.slice(releaseIndex(c, source) + 1, releaseIndex(c, target) + 1);
}

function inRange(c: Catalog, release: string, since?: string, until?: string): boolean {
  if (since !== undefined && compareReleases(c, release, since) < 0) return false;
  if (until !== undefined && compareReleases(c, release, until) > 0) return false;
  return true;
}

/** Detects a release from installed major package versions (e.g. {nova: "2:22.0.0-2"}). Majors must agree. */
export function detectRelease(
  c: Catalog,
  versions: Readonly<Partial<Record<ServiceName, string>>>,
): string | undefined {
  const votes = new Set<string>();
  for (const [svc, v] of Object.entries(versions) as [ServiceName, string][]) {
    const major = majorOf(v);
    if (major === undefined) continue;
    const r = c.releases.find((x) => x.versions[svc] === major);
    if (r) votes.add(r.name);
  }
  return votes.size === 1 ? [...votes][0] : undefined;
}

/** "2:22.0.0-2+deb11u1" -> 22; "26.2.2-1~deb12u5" -> 26. */
export function majorOf(version: string): number | undefined {
  const m = /^(?:\d+:)?(\d+)\./.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Jump safety

export interface JumpReason {
  readonly code: string;
  readonly service?: ServiceName;
  readonly message: string;
  readonly ref?: string;
  readonly nextSteps: readonly string[];
}

export interface JumpAssessment {
  /** True when at least one reason forbids the jump. */
  readonly unsafe: boolean;
  readonly reasons: readonly JumpReason[];
  /** Allowed but worth saying (untested skip-level hop, crossings). */
  readonly warnings: readonly string[];
  /** Whether upstream tests this hop (adjacent releases, or SLURP to next SLURP). */
  readonly tested: boolean;
}

/**
 * Decides whether upgrading `services` from `source` to `target` by replacing the controller is safe per the
 * catalog. Pure: data checks that need the database are answered by `dataCheckResults` (check id -> offending
 * row count) when discovery has run them; unanswered checks become preflight steps instead.
 */
export function isUnsafeJump(
  c: Catalog,
  source: string,
  target: string,
  services: readonly ServiceName[],
  dataCheckResults: Readonly<Record<string, number>> = {},
): JumpAssessment {
  const reasons: JumpReason[] = [];
  const warnings: string[] = [];
  const src = resolveRelease(c, source);
  const tgt = resolveRelease(c, target);
  const si = c.releases.indexOf(src);
  const ti = c.releases.indexOf(tgt);
  if (ti <= si) {
    reasons.push({
      code: ti === si ? "SAME_RELEASE" : "DOWNGRADE",
      message: `${tgt.name} is ${ti === si ? "the same release as" : "older than"} ${src.name}; handover only upgrades.`,
      nextSteps: ["Choose a target release newer than the source."],
    });
    return { unsafe: true, reasons, warnings, tested: false };
  }
  if (!tgt.target) {
    reasons.push({
      code: "TARGET_UNSUPPORTED",
      message: `${tgt.name} is known only as a source release; the catalog carries no upgrade recipes to it.`,
      nextSteps: [
        `Choose a target among: ${c.releases
          .filter((r) => r.target)
          .map((r) => r.name)
          .join(", ")}.`,
      ],
    });
  }
  const tested =
    ti === si + 1 || (src.slurp && tgt.slurp && c.releases.slice(si + 1, ti).every((r) => !r.slurp));
  if (!tested) {
    warnings.push(
      `${src.name} -> ${tgt.name} skips ${ti - si - 1} release(s) (${c.releases
        .slice(si + 1, ti)
        .map((r) => r.name)
        .join(", ")}); upstream does not test this jump. Rehearse it on a copy of the production databases.`,
    );
  }
  for (const x of c.crossings) {
    if (inRange(c, x.release, c.releases[si + 1]?.name, tgt.name))
      warnings.push(`Crossing ${x.release}: ${x.note}`);
  }
  for (const s of services) {
    const spec = c.services[s];
    if (compareReleases(c, tgt.name, spec.since) < 0) {
      reasons.push({
        code: "SERVICE_NOT_IN_TARGET",
        service: s,
        message: `${s} does not exist as its own service in ${tgt.name} (from ${spec.since}).`,
        nextSteps: [`Remove ${s} from the services, or choose a target of ${spec.since} or later.`],
      });
      continue;
    }
    const online = recipeFor(c, s, src.name, tgt.name).find((r) => r.id === "online-data-migrations");
    if (online && !tested) {
      // Nobody runs the skipped releases' code, so their online data migrations only happen if the target still
      // carries them. Upstream requires the source's own to be complete before any upgrade.
      warnings.push(
        `${s}: the skipped releases' online data migrations are not run; ${tgt.name}'s own (run on the new controller) ` +
          `cover those it still carries. Before the freeze, make sure \`${online.argv.join(" ")}\` exits 0 on the old controller.`,
      );
    }
    const min = spec.min_source.find((m) => inRange(c, tgt.name, m.since, m.until));
    if (min && compareReleases(c, src.name, min.source) < 0) {
      reasons.push({
        code: "SOURCE_TOO_OLD",
        service: s,
        message: `${s}: ${tgt.name}'s database migrations do not accept a schema older than ${min.source}; the source is ${src.name}.`,
        ref: min.ref,
        nextSteps: [
          `Upgrade ${s} to ${min.source} or later first (or choose an earlier target), then plan again.`,
        ],
      });
    }
    for (const b of spec.blockers) {
      if (compareReleases(c, src.name, b.source_before) >= 0) continue;
      if (b.target_at_least !== undefined && compareReleases(c, tgt.name, b.target_at_least) < 0) continue;
      reasons.push({
        code: "BLOCKER",
        service: s,
        message: `${s} (${b.id}): ${b.reason}`,
        ref: b.ref,
        nextSteps: b.next_steps,
      });
    }
    for (const d of dataChecksFor(c, s, src.name, tgt.name)) {
      const count = dataCheckResults[d.id];
      if (count === undefined || count === 0) continue;
      if (d.severity === "error") {
        reasons.push({
          code: "DATA_CHECK",
          service: s,
          message: `${s}: ${d.message} (${count} row(s) found by: ${d.sql}).`,
          nextSteps: d.next_steps,
        });
      } else {
        warnings.push(`${s}: ${d.message} (${count} row(s)).`);
      }
    }
  }
  return { unsafe: reasons.length > 0, reasons, warnings, tested };
}

/** Throws a UserError naming every reason when the jump is unsafe; returns the assessment otherwise. */
export function assertSafeJump(
  c: Catalog,
  source: string,
  target: string,
  services: readonly ServiceName[],
  dataCheckResults?: Readonly<Record<string, number>>,
): JumpAssessment {
  const a = isUnsafeJump(c, source, target, services, dataCheckResults);
  if (a.unsafe) {
    const lines = a.reasons.map((r) => `- ${r.message}${r.ref ? ` [source: ${r.ref}]` : ""}`);
    throw new UserError("UNSAFE_JUMP", `Refusing to plan ${source} -> ${target}:\n${lines.join("\n")}`, {
      nextSteps: [...new Set(a.reasons.flatMap((r) => r.nextSteps))],
    });
  }
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Recipes and per-hop data

/** The recipe steps that apply to `service` for the hop source -> target, in catalog order. */
export function recipeFor(c: Catalog, service: ServiceName, source: string, target: string): RecipeStep[] {
  return c.services[service].recipes.filter(
    (r) =>
      inRange(c, target, r.since, r.until) &&
      (r.source_before === undefined || compareReleases(c, source, r.source_before) < 0),
  );
}

/** Data checks to run (read-only, on the old databases) for the hop: `always` ones and those the hop crosses. */
export function dataChecksFor(c: Catalog, service: ServiceName, source: string, target: string): DataCheck[] {
  return c.services[service].data_checks.filter(
    (d) =>
      d.always ||
      (d.crosses !== undefined &&
        compareReleases(c, source, d.crosses) < 0 &&
        compareReleases(c, target, d.crosses) >= 0),
  );
}

/** The `<svc>-status upgrade check` argv if `release` has one. */
export function upgradeCheckFor(c: Catalog, service: ServiceName, release: string): string[] | undefined {
  const u = c.services[service].upgrade_check;
  return u && compareReleases(c, release, u.since) >= 0 ? [...u.argv] : undefined;
}

export function configRewritesFor(c: Catalog, service: ServiceName, target: string): ConfigRewrite[] {
  return c.services[service].config_rewrites.filter((r) => inRange(c, target, r.since, r.until));
}

/** The oldest nova-compute release the target's control services accept, or undefined when it does not check. */
export function oldestCompute(c: Catalog, target: string): string | undefined {
  return c.services.nova.oldest_compute?.[resolveRelease(c, target).name];
}

// ---------------------------------------------------------------------------------------------------------------
// Distros

/** The family a distro id (from /etc/os-release ID) belongs to. */
export function familyOf(c: Catalog, distro: string): Family {
  for (const fam of ["debian", "rhel"] as const) {
    if (c.families[fam].distros.includes(distro)) return fam;
  }
  throw new UserError(
    "DISTRO_UNSUPPORTED",
    `The distribution "${distro}" is not in templates/distros.yaml.`,
    {
      nextSteps: [`Use one of: ${[...c.families.debian.distros, ...c.families.rhel.distros].join(", ")}.`],
    },
  );
}

/** Packages, units and config files of `service` on `distro`, with the distro's variant applied. */
export function distroService(c: Catalog, distro: string, service: ServiceName): DistroService {
  const fam = c.families[familyOf(c, distro)];
  const s = fam.variants[distro]?.services[service] ?? fam.services[service];
  if (!s) throw new BugError(`catalog validated without ${service} in ${distro}`);
  return s;
}

/** Config files to copy for `service` on `distro` (distro override, else the service's). */
export function configFilesFor(c: Catalog, distro: string, service: ServiceName): string[] {
  return distroService(c, distro, service).config_files ?? c.services[service].config_files;
}

/**
 * Maps installed packages (name -> version, as discovery lists them) to per-service versions: any package the
 * catalog names for the service in any family, plus the usual `<svc>-common` / `python3-<svc>` /
 * `openstack-<svc>-common` libraries. Horizon is skipped (its majors do not identify a release).
 */
export function serviceVersionsFromPackages(
  c: Catalog,
  packages: Readonly<Record<string, string>>,
): Partial<Record<ServiceName, string>> {
  const out: Partial<Record<ServiceName, string>> = {};
  for (const s of SERVICE_NAMES) {
    if (s === "horizon") continue;
    const names = new Set<string>([`${s}-common`, `python3-${s}`, `openstack-${s}-common`, s]);
    for (const fam of Object.values(c.families)) {
      for (const d of [fam.services[s], ...Object.values(fam.variants).map((v) => v.services[s])]) {
        for (const p of [...(d?.packages ?? []), ...(d?.optional_packages ?? [])]) names.add(p);
      }
    }
    const hit = [...names].sort().find((n) => packages[n] !== undefined);
    if (hit !== undefined) out[s] = packages[hit];
  }
  return out;
}

/** The release installed packages belong to, when every recognised service agrees; undefined otherwise. */
export function detectReleaseFromPackages(
  c: Catalog,
  packages: Readonly<Record<string, string>>,
): string | undefined {
  return detectRelease(c, serviceVersionsFromPackages(c, packages));
}
