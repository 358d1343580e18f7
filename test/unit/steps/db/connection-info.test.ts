import { describe, expect, it } from "vitest";
import { FakeHost } from "../../../fakes/fake-host.js";
import {
  namesPortal,
  pythonJson,
  rewriteConnectionInfo,
  rewritePortal,
  splitPortal,
  type Json,
} from "../../../../src/steps/db/connection-info.js";
import { rewriteConnectionInfoStep } from "../../../../src/steps/db/rewrite-connection-info.js";
import { FakeSql, makeCtx, makeDeps } from "../support/harness.js";

const IQN = "iqn.2010-10.org.openstack:volume-4a1f";
const BDM = {
  driver_volume_type: "iscsi",
  data: {
    target_discovered: false,
    target_portal: "198.18.0.4:3260",
    target_portals: ["198.18.0.4:3260", "198.18.0.9:3260"],
    target_iqn: IQN,
    target_lun: 1,
    device_path: `/dev/disk/by-path/ip-198.18.0.4:3260-iscsi-${IQN}-lun-1`,
    auth_password: "chap-secret",
    qos_specs: null,
  },
  serial: "4a1f",
};

describe("connection_info JSON rewriting", () => {
  it("splits portals (IPv4, bracketed IPv6, bare)", () => {
    expect(splitPortal("198.18.0.4:3260")).toEqual({ host: "198.18.0.4", port: "3260" });
    expect(splitPortal("[2001:db8::4]:3260")).toEqual({ host: "2001:db8::4", port: "3260" });
    expect(splitPortal("198.18.0.4")).toEqual({ host: "198.18.0.4", port: "" });
    expect(rewritePortal("[2001:db8::4]:3260", "2001:db8::4", "2001:db8::5")).toBe("[2001:db8::5]:3260");
    expect(rewritePortal("198.18.0.44:3260", "198.18.0.4", "198.18.0.5")).toBe("198.18.0.44:3260");
  });

  it("replaces target_portal, each target_portals entry and the portal in device_path; keeps the rest", () => {
    const { doc, changes } = rewriteConnectionInfo(BDM, "198.18.0.4", "198.18.0.5");
    expect(changes).toBe(3);
    expect(doc).toEqual({
      ...BDM,
      data: {
        ...BDM.data,
        target_portal: "198.18.0.5:3260",
        target_portals: ["198.18.0.5:3260", "198.18.0.9:3260"],
        device_path: `/dev/disk/by-path/ip-198.18.0.5:3260-iscsi-${IQN}-lun-1`,
      },
    });
    expect(namesPortal(doc, "198.18.0.4")).toBe(false);
    expect(namesPortal(BDM as Json, "198.18.0.4")).toBe(true);
  });

  it("does not touch the address elsewhere (e.g. an unrelated key holding the same text)", () => {
    const d = { data: { target_portal: "198.18.0.9:3260", note: "was on 198.18.0.4:3260" } };
    expect(rewriteConnectionInfo(d, "198.18.0.4", "198.18.0.5").changes).toBe(0);
  });

  it("serialises like Python's json.dumps", () => {
    expect(pythonJson({ a: [1, "é", null, true], b: { c: "x" } })).toBe(
      '{"a": [1, "\\u00e9", null, true], "b": {"c": "x"}}',
    );
  });
});

describe("db.rewrite-connection-info", () => {
  const params = {
    oldPortal: "198.18.0.4:3260",
    newPortal: "198.18.0.5:3260",
    tables: ["nova.block_device_mapping", "cinder.volume_attachment"],
    coveredBy: "db.nova.import",
  };

  function rows() {
    const table = new Map<number, string>([
      [1, pythonJson(BDM)],
      [2, "not json 198.18.0.4"],
      [3, pythonJson({ data: { target_portal: "198.18.0.9:3260" } })],
    ]);
    const sql = new FakeSql();
    sql.on(
      /^SELECT id, connection_info FROM `nova`.`block_device_mapping` WHERE connection_info LIKE \?/,
      (p) =>
        [...table]
          .filter(([, t]) => t.includes(String(p[0]).replaceAll("%", "")))
          .map(([id, t]) => ({ id, connection_info: t })),
    );
    sql.on(
      /^UPDATE `nova`.`block_device_mapping` SET connection_info = \? WHERE id = \? AND connection_info = \?/,
      (p) => {
        const id = Number(p[1]);
        if (table.get(id) !== p[2]) return { affectedRows: 0 };
        table.set(id, String(p[0]));
        return { affectedRows: 1 };
      },
    );
    return { sql, table };
  }

  it("updates by id with parameters, counts changed rows, leaves non-JSON rows alone and says so", async () => {
    const { sql, table } = rows();
    const h = makeCtx({ new: new FakeHost("new") });
    const res = await rewriteConnectionInfoStep(makeDeps(sql)).run(h.ctx, params);
    expect(res).toEqual({ changed: { "nova.block_device_mapping": 1, "cinder.volume_attachment": 0 } });
    const updated = JSON.parse(table.get(1)!) as { data: { target_portal: string; auth_password: string } };
    expect(updated.data.target_portal).toBe("198.18.0.5:3260");
    expect(updated.data.auth_password).toBe("chap-secret");
    expect(table.get(2)).toBe("not json 198.18.0.4");
    const upd = sql.statements.filter((s) => s.sql.startsWith("UPDATE"));
    expect(upd).toHaveLength(1);
    expect(upd[0]!.sql).not.toContain("198.18");
    expect(h.events.some((e) => e.type === "log" && e.level === "warn" && /not JSON/.test(e.message))).toBe(
      true,
    );
    // Only new was touched.
    expect(sql.opens.every((o) => o.host === "new")).toBe(true);
  });

  it("is idempotent and verify proves no row still names the old portal", async () => {
    const { sql } = rows();
    const h = makeCtx({ new: new FakeHost("new") });
    const step = rewriteConnectionInfoStep(makeDeps(sql));
    expect((await step.verify(h.ctx, params)).ok).toBe(false);
    await step.run(h.ctx, params);
    const second = await step.run(h.ctx, params);
    expect(second).toEqual({ changed: { "nova.block_device_mapping": 0, "cinder.volume_attachment": 0 } });
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
  });
});
