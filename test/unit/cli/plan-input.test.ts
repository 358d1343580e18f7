import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAnswers, type Answers } from "../../../src/answers/index.js";
import { answerFactWarnings, planInputFromAnswers } from "../../../src/cli/plan-input.js";
import { labFacts, labInput } from "../plan/fixtures/lab-facts.js";

const example = readFileSync(
  fileURLToPath(new URL("../../../templates/answers.example.yaml", import.meta.url)),
  "utf8",
);

function answers(text = example): Answers {
  const r = parseAnswers(text, "answers.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.loaded.answers;
}

describe("planInputFromAnswers", () => {
  it("maps the example answer file to the lab's PlanInput", () => {
    const input = planInputFromAnswers(answers(), "/root");
    // The example lists two computes and its portals carry :3260; everything else equals the lab input.
    expect({ ...input, iscsi: undefined }).toEqual({
      ...labInput,
      computeHosts: ["compute1", "compute2"],
      iscsi: undefined,
    });
    expect(input.iscsi).toEqual({ oldPortal: "198.18.0.4:3260", newPortal: "198.18.0.4:3260" });
  });

  it("splits package sources by line, drops blanks and comments, expands ~ in state_dir", () => {
    const text = example
      .replace(
        'source: "deb http://198.51.100.254:8080/ bookworm-zed main"',
        'source: "deb http://198.51.100.254:8080/ bookworm-zed main\\n\\n# comment\\ndeb http://198.51.100.254:8080/ bookworm main"',
      )
      .replace("state_dir: /var/lib/handover", "state_dir: ~/handover-state");
    const input = planInputFromAnswers(answers(text), "/home/op");
    expect(input.packageSources).toEqual([
      "deb http://198.51.100.254:8080/ bookworm-zed main",
      "deb http://198.51.100.254:8080/ bookworm main",
    ]);
    expect(input.stateDir).toBe("/home/op/handover-state");
  });

  it("leaves iscsi out when the answers have none", () => {
    const text = example.replace(/\niscsi:\n {2}old_portal: .*\n {2}new_portal: .*\n/, "\n");
    expect(planInputFromAnswers(answers(text), "/root")).not.toHaveProperty("iscsi");
  });
});

describe("answerFactWarnings", () => {
  it("has nothing to say when answers and the lab's facts agree", () => {
    expect(answerFactWarnings(answers(), labFacts)).toEqual([]);
  });

  it("says when a moving address is not where the answers put it", () => {
    const facts = {
      ...labFacts,
      controllers: {
        ...labFacts.controllers,
        old: { ...labFacts.controllers.old, interfaces: [{ name: "eth0", addresses: ["198.51.100.3/24"] }] },
      },
    };
    const w = answerFactWarnings(answers(), facts);
    expect(w).toContain("networks.mgmt: 198.51.100.4 is not on the old controller's eth0 today.");
    expect(w).toContain("networks.storage: the old controller has no interface eth1.");
  });

  it("warns about iSCSI attachments without an iscsi section, and unknown or unreachable computes", () => {
    const text = example
      .replace(/\niscsi:\n {2}old_portal: .*\n {2}new_portal: .*\n/, "\n")
      .replace("- name: compute2", "- name: compute9")
      .replace(/ {2}ssh_defaults:\n {4}key_file: .*\n {4}known_hosts: .*\n/, "");
    const w = answerFactWarnings(answers(text), labFacts);
    expect(w.some((x) => x.startsWith("1 attached volume(s) use iSCSI"))).toBe(true);
    expect(w).toContain(
      "computes.hosts: compute9 is not a nova-compute service in the old controller's nova database.",
    );
    expect(w.some((x) => x.includes("discovered compute2 but the answers give no SSH settings"))).toBe(true);
  });
});
