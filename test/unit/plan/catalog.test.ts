import { describe, expect, it } from "vitest";
import {
  SERVICE_NAMES,
  assertSafeJump,
  compareReleases,
  detectRelease,
  detectReleaseFromPackages,
  distroService,
  isUnsafeJump,
  majorOf,
  oldestCompute,
  parseCatalog,
  recipeFor,
  releasesBetween,
  resolveRelease,
  upgradeCheckFor,
} from "../../../src/plan/catalog.js";
import { UserError } from "../../../src/lib/errors.js";
import { labFacts } from "./fixtures/lab-facts.js";
import { readTemplate, shippedCatalog } from "./helpers.js";

const catalog = shippedCatalog();
const ALL = [...SERVICE_NAMES];

describe("the shipped catalog", () => {
  it("lists queens..2025.1 as targets, in release order with ascending dates", () => {
    const targets = catalog.releases.filter((r) => r.target).map((r) => r.name);
    expect(targets[0]).toBe("queens");
    expect(targets[targets.length - 1]).toBe("2025.1");
    expect(targets).toEqual([
      "queens",
      "rocky",
      "stein",
      "train",
      "ussuri",
      "victoria",
      "wallaby",
      "xena",
      "yoga",
      "zed",
      "2023.1",
      "2023.2",
      "2024.1",
      "2024.2",
      "2025.1",
    ]);
    const dates = catalog.releases.map((r) => r.date);
    expect([...dates].sort()).toEqual(dates);
  });

  it("marks exactly 2023.1, 2024.1 and 2025.1 as SLURP", () => {
    expect(catalog.releases.filter((r) => r.slurp).map((r) => r.name)).toEqual([
      "2023.1",
      "2024.1",
      "2025.1",
    ]);
  });

  it("has strictly increasing package majors per service, so detection is unambiguous", () => {
    for (const s of SERVICE_NAMES) {
      const majors = catalog.releases.map((r) => r.versions[s]).filter((v): v is number => v !== undefined);
      for (let i = 1; i < majors.length; i++) expect(majors[i]!).toBeGreaterThan(majors[i - 1]!);
    }
  });

  it("gives every service with databases an upgrade recipe for each target release it exists in", () => {
    for (const r of catalog.releases.filter((x) => x.target)) {
      for (const s of SERVICE_NAMES) {
        const spec = catalog.services[s];
        if (spec.databases.length === 0 || compareReleases(catalog, r.name, spec.since) < 0) continue;
        const prev = catalog.releases[catalog.releases.indexOf(r) - 1]!;
        const steps = recipeFor(catalog, s, prev.name, r.name).filter((x) => x.phase === "upgrade");
        expect(steps.length, `${s} -> ${r.name}`).toBeGreaterThan(0);
      }
    }
  });

  it("has distro packages and units for every service in both families and the ubuntu variant", () => {
    for (const distro of ["debian", "ubuntu", "centos"]) {
      for (const s of SERVICE_NAMES) {
        const d = distroService(catalog, distro, s);
        expect(d.packages.length, `${distro} ${s}`).toBeGreaterThan(0);
        expect(d.units.length, `${distro} ${s}`).toBeGreaterThan(0);
      }
    }
    expect(distroService(catalog, "centos", "nova").packages).toContain("openstack-nova-api");
    expect(distroService(catalog, "debian", "nova").packages).toContain("nova-api");
    expect(distroService(catalog, "ubuntu", "keystone").units.map((u) => u.name)).toEqual(["apache2"]);
  });

  it("has upgrade checks only from stein on", () => {
    expect(upgradeCheckFor(catalog, "nova", "rocky")).toBeUndefined();
    expect(upgradeCheckFor(catalog, "nova", "stein")).toEqual(["nova-status", "upgrade", "check"]);
  });

  it("knows Zed's oldest supported compute is Yoga", () => {
    expect(oldestCompute(catalog, "zed")).toBe("yoga");
    expect(oldestCompute(catalog, "2024.1")).toBe("2023.1");
    expect(oldestCompute(catalog, "victoria")).toBeUndefined();
  });
});

