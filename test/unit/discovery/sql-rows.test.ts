import { describe, expect, it } from "vitest";
import {
  cellsFromRows,
  databaseOfUrl,
  databasesFromRows,
  firstNumber,
  isoUtc,
  novaServicesFromRows,
  num,
  releaseOfNovaVersion,
  volumesFromRows,
} from "../../../src/discovery/sql-rows.js";
import { CELL_ROWS, NOVA_SERVICE_ROWS, SIZE_ROWS } from "./fixtures/outputs.js";

describe("databasesFromRows", () => {
  it("turns MariaDB's DECIMAL strings into byte counts and attaches non-utf8 tables", () => {
    const dbs = databasesFromRows(SIZE_ROWS, [
      { db: "glance", tbl: "images", charset: "latin1" },
      { db: "glance", tbl: "image_locations", charset: "latin1" },
    ]);
    expect(dbs).toHaveLength(8);
    expect(dbs.find((d) => d.name === "nova")).toEqual({
      name: "nova",
      sizeBytes: 30 * 1024 * 1024,
      tables: 110,
      nonUtf8Tables: [],
    });
    expect(dbs.find((d) => d.name === "glance")?.nonUtf8Tables).toEqual(["images", "image_locations"]);
  });
  it("lists an empty schema with zero size", () => {
    expect(databasesFromRows([{ name: "empty", bytes: "0", tables: 0 }], [])).toEqual([
      { name: "empty", sizeBytes: 0, tables: 0, nonUtf8Tables: [] },
    ]);
  });
});

describe("num", () => {
  it("accepts numbers, numeric strings, bigints and booleans; anything else is 0", () => {
    expect([num(3), num("12345678901"), num(7n), num(true), num(null), num("x"), num(NaN)]).toEqual([
      3, 12345678901, 7, 1, 0, 0, 0,
    ]);
  });
});

describe("cells", () => {
  it("keeps only the database name of each mapping's URL, never the credentials", () => {
    const cells = cellsFromRows(CELL_ROWS);
    expect(cells).toEqual([
      { uuid: "00000000-0000-0000-0000-000000000000", name: "cell0", database: "nova_cell0" },
      { uuid: "5a1c2b8e-8a53-4c3e-9d7e-2f0b6c1d4e11", name: "cell1", database: "nova" },
    ]);
    expect(JSON.stringify(cells)).not.toContain("n0va-pw");
  });
  it("reads templated URLs and names an unnamed cell by its uuid", () => {
    expect(databaseOfUrl("{scheme}://{username}:{password}@{hostname}/nova_cell1?{query}")).toBe(
      "nova_cell1",
    );
    expect(databaseOfUrl("mysql+pymysql://u:p@[2001:db8::4]:3306/nova")).toBe("nova");
    expect(databaseOfUrl("sqlite://")).toBeUndefined();
    expect(cellsFromRows([{ uuid: "u-1", name: null, database_connection: "x://h/db" }])[0]?.name).toBe(
      "u-1",
    );
  });
});

describe("nova services", () => {
  it("splits computes from control services, with release, flags and heartbeat in UTC", () => {
    const { computes, controlServices } = novaServicesFromRows(NOVA_SERVICE_ROWS);
    expect(computes).toEqual([
      {
        host: "compute1",
        version: 52,
        release: "victoria",
        disabled: false,
        forcedDown: false,
        lastSeen: "2026-11-22T00:59:50Z",
      },
      {
        host: "compute2",
        version: 52,
        release: "victoria",
        disabled: true,
        forcedDown: false,
        lastSeen: "2026-11-22T00:59:40Z",
      },
    ]);
    expect(controlServices).toEqual([
      { host: "old", binary: "nova-conductor", lastSeen: "2026-11-22T00:59:55Z" },
      { host: "old", binary: "nova-scheduler", lastSeen: null },
    ]);
  });
  it("maps service versions to releases from Victoria on", () => {
    expect(releaseOfNovaVersion(51)).toBeUndefined();
    expect(releaseOfNovaVersion(52)).toBe("victoria");
    expect(releaseOfNovaVersion(53)).toBe("victoria");
    expect(releaseOfNovaVersion(61)).toBe("yoga");
    expect(releaseOfNovaVersion(64)).toBe("zed");
  });
  it("formats datetimes as ISO UTC and rejects others", () => {
    expect(isoUtc("2026-11-22 00:59:50")).toBe("2026-11-22T00:59:50Z");
    expect(isoUtc("2026-11-22 00:59:50.123456")).toBe("2026-11-22T00:59:50Z");
    expect(isoUtc(null)).toBeNull();
    expect(isoUtc("0000")).toBeNull();
  });
});

describe("volumes and counts", () => {
  it("reads cinder volumes", () => {
    expect(volumesFromRows([{ id: "v1", size: 1, status: "in-use" }])).toEqual([
      { id: "v1", sizeGb: 1, status: "in-use" },
    ]);
  });
  it("takes the first column of the first row", () => {
    expect(firstNumber([{ "COUNT(*)": 4 }])).toBe(4);
    expect(firstNumber([{ "(SELECT ...) + (SELECT ...)": "2" }])).toBe(2);
    expect(firstNumber([])).toBe(0);
  });
});
