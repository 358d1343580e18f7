import { describe, expect, it } from "vitest";
import { FakeHost } from "../../fakes/fake-host.js";
import {
  parseDbUrl,
  parseTransportUrl,
  readDbCredentials,
  readSecretFile,
  withDatabase,
} from "../../../src/steps/credentials.js";
import { UserError } from "../../../src/lib/errors.js";

describe("credentials from the old configs", () => {
  it("parses SQLAlchemy URLs, percent-decoding and raw # ; / in passwords", () => {
    expect(parseDbUrl("mysql+pymysql://nova:p%40ss@198.51.100.4:3306/nova?charset=utf8")).toEqual({
      user: "nova",
      password: "p@ss",
      database: "nova",
    });
    expect(parseDbUrl("mysql+pymysql://nova:N0va;db#pass@db/nova_api")).toMatchObject({
      password: "N0va;db#pass",
      database: "nova_api",
    });
    expect(parseDbUrl("sqlite:////var/lib/nova/nova.sqlite")).toBeUndefined();
  });

  it("parses transport URLs: first host's credentials, vhost or /", () => {
    expect(parseTransportUrl("rabbit://openstack:pw@10.0.0.1:5672,openstack:pw@10.0.0.2:5672/")).toEqual({
      user: "openstack",
      password: "pw",
      vhost: "/",
    });
    expect(parseTransportUrl("rabbit://os:pw@h:5672/openstack")).toMatchObject({ vhost: "openstack" });
  });

  it("replaces only the database name of a URL", () => {
    expect(withDatabase("mysql+pymysql://nova:pw@127.0.0.1/nova?charset=utf8", "nova_cell0")).toBe(
      "mysql+pymysql://nova:pw@127.0.0.1/nova_cell0?charset=utf8",
    );
  });

  it("reads the URL oslo would use (the last active one, not a comment)", async () => {
    const old = new FakeHost("old").setFile(
      "/etc/glance/glance-api.conf",
      "[database]\n#connection = mysql+pymysql://x:y@h/glance\nconnection = mysql+pymysql://glance:G1@198.51.100.4/glance\n",
    );
    const m = await readDbCredentials(old, [
      { database: "glance", file: "/etc/glance/glance-api.conf", section: "database", key: "connection" },
    ]);
    expect(m.get("glance")).toEqual({ user: "glance", password: "G1" });
  });

  it("a secret file that is not ours is reported, not guessed", async () => {
    const neu = new FakeHost("new").setFile("/s/nova", "garbage");
    await expect(readSecretFile(neu, "/s/nova")).rejects.toThrow(UserError);
    expect(await readSecretFile(neu, "/s/none")).toBeUndefined();
  });
});
