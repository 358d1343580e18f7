/**
 * Issue 7 on the real lab: a new operator goes from nothing to a migrated lab only by answering `handover wizard`
 * in a real terminal (a private tmux server, its own socket, killed at the end), then hands over the HTML report.
 *
 * 1. The wizard is answered (host keys shown and trusted into a fresh known_hosts, passwords by file, the lab's
 *    mirror as package source, switch: auto) and told to run now.
 * 2. Ctrl-C in the middle of the run: the run stops at a step boundary (no step left running in the journal) and
 *    says how to continue and how to go back.
 * 3. The wizard again on the same file: every value is offered as the default (only Enter is pressed), it runs
 *    again, the run resumes and completes with the switch; the addresses are on new.
 * 4. `handover status --json` says complete and `handover report --format html` writes one self-contained file.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LAB_KEY_FILE, NEW_MYSQL_PASS_FILE, OLD_MYSQL_PASS_FILE } from "../../../lab/paths.js";
import {
  MIRROR_SOURCE,
  OLD_SERVICE_MGMT,
  OLD_SERVICE_STORAGE,
  labHosts,
  sshAddress,
} from "../../../lab/plan.js";
import { readState } from "../../../lab/state.js";
import { labDescribe } from "../setup/lab-context.js";
import { E2E_DIR, REPO, handover, readJournal, resetLab } from "./e2e-helpers.js";

const TMUX = "/usr/bin/tmux";
const DIR = join(E2E_DIR, "wizard");
const FILE = join(DIR, "answers.yaml");
const STATE = join(DIR, "state");
const SOCK = join(DIR, "tmux.sock");

labDescribe("handover wizard on the lab: answer, run, Ctrl-C, answer again, finish, report", () => {
  const hosts = labHosts(readState()?.computes ?? 1);
  const addr = (name: string): string => sshAddress(hosts.find((h) => h.name === name)!);
  const computes = hosts.filter((h) => h.kind === "compute");

  const tmux = (...args: string[]): string =>
    execFileSync(TMUX, ["-S", SOCK, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  let win = "w";
  const screen = (): string => tmux("capture-pane", "-p", "-J", "-t", win, "-S", "-", "-E", "-");

  /** How many times each prompt has been waited for in this window: the k-th wait needs the k-th occurrence. */
  let seen = new Map<string, number>();
  async function waitFor(re: RegExp, timeoutMs = 120_000): Promise<string> {
    const want = (seen.get(re.source) ?? 0) + 1;
    const global = new RegExp(re.source, "g");
    const start = Date.now();
    for (;;) {
      const text = screen();
      if ((text.match(global) ?? []).length >= want) {
        seen.set(re.source, want);
        return text;
      }
      if (Date.now() - start > timeoutMs) {
        throw new Error(`timed out waiting for ${re} (occurrence ${want}); screen:\n${text.slice(-6000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  async function answer(re: RegExp, text?: string): Promise<void> {
    await waitFor(re);
    if (text !== undefined) tmux("send-keys", "-t", win, "-l", text);
    tmux("send-keys", "-t", win, "Enter");
  }
  function start(name: string, command: string): void {
    win = name;
    seen = new Map();
    const args = ["new-window", "-d", "-t", "w", "-n", name, command];
    if (!existsSync(SOCK)) {
      args.splice(
        0,
        args.length,
        "new-session",
        "-d",
        "-s",
        "w",
        "-n",
        name,
        "-x",
        "200",
        "-y",
        "50",
        command,
      );
      execFileSync(TMUX, ["-S", SOCK, "-f", "/dev/null", ...args], {
        env: { ...process.env, HOME: DIR, SSH_AUTH_SOCK: "", NO_COLOR: "1" },
      });
      tmux("set-option", "-g", "history-limit", "50000");
      return;
    }
    tmux(...args);
  }
  const wizardCommand = (tag: string): string =>
    `cd ${REPO} && node --import tsx src/cli/main.ts wizard -f ${FILE}; echo ${tag}-EXIT=$?; sleep 1800`;

  beforeAll(async () => {
    await resetLab();
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true, mode: 0o700 });
  });
  afterAll(() => {
    if (existsSync(SOCK)) {
      try {
        tmux("kill-server");
      } catch {
        // already gone
      }
    }
  });

  it("the wizard's questions, answered once, lead to a running migration that Ctrl-C stops at a step boundary", async () => {
    start("first", wizardCommand("FIRST"));
    const known = join(DIR, "known_hosts");
    // Old controller: address, SSH settings, its key shown and trusted into a fresh known_hosts.
    await answer(/Address of the old controller/, addr("old"));
    await answer(/SSH port:/);
    await answer(/SSH user:/);
    await answer(/Private key file:/, LAB_KEY_FILE);
    await answer(/known_hosts file/, known);
    await answer(/Host key policy for later runs/);
    await answer(/Trust host key \S+ SHA256:\S+ of/, "y");
    await answer(/MySQL admin user:/, "root");
    await answer(/Where does handover read the old controller's MySQL password/);
    await answer(/Path of the file holding it:/, OLD_MYSQL_PASS_FILE);
    await answer(/MySQL port, as seen from the controller itself:/);
    await answer(/Release the cloud runs today:/);
    await answer(/Release the new controller will run:/, "zed");
    await answer(/Address of the new controller/, addr("new"));
    await answer(/SSH port:/);
    await answer(/SSH user:/);
    await answer(/Private key file:/);
    await answer(/known_hosts file/);
    await answer(/Host key policy for later runs/);
    await answer(/Trust host key \S+ SHA256:\S+ of/, "y");
    await answer(/staging address\):/);
    await answer(/MySQL admin user:/, "root");
    await answer(/Where does handover read the new controller's MySQL password/);
    await answer(/Path of the file holding it:/, NEW_MYSQL_PASS_FILE);
    await answer(/MySQL port, as seen from the controller itself:/);
    // new's MariaDB is installed by provisioning: the wizard says it cannot log in yet and asks.
    await answer(/Keep these credentials anyway\?/, "y");
    // Computes: nova names them; their names do not resolve here, so each address is typed.
    await answer(/How does handover find the compute hosts/);
    await answer(/Reach compute hosts with the old controller's SSH settings/);
    for (const c of computes) {
      await answer(new RegExp(`Address of compute host ${c.name}`), sshAddress(c));
      await answer(/Trust host key \S+ SHA256:\S+ of/, "y");
    }
    await answer(/Services to migrate:/);
    // Networks: the two service addresses found on old are the defaults, in order.
    await answer(/Address that moves \(network 1\):/);
    await answer(/Network of 198\.51\.100\.4 \(CIDR\):/);
    await answer(/Short name for this network:/);
    await answer(/Interface carrying 198\.51\.100\.4 on the old controller:/);
    await answer(/Interface that takes 198\.51\.100\.4 on the new controller:/);
    await answer(/Does another address move\?/);
    await answer(/Address that moves \(network 2\):/);
    await answer(/Network of 198\.18\.0\.4 \(CIDR\):/);
    await answer(/Short name for this network:/);
    await answer(/Interface carrying 198\.18\.0\.4 on the old controller:/);
    await answer(/Interface that takes 198\.18\.0\.4 on the new controller:/);
    await answer(/Does another address move\?/);
    await answer(/over iSCSI on the controller/);
    await answer(/iSCSI portal in the volumes' connection_info today/);
    await answer(/Where the portal is after the move/);
    await answer(/apt source line for the new controller/, MIRROR_SOURCE.replace("[trusted=yes] ", ""));
    await answer(/unsigned mirror/, "y");
    await answer(/State directory/, STATE);
    await answer(/How many independent steps/);
    await answer(/How the old control plane is frozen/);
    await answer(/Moving the addresses to the new controller:/, "auto");
    await answer(/credentials of the services on the new controller/);
    await waitFor(/Wrote /);
    await answer(/Run the migration now/, "y");

    // Ctrl-C once the data phase has begun: the run finishes the steps in flight and starts no other.
    const t0 = Date.now();
    for (;;) {
      if (readJournal(STATE).some((r) => r.type === "step-start" && r.stepId.startsWith("data."))) break;
      if (Date.now() - t0 > 900_000) throw new Error(`the data phase never started; screen:\n${screen()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    tmux("send-keys", "-t", win, "C-c");
    const end = await waitFor(/FIRST-EXIT=\d+/, 600_000);
    // The live view says it at once (in the running phases' titles), and the run's last words say where it stopped.
    expect(end).toContain("! Ctrl-C: stopping once the running steps reach a safe point");
    expect(end).toMatch(/error \[RUN_INTERRUPTED\]: Stopped on request: \d+ of \d+ steps are done/);
    expect(end).toContain(`To continue: \`handover run -f`);
    expect(end).toContain(`To go back: \`handover rollback -f`);
    expect(end).not.toMatch(/FIRST-EXIT=0\b/);
    // A step boundary: every step the journal started also ended (done or failed), none is left running.
    const started = new Set<string>();
    for (const r of readJournal(STATE)) {
      if (r.type === "step-start") started.add(r.stepId);
      if (r.type === "step-done" || r.type === "step-failed") started.delete(r.stepId);
    }
    expect([...started]).toEqual([]);
    const status = JSON.parse((await handover(["status", "-f", FILE, "--json"])).output) as { state: string };
    expect(status.state).toBe("interrupted");
    // The answer file holds what was typed and discovered; no password in it.
    const text = readFileSync(FILE, "utf8");
    expect(text).toContain(OLD_SERVICE_MGMT);
    expect(text).toContain(OLD_SERVICE_STORAGE);
    expect(text).not.toContain(readFileSync(OLD_MYSQL_PASS_FILE, "utf8").trim());
    expect(readFileSync(known, "utf8").split("\n").filter(Boolean).length).toBeGreaterThanOrEqual(
      2 + computes.length,
    );
  }, 1_800_000);

  it("the wizard again offers every value as its default; Enter alone resumes the run to a completed switch", async () => {
    start("second", wizardCommand("SECOND"));
    await waitFor(/Using the values in \S*answers\.yaml as defaults/);
    // Enter at every question until the last one: each default is the first session's answer.
    const t0 = Date.now();
    let asked = 0;
    for (;;) {
      const text = screen();
      if (/Run the migration now/.test(text)) break;
      if (Date.now() - t0 > 300_000) throw new Error(`no "Run the migration now" question; screen:\n${text}`);
      // The question waiting for an answer is the last one on screen still marked "?" (answered ones get "✔";
      // a select prompt's choices follow its question line).
      const marks = text.split("\n").filter((l) => /^[?✔] /.test(l));
      const last = marks[marks.length - 1] ?? "";
      if (last.startsWith("? ") && !/Trust host key/.test(last)) {
        tmux("send-keys", "-t", win, "Enter");
        asked++;
        const before = text;
        for (let i = 0; i < 100 && screen() === before; i++) await new Promise((r) => setTimeout(r, 100));
      } else {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(asked).toBeGreaterThan(20);
    await answer(/Run the migration now/, "y");
    const end = await waitFor(/SECOND-EXIT=\d+/, 1_500_000);
    expect(end).toContain("SECOND-EXIT=0");
    const status = JSON.parse((await handover(["status", "-f", FILE, "--json"])).output) as { state: string };
    expect(status.state).toBe("completed");
    const done = new Set(
      readJournal(STATE)
        .filter((r) => r.type === "step-done")
        .map((r) => r.stepId),
    );
    for (const id of ["net.switch.mgmt", "net.switch.storage"]) expect(done).toContain(id);
  }, 1_800_000);

  it("`handover report --format html` writes one self-contained file for the manager", async () => {
    const out = join(DIR, "report.html");
    const r = await handover(["report", "-f", FILE, "--format", "html", "-o", out]);
    expect(r.code).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet[^>]+href=/i);
    expect(html).toContain("198.51.100.4");
    expect(html).not.toContain(readFileSync(NEW_MYSQL_PASS_FILE, "utf8").trim());
  });
});