describe("release helpers", () => {
  it("resolves codenames as aliases", () => {
    expect(resolveRelease(catalog, "Antelope").name).toBe("2023.1");
    expect(resolveRelease(catalog, "epoxy").name).toBe("2025.1");
    expect(() => resolveRelease(catalog, "kilo")).toThrow(/Unknown OpenStack release "kilo"/);
  });

  it("lists the releases a hop crosses", () => {
    expect(releasesBetween(catalog, "victoria", "zed").map((r) => r.name)).toEqual([
      "wallaby",
      "xena",
      "yoga",
      "zed",
    ]);
    expect(releasesBetween(catalog, "zed", "victoria")).toEqual([]);
  });

  it("detects releases from package versions", () => {
    expect(majorOf("2:22.0.0-2+deb11u1")).toBe(22);
    expect(detectRelease(catalog, { nova: "2:22.0.1-2", keystone: "2:18.0.0-3", glance: "2:21.0.0-2" })).toBe(
      "victoria",
    );
    expect(detectRelease(catalog, { nova: "2:26.2.2-1~deb12u5", placement: "8.0.0-2" })).toBe("zed");
    expect(detectRelease(catalog, { nova: "2:26.2.2-1", keystone: "2:18.0.0-3" })).toBeUndefined();
  });

  it("detects the lab's releases from its package lists", () => {
    expect(detectReleaseFromPackages(catalog, labFacts.controllers.old.packages)).toBe("victoria");
    expect(
      detectReleaseFromPackages(catalog, {
        "openstack-nova-api": "27.1.0-1.el9",
        "openstack-keystone": "23.0.0-1.el9",
      }),
    ).toBe("2023.1");
    expect(detectReleaseFromPackages(catalog, { "mariadb-server": "1:10.11.19" })).toBeUndefined();
  });

  it("filters recipe steps by target range and source", () => {
    const ids = (s: Parameters<typeof recipeFor>[1], a: string, b: string): string[] =>
      recipeFor(catalog, s, a, b).map((r) => r.id);
    expect(ids("neutron", "mitaka", "queens")).toEqual(["upgrade-newton", "upgrade-heads"]);
    expect(ids("neutron", "victoria", "zed")).toEqual(["upgrade-heads"]);
    expect(ids("keystone", "victoria", "zed")).toEqual([
      "expand",
      "migrate",
      "check",
      "contract",
      "check-final",
    ]);
    expect(ids("glance", "ussuri", "victoria")).toEqual(["db-sync"]);
    expect(ids("glance", "victoria", "zed")).toEqual(["db-sync", "db-check"]);
    expect(ids("nova", "victoria", "zed")).toEqual([
      "update-cell",
      "api-db-sync",
      "db-sync",
      "online-data-migrations",
    ]);
    expect(ids("placement", "rocky", "train")).toEqual(["stamp", "db-sync"]);
  });
});

