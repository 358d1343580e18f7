import { describe, expect, it } from "vitest";
import { renderTable } from "../../../src/cli/commands/check.js";
import { sshHostFromEndpoint } from "../../../src/hosts/from-answers.js";

describe("sshHostFromEndpoint", () => {
  const base = {
    address: "198.51.100.3",
    port: 2222,
    user: "ops",
    agent: false,
    host_key_policy: "accept-new" as const,
    sudo: true,
  };

  it("maps the endpoint, expanding ~ against the given HOME", () => {
    const h = sshHostFromEndpoint(
      "old",
      { ...base, key_file: "~/.ssh/id", known_hosts: "~/kh" },
      { home: "/home/op" },
      "pp",
    );
    expect([h.name, h.address, h.port, h.user]).toEqual(["old", "198.51.100.3", 2222, "ops"]);
    const cfg = (h as unknown as { cfg: Record<string, unknown> }).cfg;
    expect(cfg).toMatchObject({
      keyFile: "/home/op/.ssh/id",
      knownHostsFile: "/home/op/kh",
      hostKeyPolicy: "accept-new",
      sudo: true,
      passphrase: "pp",
    });
    expect(cfg.agentSocket).toBeUndefined();
  });

  it("uses the agent socket only when agent: true, and ~/.ssh/known_hosts by default", () => {
    const h = sshHostFromEndpoint(
      "c1",
      { ...base, agent: true },
      { home: "/root", agentSocket: "/tmp/agent.sock" },
    );
    const cfg = (h as unknown as { cfg: Record<string, unknown> }).cfg;
    expect(cfg).toMatchObject({ agentSocket: "/tmp/agent.sock", knownHostsFile: "/root/.ssh/known_hosts" });
    expect(cfg.keyFile).toBeUndefined();
  });
});

describe("check table", () => {
  it("aligns columns and shows only the first line of a detail", () => {
    const t = renderTable([
      { host: "old", check: "ssh", result: "pass", detail: "root@x:22" },
      { host: "compute1", check: "mysql", result: "FAIL", detail: "[X] first\nsecond" },
    ]);
    expect(t.split("\n")).toEqual([
      "HOST      CHECK  RESULT  DETAIL",
      "old       ssh    pass    root@x:22",
      "compute1  mysql  FAIL    [X] first",
    ]);
  });
});
