import { describe, expect, it } from "vitest";
import {
  installedServices,
  relevantPackages,
  relevantUnitNames,
  servicePackages,
} from "../../../src/discovery/packages.js";
import { parseDpkgQuery, parseRpmQuery } from "../../../src/discovery/parse-host.js";
import { detectRelease } from "../../../src/plan/catalog.js";
import { shippedCatalog } from "../plan/helpers.js";
import { DPKG_BOOKWORM_BARE, DPKG_BULLSEYE_VICTORIA } from "./fixtures/outputs.js";

const catalog = shippedCatalog();

describe("packages", () => {
  const victoria = parseDpkgQuery(DPKG_BULLSEYE_VICTORIA);

  it("records OpenStack and infrastructure packages only", () => {
    const p = relevantPackages(victoria);
    expect(p["nova-api"]).toBe("2:22.0.1-2");
    expect(p["mariadb-server"]).toBe("1:10.5.26-0+deb11u2");
    expect(p["mariadb-server-10.5"]).toBe("1:10.5.26-0+deb11u2");
    expect(p["rabbitmq-server"]).toBe("3.8.9-3");
    expect(p["openstack-dashboard"]).toBe("3:18.6.2-5");
    expect(p["python3-nova"]).toBe("2:22.0.1-2");
    for (const unrelated of ["coreutils", "libc6:amd64", "openssh-server", "python3-novaclient", "apache2"]) {
      expect(p).not.toHaveProperty([unrelated]);
    }
  });

  it("finds every Victoria service and detects victoria from their versions", () => {
    const { services, versions } = installedServices(catalog, victoria);
    expect(services).toEqual(["keystone", "glance", "placement", "nova", "neutron", "cinder", "horizon"]);
    expect(detectRelease(catalog, versions)).toBe("victoria");
  });

  it("finds nothing on a bare bookworm", () => {
    const { services, versions } = installedServices(catalog, parseDpkgQuery(DPKG_BOOKWORM_BARE));
    expect(services).toEqual([]);
    expect(detectRelease(catalog, versions)).toBeUndefined();
    expect(relevantPackages(parseDpkgQuery(DPKG_BOOKWORM_BARE))).toEqual({});
  });

  it("recognises RDO package names", () => {
    const rdo = parseRpmQuery(
      "openstack-nova-api 1:26.2.1-1.el9s\nopenstack-keystone 1:22.0.0-1.el9s\nhttpd 2.4.57-5.el9\n",
    );
    const { services, versions } = installedServices(catalog, rdo);
    expect(services).toEqual(["keystone", "nova"]);
    expect(detectRelease(catalog, versions)).toBe("zed");
  });

  it("does not take a generic web server for an OpenStack service", () => {
    expect(servicePackages(catalog, "keystone")).not.toContain("httpd");
    expect(
      installedServices(
        catalog,
        new Map([
          ["httpd", "2.4"],
          ["apache2", "2.4"],
        ]),
      ).services,
    ).toEqual([]);
  });

  it("knows the unit names of every family, and the infrastructure's", () => {
    const names = relevantUnitNames(catalog);
    for (const n of [
      "nova-api",
      "openstack-nova-api",
      "mariadb",
      "rabbitmq-server",
      "memcached",
      "tgt",
      "apache2",
      "httpd",
    ]) {
      expect(names.has(n)).toBe(true);
    }
    expect(names.has("ssh")).toBe(false);
  });
});
