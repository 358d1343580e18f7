import { describe, expect, it } from "vitest";
import { summariseFacts } from "../../../src/discovery/summary.js";
import type { Facts } from "../../../src/plan/facts.js";
import { labFacts } from "../plan/fixtures/lab-facts.js";

describe("summariseFacts", () => {
  const text = summariseFacts(labFacts).join("\n");

  it("names both controllers, their release and MySQL", () => {
    expect(text).toMatch(
      /^ {2}old {2}old \(debian 11 bullseye\): victoria; MySQL 10\.5\.29-MariaDB-0\+deb11u1, 8 database\(s\), 89\.0 MiB$/m,
    );
    expect(text).toMatch(/^ {2}new {2}new \(debian 12 bookworm\): no OpenStack; no MySQL answering$/m);
  });

  it("summarises nova, cinder, glance and the data checks", () => {
    expect(text).toContain(
      "nova: 2 cell(s), 2 compute(s) (compute1 victoria, compute2), 3 instance(s), 1 iSCSI attachment(s)",
    );
    expect(text).toContain("cinder: file /var/lib/cinder/volumes, 2 volume(s), 2 GiB");
    expect(text).toContain("glance: file store /var/lib/glance/images, 2 image(s), 40.0 MiB");
    expect(text).toContain("data checks: cinder-untyped-volumes=0, cinder-services-uuid=0");
  });

  it("says when packages do not name a release, and lists non-utf8 tables", () => {
    const old = labFacts.controllers.old;
    const facts: Facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        old: {
          ...old,
          release: undefined,
          databases: [
            { name: "glance", sizeBytes: 10, tables: 2, nonUtf8Tables: ["images", "image_locations"] },
          ],
        },
      },
    };
    const t = summariseFacts(facts).join("\n");
    expect(t).toContain("release not recognised");
    expect(t).toContain("glance: 2 table(s) not in utf8");
  });
});
