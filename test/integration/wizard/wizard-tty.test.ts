/**
 * One full `handover wizard` session through a real pseudo-terminal: `npx tsx src/cli/main.ts wizard` runs inside
 * a private tmux server (its own socket, killed at the end: only that server), each prompt is awaited on the
 * screen (capture-pane) and answered with send-keys, against a real loopback sshd (old, new and one compute are
 * its listen addresses) and a private MariaDB whose nova database lists the compute. The final "run now?" is
 * declined; the answer file written must load with the project's loader and hold what was typed and what was
 * discovered (the compute from nova, the network and interface holding the moved address, the host keys).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAnswers } from "../../../src/answers/index.js";
import { serializeFacts } from "../../../src/discovery/facts-file.js";
import { labFacts } from "../../unit/plan/fixtures/lab-facts.js";
import { mariadbSkipReason, startMariaDb, type MariaDb } from "../hosts/fixtures/mariadb.js";
import { freePort, sshdSkipReason, startSshd, type Sshd } from "../hosts/fixtures/sshd.js";

const TMUX = "/usr/bin/tmux";
const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const skip =
  sshdSkipReason() ??
  mariadbSkipReason() ??
  (existsSync(TMUX) ? undefined : `${TMUX} is not installed (apt-get install tmux)`);
if (skip) console.warn(`SKIPPED handover wizard terminal session: ${skip}`);

const OLD = "127.0.0.1";
const NEW = "127.0.0.2";
const COMPUTE = "127.0.0.3";

/**
 * The address the wizard should find on the "old controller" (this machine): the first global IPv4 address of a
 * non-loopback interface, read here independently with `ip -j addr show`. Only written into the answer file (the
 * run is declined; plan only reads). Undefined on a machine without one: then the network is typed in full.
 */
function firstMovable(): { itf: string; address: string; cidr: string } | undefined {
  const links = JSON.parse(execFileSync("ip", ["-j", "addr", "show"], { encoding: "utf8" })) as {
    ifname: string;
    flags?: string[];
    addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
  }[];
  for (const l of links) {
    if (l.flags?.includes("LOOPBACK")) continue;
    // Never the machine's uplink or the registries' range (the project's network rules), even in a file.
    const a = l.addr_info?.find(
      (x) =>
        x.family === "inet" &&
        x.scope === "global" &&
        !x.local.startsWith("192.0.2.") &&
        !x.local.startsWith("203.0.113."),
    );
    if (!a) continue;
    const n = a.local.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - a.prefixlen);
    const net = n - (n % size);
    const dotted = [24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join(".");
    return { itf: l.ifname, address: a.local, cidr: `${dotted}/${a.prefixlen}` };
  }
  return undefined;
}