describe("isUnsafeJump", () => {
  it("allows the lab hop victoria -> zed, warning that it is untested skip-level", () => {
    const a = isUnsafeJump(catalog, "victoria", "zed", ALL);
    expect(a.unsafe).toBe(false);
    expect(a.tested).toBe(false);
    expect(a.warnings.join("\n")).toMatch(/skips 3 release\(s\) \(wallaby, xena, yoga\)/);
    expect(a.warnings.join("\n")).toMatch(/nova: the skipped releases' online data migrations are not run/);
    expect(isUnsafeJump(catalog, "yoga", "zed", ALL).warnings.join("\n")).not.toMatch(
      /online data migrations/,
    );
  });

  it("treats adjacent and SLURP-to-SLURP hops as tested", () => {
    expect(isUnsafeJump(catalog, "zed", "2023.1", ALL).tested).toBe(true);
    expect(isUnsafeJump(catalog, "2023.1", "2024.1", ALL).tested).toBe(true);
    expect(isUnsafeJump(catalog, "2024.1", "2025.1", ALL).tested).toBe(true);
    expect(isUnsafeJump(catalog, "2023.1", "2024.2", ALL).tested).toBe(false);
    expect(isUnsafeJump(catalog, "2023.2", "2024.2", ALL).tested).toBe(false);
  });

  it("refuses downgrades and same-release plans", () => {
    expect(isUnsafeJump(catalog, "zed", "victoria", ALL).reasons.map((r) => r.code)).toEqual(["DOWNGRADE"]);
    expect(isUnsafeJump(catalog, "zed", "zed", ALL).reasons.map((r) => r.code)).toEqual(["SAME_RELEASE"]);
  });

  it("refuses a glance schema old enough to lose image visibility, naming why", () => {
    const a = isUnsafeJump(catalog, "liberty", "queens", ["glance"]);
    expect(a.unsafe).toBe(true);
    const blocker = a.reasons.find((r) => r.code === "BLOCKER");
    expect(blocker?.service).toBe("glance");
    expect(blocker?.message).toMatch(/is_public/);
    expect(isUnsafeJump(catalog, "ocata", "queens", ["glance"]).unsafe).toBe(false);
  });

  it("refuses a source older than the target's migrations accept", () => {
    const a = isUnsafeJump(catalog, "train", "2023.2", ["nova"]);
    expect(a.reasons.map((r) => [r.code, r.service])).toEqual([["SOURCE_TOO_OLD", "nova"]]);
    expect(isUnsafeJump(catalog, "train", "zed", ["nova"]).unsafe).toBe(false);
    expect(isUnsafeJump(catalog, "stein", "wallaby", ["nova"]).reasons[0]?.message).toMatch(
      /older than train/,
    );
  });

  it("refuses a source-only target and a service that does not exist in the target", () => {
    expect(isUnsafeJump(catalog, "liberty", "mitaka", ["nova"]).reasons.map((r) => r.code)).toContain(
      "TARGET_UNSUPPORTED",
    );
    expect(isUnsafeJump(catalog, "queens", "rocky", ["placement"]).reasons.map((r) => r.code)).toEqual([
      "SERVICE_NOT_IN_TARGET",
    ]);
  });

  it("refuses on failed error-level data checks and only warns on warning-level ones", () => {
    const bad = isUnsafeJump(catalog, "victoria", "zed", ["cinder"], { "cinder-untyped-volumes": 3 });
    expect(bad.unsafe).toBe(true);
    expect(bad.reasons[0]?.message).toMatch(/3 row\(s\)/);
    const warn = isUnsafeJump(catalog, "victoria", "zed", ["cinder"], { "cinder-services-uuid": 2 });
    expect(warn.unsafe).toBe(false);
    expect(warn.warnings.join("\n")).toMatch(/cinder services without a uuid/);
  });

  it("assertSafeJump throws a UserError listing every reason and next step", () => {
    try {
      assertSafeJump(catalog, "liberty", "2023.2", ["glance", "nova"]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      const u = e as UserError;
      expect(u.code).toBe("UNSAFE_JUMP");
      expect(u.message).toMatch(/glance/);
      expect(u.message).toMatch(/nova/);
      expect(u.nextSteps.length).toBeGreaterThan(0);
    }
  });
});

describe("a bad catalog", () => {
  const releases = readTemplate("releases.yaml");
  const distros = readTemplate("distros.yaml");

  const failsWith = (r: string, d: string, pattern: RegExp): void => {
    try {
      parseCatalog(r, d);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).code).toBe("CATALOG_INVALID");
      expect((e as Error).message).toMatch(pattern);
    }
  };

  it("names the path of a field with the wrong type", () => {
    failsWith(releases.replace("slurp: true", "slurp: sometimes"), distros, /releases\.\d+\.slurp/);
  });

  it("names an unknown release referenced by a recipe", () => {
    failsWith(releases.replace("since: zed", "since: zeddd"), distros, /unknown release "zeddd"/);
  });

  it("refuses releases out of date order", () => {
    failsWith(releases.replace("date: 2022-10-05", "date: 2030-01-01"), distros, /date order/);
  });

  it("refuses a distro file missing a service", () => {
    const broken = distros.replace(/\n {6}horizon:\n {8}packages: \[openstack-dashboard\]\n[\s\S]*$/, "\n");
    failsWith(releases, broken, /rhel\.services\.horizon|missing service/);
  });

  it("refuses YAML that does not parse", () => {
    failsWith("releases: [", distros, /not valid YAML/);
  });
});
