/**
 * The whole question flow with a scripted FakeAsk and an in-memory FakeProbe (FAKES.md): what is asked, which
 * defaults come from discovery or a previous file, how failed checks re-ask, and that the answers it returns make
 * an answer file the project's own loader accepts.
 */
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseAnswers, type SecretReader } from "../../../src/answers/index.js";
import type { WizardDeps } from "../../../src/wizard/deps.js";
import { runWizardFlow, type WizardOutcome } from "../../../src/wizard/flow.js";
import type { MysqlFound } from "../../../src/wizard/probe.js";
import { answersToYaml } from "../../../src/wizard/write-answers.js";
import { DEFAULT, FakeAsk, type Scripted } from "./fake-ask.js";
import { FakeProbe, type FakeMachine } from "./fake-probe.js";

const KEY = "/root/.ssh/id_ed25519";
const KH = "/root/.ssh/known_hosts";

const oldMysql: MysqlFound = {
  version: "10.5.29-MariaDB",
  databases: ["cinder", "glance", "keystone", "nova", "nova_api"],
  computes: ["compute1", "compute2"],
  notes: [],
};

function machines(over: Record<string, Partial<FakeMachine>> = {}): Record<string, FakeMachine> {
  const compute = (key: string): FakeMachine => ({
    key,
    accepts: [`root ${KEY}`],
    found: { hostname: key, services: [], interfaces: [], notes: [] },
  });
  const base: Record<string, FakeMachine> = {
    "198.51.100.3:22": {
      key: "OLDKEY",
      accepts: [`root ${KEY}`],
      found: {
        hostname: "ctl-old",
        release: "victoria",
        services: ["keystone", "glance", "placement", "nova", "neutron", "cinder"],
        interfaces: [
          { name: "lo", addresses: ["127.0.0.1/8"] },
          { name: "eth0", addresses: ["198.51.100.3/24", "198.51.100.4/24", "fe80::1/64"] },
          { name: "eth1", addresses: ["198.18.0.4/24"] },
        ],
        notes: [],
      },
      logins: { root: "old-pw" },
      mysql: oldMysql,
    },
    "198.51.100.5:22": {
      key: "NEWKEY",
      accepts: [`root ${KEY}`],
      found: {
        hostname: "ctl-new",
        services: [],
        interfaces: [
          { name: "ens3", addresses: ["198.51.100.5/24"] },
          { name: "ens4", addresses: ["198.18.0.5/24"] },
        ],
        notes: [],
      },
      logins: { root: "new-pw" },
      mysql: { version: "10.11.6-MariaDB", databases: [], computes: [], notes: [] },
    },
    "compute1:22": compute("C1KEY"),
    "compute2:22": compute("C2KEY"),
  };
  for (const [k, v] of Object.entries(over)) base[k] = { ...(base[k] ?? compute(k)), ...v };
  return base;
}

interface World {
  ask: FakeAsk;
  probe: FakeProbe;
  written: Map<string, string>;
  deps: WizardDeps;
}

function world(
  script: Record<string, Scripted | Scripted[]>,
  o: {
    env?: Record<string, string>;
    files?: Record<string, string>;
    machines?: Record<string, FakeMachine>;
    probe?: FakeProbe;
  } = {},
): World {
  const files = new Map(Object.entries({ [KEY]: "key", "/root/old.pass": "old-pw\n", ...o.files }));
  const written = new Map<string, string>();
  const secrets: SecretReader = {
    env: { NEW_MYSQL_PASSWORD: "new-pw", ...o.env },
    baseDir: "/root/work",
    readFile: (f) => {
      const t = files.get(f);
      return t === undefined
        ? Promise.reject(Object.assign(new Error("ENOENT"), { code: "ENOENT" }))
        : Promise.resolve(t);
    },
    stat: (f) =>
      files.has(f)
        ? Promise.resolve({ mode: 0o100600 })
        : Promise.reject(Object.assign(new Error("ENOENT"), { code: "ENOENT" })),
  };
  const ask = new FakeAsk(script);
  const probe = o.probe ?? new FakeProbe(o.machines ?? machines());
  return {
    ask,
    probe,
    written,
    deps: {
      ask,
      probe,
      secrets,
      files: {
        exists: (p) => Promise.resolve(files.has(p)),
        writeSecret: (p, v) => {
          written.set(p, v);
          files.set(p, `${v}\n`);
          return Promise.resolve();
        },
      },
      home: "/root",
      answersDir: "/root/work",
      hasAgent: false,
    },
  };
}