describe.skipIf(skip !== undefined)("handover wizard in a terminal", () => {
  let sshd: Sshd;
  let db: MariaDb;
  let dir: string;
  let sock: string;

  const tmux = (...args: string[]): string =>
    execFileSync(TMUX, ["-S", sock, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const screen = (): string => tmux("capture-pane", "-p", "-J", "-t", "w", "-S", "-", "-E", "-");

  /** How many times each prompt has been waited for: the k-th wait needs the k-th occurrence on screen. */
  const seen = new Map<string, number>();
  async function waitFor(re: RegExp, timeoutMs = 60_000): Promise<void> {
    const want = (seen.get(re.source) ?? 0) + 1;
    const global = new RegExp(re.source, "g");
    const start = Date.now();
    for (;;) {
      const text = screen();
      if ((text.match(global) ?? []).length >= want) {
        seen.set(re.source, want);
        return;
      }
      if (Date.now() - start > timeoutMs) {
        throw new Error(`timed out waiting for ${re} (occurrence ${want}); screen:\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** Waits for the prompt, then types `text` (if any) and presses Enter. */
  async function answer(re: RegExp, text?: string): Promise<void> {
    await waitFor(re);
    if (text !== undefined) tmux("send-keys", "-t", "w", "-l", text);
    tmux("send-keys", "-t", "w", "Enter");
  }

  beforeAll(async () => {
    [sshd, db] = await Promise.all([startSshd([OLD, NEW, COMPUTE]), startMariaDb()]);
    dir = mkdtempSync(join(tmpdir(), "handover-wizard-"));
    sock = join(dir, "tmux.sock");
    writeFileSync(join(dir, "old-mysql.pass"), `${db.password}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "new-mysql.pass"), `${db.password}\n`, { mode: 0o600 });
    db.sql(
      "CREATE DATABASE nova;" +
        "CREATE TABLE nova.services (id INT PRIMARY KEY AUTO_INCREMENT, host VARCHAR(255), `binary` VARCHAR(255), version INT DEFAULT 56, disabled TINYINT DEFAULT 0, forced_down TINYINT DEFAULT 0, updated_at DATETIME NULL, deleted INT DEFAULT 0);" +
        "CREATE TABLE nova.instances (id INT PRIMARY KEY AUTO_INCREMENT, deleted INT DEFAULT 0);" +
        "CREATE TABLE nova.block_device_mapping (id INT PRIMARY KEY AUTO_INCREMENT, connection_info TEXT, deleted INT DEFAULT 0);" +
        `INSERT INTO nova.services (host, \`binary\`) VALUES ('${COMPUTE}', 'nova-compute'), ('ctl', 'nova-scheduler');`,
    );
  });
  afterAll(async () => {
    if (sock && existsSync(sock)) {
      try {
        tmux("kill-server");
      } catch {
        // already gone
      }
    }
    await Promise.all([sshd?.stop(), db?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("asks, checks, writes a loadable answer file with typed and discovered values, and declines to run", async () => {
    const file = join(dir, "answers.yaml");
    const kh = join(dir, ".ssh", "known_hosts");
    // HOME is the test's directory: the default known_hosts (~/.ssh/known_hosts) is a new file there.
    // This machine runs no OpenStack, so a plan from its own discovery is refused (PLAN_SERVICE_MISSING, as it
    // should be): the plan at the end is built from the lab's saved facts instead (`--facts`, as `plan` takes).
    const facts = join(dir, "facts.json");
    writeFileSync(facts, serializeFacts(labFacts));
    const command = `cd ${REPO} && npx tsx src/cli/main.ts wizard -f ${file} --facts ${facts}; echo WIZARD-EXIT=$?; sleep 600`;
    execFileSync(
      TMUX,
      ["-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "w", "-x", "200", "-y", "50", command],
      {
        env: { ...process.env, HOME: dir, SSH_AUTH_SOCK: "" },
      },
    );
    tmux("set-option", "-t", "w", "history-limit", "10000");

    // Old controller: first at a port where nothing listens (shown, asked again with what was typed), then right.
    const closed = await freePort();
    await answer(/Address of the old controller/, OLD);
    await answer(/SSH port:/, String(closed));
    await answer(/SSH user:/);
    await answer(/Private key file:/, sshd.clientKey.privatePath);
    await answer(/known_hosts file/);
    await answer(/Host key policy for later runs/);
    await waitFor(new RegExp(`✗ cannot reach an SSH server at 127\\.0\\.0\\.1 port ${closed}`));
    await answer(/Address of the old controller/);
    await answer(/SSH port:/, String(sshd.port));
    await answer(/SSH user:/);
    await answer(/Private key file:/);
    await answer(/known_hosts file/);
    await answer(/Host key policy for later runs/);
    await answer(/Trust host key ssh-ed25519 SHA256:\S+ of/, "y");
    await answer(/MySQL admin user:/, db.user);
    await answer(/Where does handover read the old controller's MySQL password/);
    await answer(/Path of the file holding it:/);
    await answer(/MySQL port, as seen from the controller itself:/, String(db.port));
    // Releases: select prompts, typed to search.
    await answer(/Release the cloud runs today:/, "victoria");
    await answer(/Release the new controller will run:/, "zed");
    // New controller: its SSH settings default to the old one's.
    await answer(/Address of the new controller/, NEW);
    await answer(/SSH port:/);
    await answer(/SSH user:/);
    await answer(/Private key file:/);
    await answer(/known_hosts file/);
    await answer(/Host key policy for later runs/);
    await answer(/Trust host key ssh-ed25519 SHA256:\S+ of/, "y");
    await answer(/staging address\):/);
    await answer(/MySQL admin user:/, db.user);
    await answer(/Where does handover read the new controller's MySQL password/);
    await answer(/Path of the file holding it:/);
    await answer(/MySQL port, as seen from the controller itself:/, String(db.port));
    // Computes: from nova, reached with the old controller's settings; the compute's key shown and trusted.
    await answer(/How does handover find the compute hosts/);
    await answer(/Reach compute hosts with the old controller's SSH settings/);
    await answer(/Trust host key ssh-ed25519 SHA256:\S+ of/, "y");
    await answer(/Services to migrate:/);
    // Network: an address of this machine typed; its network and interfaces are the discovered defaults.
    const movable = firstMovable();
    const moved = movable?.address ?? "127.0.0.9";
    const esc = moved.replaceAll(".", "\\.");
    await answer(/Address that moves \(network 1\):/, moved);
    await answer(new RegExp(`Network of ${esc} \\(CIDR\\):`), movable ? undefined : "127.0.0.0/8");
    await answer(/Short name for this network:/);
    await answer(new RegExp(`Interface carrying ${esc} on the old controller:`), movable ? undefined : "lo");
    await answer(
      new RegExp(`Interface that takes ${esc} on the new controller:`),
      movable ? undefined : "lo",
    );
    await answer(/Does another address move\?/, "n");
    await answer(/over iSCSI on the controller/, "n");
    await answer(/apt source line for the new controller/, "deb http://127.0.0.1:9/ bookworm-zed main");
    await answer(/unsigned mirror/, "y");
    await answer(/State directory/, join(dir, "state"));
    await answer(/How many independent steps/);
    await answer(/How the old control plane is frozen/);
    await answer(/Moving the addresses to the new controller:/, "never");
    await answer(/credentials of the services on the new controller/);
    // Written, planned (read-only), then asked before running: declined.
    await waitFor(/Wrote /);
    await waitFor(/Run the migration now/, 120_000);
    tmux("send-keys", "-t", "w", "n");
    tmux("send-keys", "-t", "w", "Enter");
    await waitFor(/WIZARD-EXIT=\d+/);
    const end = screen();
    // The plan was shown (the `plan` command's output), nothing run, the exact command to run later printed.
    expect(end).toMatch(/Nothing was changed on any host\. `handover run -f /);
    expect(end).toContain(`Nothing was changed. When you are ready, run:\n  handover run -f ${file}`);
    expect(end).toContain("WIZARD-EXIT=0");
    // The key checks were shown: a trusted key, then known on the next contact.
    expect(end).toMatch(/added ssh-ed25519 SHA256:\S+ for 127\.0\.0\.1 port \d+ to /);
    expect(end).toMatch(/nova lists 1 compute host\(s\): 127\.0\.0\.3/);
    expect(end).not.toContain(db.password);

    const loaded = await loadAnswers(file);
    const a = loaded.answers;
    expect(loaded.warnings).toEqual([]);
    // Typed.
    expect(a.source_release).toBe("victoria");
    expect(a.target_release).toBe("zed");
    expect(a.controllers.old.ssh).toMatchObject({
      address: OLD,
      port: sshd.port,
      key_file: sshd.clientKey.privatePath,
    });
    expect(a.controllers.old.mysql).toMatchObject({
      user: db.user,
      port: db.port,
      password: { file: join(dir, "old-mysql.pass") },
    });
    expect(a.controllers.new.ssh).toMatchObject({
      address: NEW,
      port: sshd.port,
      key_file: sshd.clientKey.privatePath,
    });
    expect(a.controllers.new.staging_address).toBe(NEW);
    expect(a.controllers.new.mysql.password).toEqual({ file: join(dir, "new-mysql.pass") });
    expect(a.packages).toEqual({ source: "deb http://127.0.0.1:9/ bookworm-zed main", trusted: true });
    expect(a.state_dir).toBe(join(dir, "state"));
    expect(a.options).toEqual({ concurrency: 4, freeze: "stop-apis", switch: "never", credentials: "keep" });
    expect(a.iscsi).toBeUndefined();
    // Discovered (when this machine has a global IPv4 address): the network and interfaces holding the moved one, the compute from nova, the services
    // default (all: no OpenStack packages on this machine), the host keys now in known_hosts.
    expect(a.networks).toEqual([
      movable
        ? {
            name: "mgmt",
            cidr: movable.cidr,
            address: moved,
            old_interface: movable.itf,
            new_interface: movable.itf,
          }
        : { name: "mgmt", cidr: "127.0.0.0/8", address: moved, old_interface: "lo", new_interface: "lo" },
    ]);
    expect(a.computes.discover).toBe(true);
    expect(a.computes.ssh_defaults).toMatchObject({ port: sshd.port, key_file: sshd.clientKey.privatePath });
    expect(a.services).toEqual(["keystone", "glance", "placement", "nova", "neutron", "cinder", "horizon"]);
    const khText = readFileSync(kh, "utf8");
    for (const addr of [OLD, NEW, COMPUTE]) {
      expect(khText).toContain(`[${addr}]:${sshd.port} ${sshd.hostKey.typeAndBlob}`);
    }
    // Commented sections, no secret, mode 0644 (no inline secret).
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/# Compute hosts:[^\n]*\ncomputes:/);
    expect(text).not.toContain(db.password);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  }, 300_000);

  it("`handover` alone on a terminal starts the wizard; Ctrl-C leaves without writing anything", async () => {
    const file = join(dir, "answers.yaml");
    const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    seen.clear();
    execFileSync(
      TMUX,
      [
        "-S",
        sock,
        "-f",
        "/dev/null",
        "new-window",
        "-d",
        "-t",
        "w",
        "-n",
        "bare",
        `cd ${dir} && ${REPO}/node_modules/.bin/tsx ${REPO}/src/cli/main.ts; echo BARE-EXIT=$?; sleep 600`,
      ],
      { env: { ...process.env, HOME: dir } },
    );
    const bare = (): string => tmux("capture-pane", "-p", "-J", "-t", "w:bare", "-S", "-", "-E", "-");
    const until = async (re: RegExp): Promise<string> => {
      for (let i = 0; i < 600; i++) {
        const t = bare();
        if (re.test(t)) return t;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${re}; screen:\n${bare()}`);
    };
    // It starts from the answers.yaml in the current directory (the first test's, when it ran), as defaults.
    await until(/Address of the old controller/);
    if (before !== undefined) expect(bare()).toContain("Using the values in answers.yaml as defaults");
    tmux("send-keys", "-t", "w:bare", "C-c");
    const end = await until(/BARE-EXIT=\d+/);
    expect(end).toContain("error [WIZARD_CANCELLED]");
    expect(end).toContain("BARE-EXIT=1");
    expect(existsSync(file) ? readFileSync(file, "utf8") : undefined).toBe(before);
  }, 120_000);
});
