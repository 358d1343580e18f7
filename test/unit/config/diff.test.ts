import { readFileSync } from "node:fs";
import { applyPatch } from "diff";
import { describe, expect, it } from "vitest";
import { configDiff } from "../../../src/config/diff.js";
import { rewriteHorizon } from "../../../src/config/horizon.js";
import { rewriteConfig } from "../../../src/config/rewrite.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/config/${name}`, import.meta.url), "utf8");

const hosts = {
  "198.51.100.10": "198.51.100.20",
  "198.51.100.11": "198.51.100.21",
  "198.18.0.10": "198.18.0.20",
};

describe("configDiff", () => {
  it("is empty for equal texts", () => {
    expect(configDiff("/etc/nova/nova.conf", "a\n", "a\n")).toEqual({
      path: "/etc/nova/nova.conf",
      unified: "",
      added: 0,
      removed: 0,
    });
  });

  it("shows a nova.conf rewrite with every password masked", () => {
    const before = fixture("nova-controller.conf");
    const after = rewriteConfig(before, {
      hosts,
      set: [{ section: "neutron", key: "password", value: "brand-new-neutron-pw" }],
    }).text;
    const d = configDiff("/etc/nova/nova.conf", before, after);
    expect(d.unified).toMatch(/^--- a\/etc\/nova\/nova.conf\n\+\+\+ b\/etc\/nova\/nova.conf\n@@ /);
    expect(d.unified).toContain("-connection=mysql+pymysql://nova:***@198.51.100.10/nova?charset=utf8\n");
    expect(d.unified).toContain("+connection=mysql+pymysql://nova:***@198.51.100.20/nova?charset=utf8\n");
    expect(d.unified).toContain(
      "+transport_url = rabbit://openstack:***@198.51.100.20:5672,openstack:***@198.51.100.21:5672/\n",
    );
    expect(d.unified).toContain("-password = ***\n+password = ***\n");
    for (const secret of [
      "N0va;db#pass",
      "R4bb1t",
      "pl%40cedb",
      "neutr0n-secret",
      "brand-new-neutron-pw",
      "n0va-k5-secret",
    ]) {
      expect(d.unified).not.toContain(secret);
    }
    expect(d.added).toBe(13);
    expect(d.removed).toBe(13);
  });

  it("is a real patch: applied to the old text it gives the new one", () => {
    const before = fixture("keystone-debian.conf");
    const after = before
      .replace("log_dir = /var/log/keystone", "log_dir = /srv/log/keystone")
      .replace("#debug = false", "#debug = false\ndebug = true");
    const d = configDiff("/etc/keystone/keystone.conf", before, after);
    expect(applyPatch(before, d.unified)).toBe(after);
    expect(d).toMatchObject({ added: 2, removed: 1 });
  });

  it("masks literal secrets given by the caller and horizon's secrets", () => {
    const before =
      "DATABASES = {'default': {'PASSWORD': 'dbpw', 'HOST': '198.51.100.10'}}\nSECRET_KEY = 'abc'\nX = 1\n";
    const after = rewriteHorizon(before, { hosts }).text.replace("X = 1", "X = 'my-literal-secret'");
    const d = configDiff("/etc/openstack-dashboard/local_settings.py", before, after, {
      secrets: ["my-literal-secret"],
    });
    expect(d.unified).not.toContain("dbpw");
    expect(d.unified).not.toContain("my-literal-secret");
    expect(d.unified).toContain("+DATABASES = {'default': {'PASSWORD': '***', 'HOST': '198.51.100.20'}}");
  });

  it("marks a missing final newline", () => {
    const d = configDiff("/x.conf", "[a]\nk = 1", "[a]\nk = 2");
    expect(d.unified).toContain("\\ No newline at end of file");
  });
});
