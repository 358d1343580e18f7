/**
 * Fake controllers for discovery tests: the lab's old controller (Debian 11, Victoria, sysvinit, its MariaDB
 * databases) as a FakeHost + FakeSql, and a bare Debian 12 new controller. Unscripted commands throw, so a test
 * fails loudly if discovery runs something new without the test (and the allow-list) knowing.
 */
import { ANY_ARG, FakeHost } from "../../fakes/fake-host.js";
import {
  DPKG_QUERY_ARGV,
  HOSTNAME_ARGV,
  IP_ADDR_ARGV,
  SERVICE_STATUS_ALL_ARGV,
} from "../../../src/discovery/readonly-host.js";
import {
  SQL_CELL_MAPPINGS,
  SQL_CINDER_VOLUMES,
  SQL_DATABASE_SIZES,
  SQL_GLANCE_IMAGES,
  SQL_INSTANCE_COUNT,
  SQL_ISCSI_BDM_COUNT,
  SQL_KEYSTONE_ROLES,
  SQL_NON_UTF8_TABLES,
  SQL_NOVA_SERVICES,
  SQL_VERSION,
} from "../../../src/discovery/sql-rows.js";
import { FakeSql } from "./fake-sql.js";
import {
  CELL_ROWS,
  CINDER_CONF_LVM,
  DPKG_BOOKWORM_BARE,
  DPKG_BULLSEYE_VICTORIA,
  GLANCE_API_CONF_FILE,
  IP_J_NEW,
  IP_J_OLD,
  NOVA_SERVICE_ROWS,
  OS_RELEASE_BOOKWORM,
  OS_RELEASE_BULLSEYE,
  SIZE_ROWS,
  STATUS_ALL_NEW,
  STATUS_ALL_OLD,
  dfOutput,
} from "./fixtures/outputs.js";

const GiB = 1024 ** 3;
const DF = ["df", "-B1", "--output=target,avail,size", "--", ANY_ARG] as const;

export function oldHost(): FakeHost {
  return new FakeHost("old", { unmatched: "throw", address: "198.51.100.3" })
    .setFile("/etc/os-release", OS_RELEASE_BULLSEYE)
    .setFile("/etc/cinder/cinder.conf", CINDER_CONF_LVM, { mode: 0o640 })
    .setFile("/etc/glance/glance-api.conf", GLANCE_API_CONF_FILE, { mode: 0o640 })
    .addDir("/var/lib/mysql")
    .on([...HOSTNAME_ARGV], { stdout: "old\n" })
    .on([...DPKG_QUERY_ARGV], { stdout: DPKG_BULLSEYE_VICTORIA })
    .on([...SERVICE_STATUS_ALL_ARGV], { stdout: STATUS_ALL_OLD })
    .on([...IP_ADDR_ARGV], { stdout: IP_J_OLD })
    .on([...DF], ({ argv }) => ({
      stdout: dfOutput(argv[4] === "/" ? "/" : "/var/lib/mysql", 8 * GiB, 20 * GiB),
    }));
}

export function newHost(): FakeHost {
  return new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" })
    .setFile("/etc/os-release", OS_RELEASE_BOOKWORM)
    .on([...HOSTNAME_ARGV], { stdout: "new\n" })
    .on([...DPKG_QUERY_ARGV], { stdout: DPKG_BOOKWORM_BARE })
    .on([...SERVICE_STATUS_ALL_ARGV], { stdout: STATUS_ALL_NEW })
    .on([...IP_ADDR_ARGV], { stdout: IP_J_NEW })
    .on([...DF], { stdout: dfOutput("/", 10 * GiB, 20 * GiB) });
}

export const VOLUME_IN_USE = "0b7c3f3e-8b1a-4a55-9a4e-111111111111";
export const VOLUME_AVAILABLE = "0b7c3f3e-8b1a-4a55-9a4e-222222222222";

export function oldSql(): FakeSql {
  return new FakeSql()
    .on(undefined, SQL_VERSION, [{ version: "10.5.26-MariaDB-0+deb11u2" }])
    .on(undefined, SQL_DATABASE_SIZES, SIZE_ROWS)
    .on(undefined, SQL_NON_UTF8_TABLES, [])
    .on("nova_api", SQL_CELL_MAPPINGS, CELL_ROWS)
    .on("nova", SQL_NOVA_SERVICES, NOVA_SERVICE_ROWS)
    .on("nova", SQL_INSTANCE_COUNT, [{ n: 3 }])
    .on("nova_cell0", SQL_INSTANCE_COUNT, [{ n: 1 }])
    .on("nova", SQL_ISCSI_BDM_COUNT, [{ n: 1 }])
    .on("nova_cell0", SQL_ISCSI_BDM_COUNT, [{ n: 0 }])
    .on("cinder", SQL_CINDER_VOLUMES, [
      { id: VOLUME_IN_USE, size: 1, status: "in-use" },
      { id: VOLUME_AVAILABLE, size: 1, status: "available" },
    ])
    .on("glance", SQL_GLANCE_IMAGES, [{ n: 2, bytes: String(40 * 1024 * 1024) }])
    .on("keystone", SQL_KEYSTONE_ROLES, [
      { name: "_member_" },
      { name: "admin" },
      { name: "member" },
      { name: "reader" },
    ])
    .on("cinder", /volume_type_id IS NULL/, [{ total: "0" }])
    .on("cinder", /FROM services WHERE deleted = 0 AND uuid IS NULL/, [{ "COUNT(*)": 0 }]);
}