/** The answers a lab operator gives: mostly Enter, trusting the keys shown. */
const LAB_SCRIPT: Record<string, Scripted | Scripted[]> = {
  "controllers.old.ssh.address": "198.51.100.3",
  "controllers.old.ssh.trust_host_key": true,
  "controllers.old.mysql.password.kind": "file",
  "controllers.old.mysql.password.file": "/root/old.pass",
  target_release: "zed",
  "controllers.new.ssh.address": "198.51.100.5",
  "controllers.new.ssh.trust_host_key": true,
  "controllers.new.mysql.password.kind": "env",
  "computes.hosts.compute1.ssh.trust_host_key": true,
  "computes.hosts.compute2.ssh.trust_host_key": true,
  "networks.add": [true, false],
  "packages.source": "deb http://198.51.100.254:8080/ bookworm-zed main",
  "packages.trusted": true,
};

function load(outcome: WizardOutcome) {
  const text = answersToYaml(outcome.answers, { displayName: "answers.yaml", now: new Date(0) });
  const r = parseAnswers(text, "answers.yaml");
  if (!r.ok) throw new Error(`answer file refused: ${JSON.stringify(r.errors)}\n${text}`);
  return { text, answers: r.loaded.answers, warnings: r.loaded.warnings };
}

describe("wizard flow", () => {
  it("a lab session: defaults from discovery, keys trusted on yes, a file the loader accepts", async () => {
    const w = world(LAB_SCRIPT);
    const outcome = await runWizardFlow(w.deps, undefined);
    const { answers, warnings, text } = load(outcome);
    expect(warnings).toEqual([]);
    // Discovered: the release, the services, the moved addresses with their networks and interfaces, computes.
    expect(answers.source_release).toBe("victoria");
    expect(w.ask.defaultsOf("source_release")).toEqual(["victoria"]);
    expect(answers.services).toEqual(["keystone", "glance", "placement", "nova", "neutron", "cinder"]);
    expect(answers.networks).toEqual([
      {
        name: "mgmt",
        cidr: "198.51.100.0/24",
        address: "198.51.100.4",
        old_interface: "eth0",
        new_interface: "ens3",
      },
      {
        name: "storage",
        cidr: "198.18.0.0/24",
        address: "198.18.0.4",
        old_interface: "eth1",
        new_interface: "ens4",
      },
    ]);
    expect(answers.iscsi).toEqual({ old_portal: "198.18.0.4", new_portal: "198.18.0.4" });
    expect(answers.computes.discover).toBe(true);
    expect(answers.computes.ssh_defaults).toMatchObject({ user: "root", key_file: KEY, port: 22 });
    // Given: the answers typed.
    expect(answers.target_release).toBe("zed");
    expect(answers.controllers.old.ssh).toMatchObject({
      address: "198.51.100.3",
      key_file: KEY,
      known_hosts: "~/.ssh/known_hosts",
    });
    expect(answers.controllers.old.mysql.password).toEqual({ file: "/root/old.pass" });
    expect(answers.controllers.new.mysql.password).toEqual({ env: "NEW_MYSQL_PASSWORD" });
    expect(answers.controllers.new.staging_address).toBe("198.51.100.5");
    expect(answers.packages).toEqual({
      source: "deb http://198.51.100.254:8080/ bookworm-zed main",
      trusted: true,
    });
    expect(answers.options).toEqual({
      concurrency: 4,
      freeze: "stop-apis",
      switch: "confirm",
      credentials: "keep",
    });
    // Every host's key was shown and recorded only after the yes; each machine logged in once; DB logins tried.
    expect(w.probe.trusted).toEqual(["198.51.100.3:22", "198.51.100.5:22", "compute1:22", "compute2:22"]);
    expect(w.probe.knownHosts.get(KH)).toHaveLength(4);
    expect(w.probe.mysqlTries.map((t) => [t.user, t.password])).toEqual([
      ["root", "old-pw"],
      ["root", "new-pw"],
    ]);
    expect(w.probe.closed).toBe(4);
    // No secret value in the file; each section commented.
    expect(text).not.toContain("old-pw");
    expect(text).not.toContain("new-pw");
    expect(text).toMatch(/# Addresses that move[^\n]*\nnetworks:/);
    expect(text).toContain("password: { file: /root/old.pass }");
  });

  it("an unknown host key declined is not recorded and the endpoint is asked again", async () => {
    const w = world({
      ...LAB_SCRIPT,
      "controllers.old.ssh.address": ["198.51.100.3", DEFAULT],
      "controllers.old.ssh.trust_host_key": [false, true],
    });
    await runWizardFlow(w.deps, undefined);
    const trustQuestions = w.ask.asked.filter((a) => a.id === "controllers.old.ssh.trust_host_key");
    expect(trustQuestions).toHaveLength(2);
    expect(trustQuestions[0]?.message).toContain("SHA256:OLDKEY");
    expect(trustQuestions[0]?.default).toBe(false);
    expect(w.ask.notes.some((n) => n.startsWith("Not trusted: nothing was recorded"))).toBe(true);
    // Re-asked with what was typed as the default.
    expect(w.ask.defaultsOf("controllers.old.ssh.address")).toEqual([undefined, "198.51.100.3"]);
    expect(w.probe.trusted.filter((t) => t === "198.51.100.3:22")).toHaveLength(1);
  });

  it("a changed host key is refused without a question, and another address is asked", async () => {
    const all = machines();
    const probe = new FakeProbe({
      ...all,
      "198.51.100.30:22": { ...all["198.51.100.3:22"]!, key: "OLD2KEY" },
    });
    probe.knownHosts.set(KH, ["198.51.100.3:22 SOMEONE-ELSE"]);
    const w = world(
      { ...LAB_SCRIPT, "controllers.old.ssh.address": ["198.51.100.3", "198.51.100.30"] },
      { probe, machines: undefined },
    );
    // 198.51.100.30 is the old controller reached at another address; it also accepts our key.
    await runWizardFlow(w.deps, undefined);
    expect(w.ask.notes.find((n) => n.includes("DIFFERENT"))).toMatch(/SHA256:OLDKEY.*line 1/);
    expect(w.ask.asked.filter((a) => a.id === "controllers.old.ssh.trust_host_key")).toHaveLength(1);
    expect(probe.knownHosts.get(KH)?.[0]).toBe("198.51.100.3:22 SOMEONE-ELSE");
    expect(probe.trusted[0]).toBe("198.51.100.30:22");
  });

  it("an unreachable host and a refused login are shown and asked again", async () => {
    const w = world({
      ...LAB_SCRIPT,
      "controllers.old.ssh.address": ["198.51.100.99", "198.51.100.3", DEFAULT],
      "controllers.old.ssh.user": [DEFAULT, "admin", "root"],
      "controllers.old.ssh.sudo": true,
    });
    await runWizardFlow(w.deps, undefined);
    expect(w.ask.notes.some((n) => /✗ cannot reach .*198\.51\.100\.99/.test(n))).toBe(true);
    expect(w.ask.notes.some((n) => /✗ .*refused our login/.test(n))).toBe(true);
    expect(w.probe.logins[0]).toMatchObject({ name: "old", user: "root" });
  });

  it("a wrong MySQL password is shown and the credentials asked again", async () => {
    const w = world(
      {
        ...LAB_SCRIPT,
        "controllers.old.mysql.password.kind": ["env", "env"],
        "controllers.old.mysql.password.env": ["WRONG_PW", "OLD_PW"],
      },
      { env: { WRONG_PW: "nope", OLD_PW: "old-pw" } },
    );
    const { answers } = load(await runWizardFlow(w.deps, undefined));
    expect(w.ask.notes.some((n) => n.includes("refused the login") && !n.includes("nope"))).toBe(true);
    expect(answers.controllers.old.mysql.password).toEqual({ env: "OLD_PW" });
  });

  it("a secret file that does not exist is written (0600 by the files dep) only once the login worked", async () => {
    const w = world({
      ...LAB_SCRIPT,
      "controllers.old.mysql.password.file": ["/root/work/old-mysql.pass", "/root/work/old-mysql.pass"],
      "controllers.old.mysql.password.value": ["typo", "old-pw"],
    });
    const { answers } = load(await runWizardFlow(w.deps, undefined));
    expect([...w.written]).toEqual([["/root/work/old-mysql.pass", "old-pw"]]);
    expect(answers.controllers.old.mysql.password).toEqual({ file: "/root/work/old-mysql.pass" });
  });

  it("a key that needs a passphrase asks for its reference and logs in with it", async () => {
    const w = world(
      {
        ...LAB_SCRIPT,
        "controllers.old.ssh.passphrase.kind": "env",
        "controllers.old.ssh.passphrase.env": "OLD_KEY_PASS",
      },
      {
        env: { OLD_KEY_PASS: "s3cret" },
        machines: machines({ "198.51.100.3:22": { passphrase: "s3cret" } }),
      },
    );
    const { answers, text } = load(await runWizardFlow(w.deps, undefined));
    expect(answers.controllers.old.ssh.passphrase).toEqual({ env: "OLD_KEY_PASS" });
    expect(text).not.toContain("s3cret");
  });

  it("addresses are checked against their network and the SSH addresses as they are typed", async () => {
    const w = world({
      ...LAB_SCRIPT,
      "networks[0].address": ["198.51.100.3", "10.1", DEFAULT],
      "networks[0].cidr": ["10.0.0.0/24", "198.51.100.0", DEFAULT],
    });
    const { answers } = load(await runWizardFlow(w.deps, undefined));
    const reasons = w.ask.refused.map((r) => `${r.id}: ${String(r.value)}: ${r.reason}`);
    expect(reasons[0]).toMatch(/networks\[0\]\.address: 198\.51\.100\.3: .*moved address.*old controller/);
    expect(reasons[1]).toMatch(/networks\[0\]\.address: 10\.1: expected a four-part dotted IPv4/);
    expect(reasons[2]).toMatch(
      /networks\[0\]\.cidr: 10\.0\.0\.0\/24: expected an address inside 10\.0\.0\.0\/24/,
    );
    expect(reasons[3]).toMatch(/networks\[0\]\.cidr: 198\.51\.100\.0: .*prefix is missing/);
    expect(answers.networks[0]?.cidr).toBe("198.51.100.0/24");
  });

  it("an explicit compute list asks name and address per host, defaulting to nova's names", async () => {
    const w = world({
      ...LAB_SCRIPT,
      "computes.mode": "list",
      "computes.hosts[0].ssh.address": "compute1",
      "computes.hosts[1].ssh.address": "compute2",
      "computes.hosts[0].ssh.trust_host_key": true,
      "computes.hosts[1].ssh.trust_host_key": true,
      "computes.hosts.add": false,
    });
    const { answers } = load(await runWizardFlow(w.deps, undefined));
    expect(w.ask.defaultsOf("computes.hosts[0].name")).toEqual(["compute1"]);
    expect(answers.computes.discover).toBe(false);
    expect(answers.computes.hosts.map((h) => [h.name, h.ssh.address, h.ssh.key_file])).toEqual([
      ["compute1", "compute1", KEY],
      ["compute2", "compute2", KEY],
    ]);
  });

  it("re-running with the written file offers its values as defaults and gives the same answers", async () => {
    const first = world({
      ...LAB_SCRIPT,
      "options.switch": "never",
      "options.concurrency": 8,
      state_dir: "/srv/handover",
    });
    const one = load(await runWizardFlow(first.deps, undefined));
    // Same machines and known_hosts (keys already recorded): no answer scripted at all, Enter everywhere.
    const again = world({}, { probe: first.probe });
    const two = load(await runWizardFlow(again.deps, parseYaml(one.text)));
    expect(two.answers).toEqual(one.answers);
    expect(again.ask.defaultsOf("packages.source")).toEqual([
      "deb http://198.51.100.254:8080/ bookworm-zed main",
    ]);
    expect(again.ask.defaultsOf("options.switch")).toEqual(["never"]);
    expect(again.ask.defaultsOf("controllers.old.ssh.address")).toEqual(["198.51.100.3"]);
    expect(again.ask.asked.some((a) => a.id.endsWith("trust_host_key"))).toBe(false);
  });

  it("re-running keeps discovered computes reached at typed addresses (their names do not resolve)", async () => {
    const m = machines();
    delete m["compute1:22"];
    delete m["compute2:22"];
    m["198.51.100.10:22"] = { ...machines()["compute1:22"]!, key: "C1KEY" };
    m["198.51.100.11:22"] = { ...machines()["compute2:22"]!, key: "C2KEY" };
    const first = world(
      {
        ...LAB_SCRIPT,
        "computes.hosts.compute1.ssh.address": "198.51.100.10",
        "computes.hosts.compute2.ssh.address": "198.51.100.11",
      },
      { machines: m },
    );
    const one = load(await runWizardFlow(first.deps, undefined));
    expect(one.answers.computes.hosts.map((h) => [h.name, h.ssh.address])).toEqual([
      ["compute1", "198.51.100.10"],
      ["compute2", "198.51.100.11"],
    ]);
    const again = world({}, { probe: first.probe });
    const two = load(await runWizardFlow(again.deps, parseYaml(one.text)));
    expect(two.answers).toEqual(one.answers);
    expect(again.ask.asked.some((a) => a.id === "computes.hosts.compute1.ssh.address")).toBe(false);
  });

  it("a target release older than the source is refused with the reason", async () => {
    const w = world({ ...LAB_SCRIPT, target_release: ["ussuri", "zed"] });
    await runWizardFlow(w.deps, undefined);
    expect(w.ask.notes).toContain(
      "✗ expected a release newer than victoria (handover upgrades; it does not downgrade)",
    );
  });
});

describe("wizard flow on a re-run", () => {
  it("refuses the old controller's SSH address when the previous file moves that address", async () => {
    const w = world({ ...LAB_SCRIPT, "controllers.old.ssh.address": ["198.51.100.4", "198.51.100.3"] });
    const previous = { networks: [{ name: "mgmt", cidr: "198.51.100.0/24", address: "198.51.100.4" }] };
    await runWizardFlow(w.deps, previous);
    expect(w.ask.refused[0]).toMatchObject({ id: "controllers.old.ssh.address", value: "198.51.100.4" });
    expect(w.ask.refused[0]?.reason).toMatch(/moved address \(network "mgmt"/);
  });
});
