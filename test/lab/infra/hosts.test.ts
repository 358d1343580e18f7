/**
 * The lab's hosts as handover will see them: SSH with strict host keys from the jump (through the project's
 * SshHost), no default route in any lab namespace, ping between hosts over mgmt and storage, the Zed mirror serving
 * a complete dependency closure, and an answer file naming every host.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse } from "yaml";
import { SshHost } from "../../../src/hosts/ssh-host.js";
import { execIn, findHost } from "../../../lab/enter.js";
import { mirrorPackages } from "../../../lab/mirror.js";
import { KNOWN_HOSTS_FILE, LAB_KEY_FILE } from "../../../lab/paths.js";
import { labHosts, MIRROR_SOURCE, sshAddress } from "../../../lab/plan.js";
import { readState } from "../../../lab/state.js";
import { labAnswersPath, labDescribe } from "../setup/lab-context.js";
import { resetLab } from "../e2e/e2e-helpers.js";

function hostsNow() {
  return labHosts(readState()!.computes);
}

labDescribe("lab hosts", () => {
  const opened: SshHost[] = [];
  // Needs the freshly seeded lab (bare new for the mirror's install simulation): earlier files may have migrated it.
  beforeAll(async () => {
    await resetLab();
  });
  afterAll(async () => {
    await Promise.all(opened.map((h) => h.close()));
  });

  it("every host answers SSH from the jump with a strict host key check, as itself", async () => {
    for (const h of hostsNow()) {
      const ssh = new SshHost({
        name: h.name,
        address: sshAddress(h),
        keyFile: LAB_KEY_FILE,
        knownHostsFile: KNOWN_HOSTS_FILE,
        hostKeyPolicy: "strict",
      });
      opened.push(ssh);
      const res = await ssh.exec(["hostname"]);
      expect(res.exitCode, `${h.name}: ${res.stderr}`).toBe(0);
      expect(res.stdout.trim()).toBe(h.name);
    }
  });

  it("a host key that is not the host's own is refused (strict checking really checks)", () => {
    const [old, nu] = hostsNow();
    // known_hosts naming new's key for old's SSH address: ssh must refuse.
    const lines = readFileSync(KNOWN_HOSTS_FILE, "utf8").split("\n");
    const newKey = lines
      .find((l) => l.startsWith("new,"))!
      .split(" ")
      .slice(1)
      .join(" ");
    const wrong = `/run/handover-lab/known_hosts.wrong`;
    execFileSync("sh", ["-c", `printf '%s\\n' "$1" > ${wrong}`, "sh", `${sshAddress(old!)} ${newKey}`]);
    let code = 0;
    try {
      execFileSync(
        "ssh",
        [
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          `UserKnownHostsFile=${wrong}`,
          "-i",
          LAB_KEY_FILE,
          `root@${sshAddress(old!)}`,
          "true",
        ],
        { stdio: "pipe" },
      );
    } catch (err) {
      code = (err as { status: number }).status;
    }
    expect(code).toBe(255);
    expect(nu).toBeDefined();
  });

  it("no lab namespace has a default route, and the jump only has host routes and blackholes into lab ranges", () => {
    for (const h of hostsNow()) {
      const routes = execFileSync("ip", ["-n", `ho-${h.name}`, "route", "show", "table", "all"], {
        encoding: "utf8",
      });
      expect(routes, h.name).not.toMatch(/^default/m);
      expect(routes, h.name).toContain("198.51.100.0/24 dev eth0");
      expect(routes, h.name).toContain("198.18.0.0/24 dev eth1");
    }
    const bridgeRoutes = execFileSync("ip", ["-n", "ho-br", "route", "show"], { encoding: "utf8" });
    expect(bridgeRoutes.trim()).toBe("");
    const jump = execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" });
    expect(jump).toMatch(/^blackhole 198\.51\.100\.0\/24/m);
    expect(jump).toMatch(/^blackhole 198\.18\.0\.0\/24/m);
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe("0");
  });

  it("hosts ping each other over mgmt and over storage", () => {
    const hosts = hostsNow();
    const from = findHost("new");
    for (const h of hosts.filter((x) => x.name !== "new")) {
      for (const addr of [h.mgmt[0]!, h.storage[0]!]) {
        const res = execIn(from, ["ping", "-c", "1", "-W", "2", addr]);
        expect(res.code, `new -> ${h.name} ${addr}: ${res.stdout}${res.stderr}`).toBe(0);
      }
    }
    const res = execIn(findHost("compute1"), ["ping", "-c", "1", "-W", "2", "198.18.0.5"]);
    expect(res.code).toBe(0);
  });

  it("each host sees only its own processes, with a reaper as PID 1", () => {
    const res = execIn(findHost("new"), ["ps", "-eo", "pid,comm"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^\s*1 bash$/m);
    expect(res.stdout).toContain("sshd");
    expect(res.stdout).not.toContain("vitest");
  });

  it("the new controller can install every Zed package from the lab mirror alone (simulated)", () => {
    const nu = findHost("new");
    const setup = execIn(nu, [
      "sh",
      "-c",
      `echo "$1" > /etc/apt/sources.list.d/handover-lab-test.list && apt-get update -o Debug::NoLocking=1`,
      "sh",
      MIRROR_SOURCE,
    ]);
    try {
      expect(setup.code, setup.stderr).toBe(0);
      const sim = execIn(nu, ["apt-get", "install", "--simulate", "-y", ...mirrorPackages()]);
      expect(sim.code, sim.stderr).toBe(0);
      expect(sim.stdout).toMatch(/^Inst keystone /m);
    } finally {
      execIn(nu, [
        "sh",
        "-c",
        "rm -f /etc/apt/sources.list.d/handover-lab-test.list; rm -rf /var/lib/apt/lists/*",
      ]);
    }
  });

  it("the answer file names every host, the key, known_hosts and the mirror", () => {
    interface Ssh {
      address: string;
      known_hosts: string;
    }
    interface Doc {
      controllers: Record<"old" | "new", { ssh: Ssh; mysql: { password: { file: string } } }>;
      networks: { address: string }[];
      computes: { hosts: { name: string }[] };
      packages: { source: string };
    }
    const answers = parse(readFileSync(labAnswersPath(), "utf8")) as Doc;
    expect(answers.controllers.old.ssh.address).toBe("198.51.100.3");
    expect(answers.controllers.new.ssh.address).toBe("198.51.100.5");
    expect(answers.controllers.old.ssh.known_hosts).toBe(KNOWN_HOSTS_FILE);
    expect(answers.networks.map((n) => n.address)).toEqual(["198.51.100.4", "198.18.0.4"]);
    expect(answers.packages.source).toBe(MIRROR_SOURCE);
    const computes = hostsNow().filter((h) => h.kind === "compute");
    expect(answers.computes.hosts.map((c) => c.name)).toEqual(computes.map((c) => c.name));
    for (const f of [
      answers.controllers.old.mysql.password.file,
      answers.controllers.new.mysql.password.file,
    ]) {
      expect(execFileSync("stat", ["-c", "%a", f], { encoding: "utf8" }).trim()).toBe("600");
    }
  });
});
