/**
 * `handover plan` in-process through runCli with a recording CliIo: saved facts (`--facts`) instead of hosts,
 * text and JSON output, --save-facts, refusals (unsafe jump before and after discovery, bad answers, bad facts),
 * and the discovery path with injected fake controllers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseAnswers, type LoadedAnswers } from "../../../src/answers/index.js";
import { planCommand, type PlanDeps } from "../../../src/cli/commands/plan.js";
import type { CliIo } from "../../../src/cli/io.js";
import { runCli } from "../../../src/cli/run-cli.js";
import { gatherFacts } from "../../../src/discovery/gather.js";
import { readOnly } from "../../../src/discovery/readonly-host.js";
import { MysqlErrorCode } from "../../../src/db/mysql-client.js";
import { UserError } from "../../../src/lib/errors.js";
import type { Facts } from "../../../src/plan/facts.js";
import { labFacts } from "../plan/fixtures/lab-facts.js";
import { shippedCatalog } from "../plan/helpers.js";
import { newHost, oldHost, oldSql } from "../discovery/lab-fakes.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const EXAMPLE = "templates/answers.example.yaml";
const exampleText = readFileSync(join(root, EXAMPLE), "utf8");

function recordingIo(cwd = root): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    env: { HOME: "/root" },
    cwd,
    isTTY: false,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  };
}

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "handover-plan-"));
  temps.push(dir);
  return dir;
}

function factsFile(facts: unknown, dir = tempDir()): string {
  const path = join(dir, "facts.json");
  writeFileSync(path, JSON.stringify(facts, null, 2));
  return path;
}

describe("handover plan --facts", () => {
  it("prints the facts and the whole plan, and says nothing changed", async () => {
    const io = recordingIo();
    const code = await runCli(["plan", "-f", EXAMPLE, "--facts", factsFile(labFacts)], io);
    expect(io.err).toEqual([]);
    expect(code).toBe(0);
    const out = io.out.join("\n");
    expect(out).toContain("Facts (collected 2026-11-22T01:00:00Z):");
    expect(out).toMatch(/old +old \(debian 11 bullseye\): victoria/);
    expect(out).toMatch(/Plan: victoria -> zed, \d+ steps/);
    expect(out).toContain("Points of no return:");
    expect(out).toContain("db.nova.import");
    expect(out).toContain("Nothing was changed on any host.");
  });

  it("prints {facts, plan, notes} as JSON", async () => {
    const io = recordingIo();
    const code = await runCli(["plan", "-f", EXAMPLE, "--facts", factsFile(labFacts), "--json"], io);
    expect(code).toBe(0);
    const doc = JSON.parse(io.out.join("\n")) as {
      facts: Facts;
      plan: { steps: { id: string }[] };
      notes: string[];
    };
    expect(doc.facts).toEqual(labFacts);
    expect(doc.plan.steps.map((s) => s.id)).toContain("net.switch.mgmt");
    expect(Array.isArray(doc.notes)).toBe(true);
  });

  it("accepts its own --json output as a facts file, and saves facts with --save-facts", async () => {
    const dir = tempDir();
    const io = recordingIo();
    await runCli(["plan", "-f", EXAMPLE, "--facts", factsFile(labFacts, dir), "--json"], io);
    const jsonOut = join(dir, "plan.json");
    writeFileSync(jsonOut, io.out.join("\n"));
    const saved = join(dir, "saved.json");
    const io2 = recordingIo();
    expect(await runCli(["plan", "-f", EXAMPLE, "--facts", jsonOut, "--save-facts", saved], io2)).toBe(0);
    expect(JSON.parse(readFileSync(saved, "utf8"))).toEqual(labFacts);
    expect(io2.out.join("\n")).toContain(`Facts saved to ${saved}.`);
  });

  it("refuses a jump the data checks make unsafe, with the catalog's reason, exit 1", async () => {
    const facts = { ...labFacts, dataChecks: { "cinder-untyped-volumes": 3, "cinder-services-uuid": 0 } };
    const io = recordingIo();
    const code = await runCli(["plan", "-f", EXAMPLE, "--facts", factsFile(facts)], io);
    expect(code).toBe(1);
    const err = io.err.join("\n");
    expect(err).toContain("[UNSAFE_JUMP]");
    expect(err).toContain("NULL volume_type_id");
    expect(err).toContain("3 row(s)");
    expect(io.out).toEqual([]);
  });

  it("refuses when the old controller runs another release than the answers say", async () => {
    const facts = {
      ...labFacts,
      controllers: { ...labFacts.controllers, old: { ...labFacts.controllers.old, release: "wallaby" } },
    };
    const io = recordingIo();
    expect(await runCli(["plan", "-f", EXAMPLE, "--facts", factsFile(facts)], io)).toBe(1);
    expect(io.err.join("\n")).toContain("[PLAN_RELEASE_MISMATCH]");
  });

  it("lists answer-file errors with file:line:col, exit 1", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "answers.yaml"), exampleText.replace("concurrency: 4", "concurrency: 99"));
    const io = recordingIo(dir);
    expect(await runCli(["plan", "-f", "answers.yaml", "--facts", factsFile(labFacts)], io)).toBe(1);
    expect(io.err.join("\n")).toMatch(/answers\.yaml:\d+:\d+.*options\.concurrency/);
  });

  it("rejects a facts file that is not facts, naming the field", async () => {
    const broken = { ...labFacts, controllers: { ...labFacts.controllers, new: { hostname: "new" } } };
    const io = recordingIo();
    expect(await runCli(["plan", "-f", EXAMPLE, "--facts", factsFile(broken)], io)).toBe(1);
    expect(io.err.join("\n")).toMatch(/\[FACTS_INVALID\][\s\S]*controllers\.new\.os/);
  });
});

function answersAt(text: string): LoadedAnswers {
  const r = parseAnswers(text, "answers.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.loaded;
}

describe("planCommand with injected discovery", () => {
  const fakeDiscovery = (calls: string[], secretsLeak = false): PlanDeps => ({
    catalog: shippedCatalog,
    now: () => new Date("2026-11-22T01:00:00Z"),
    discover: async (loaded, _path, _io, catalog) => {
      calls.push(loaded.answers.target_release);
      const g = await gatherFacts(
        { host: readOnly(oldHost()), openSql: () => Promise.resolve(oldSql()) },
        {
          host: readOnly(newHost()),
          openSql: () => Promise.reject(new UserError(MysqlErrorCode.unreachable, "connection refused")),
        },
        {
          catalog,
          sourceRelease: loaded.answers.source_release,
          targetRelease: loaded.answers.target_release,
          services: loaded.answers.services,
          now: () => new Date("2026-11-22T01:00:00Z"),
        },
      );
      return {
        ...g,
        notes: [...g.notes, ...(secretsLeak ? ["the password is pa55word"] : [])],
        secrets: ["pa55word"],
      };
    },
  });

  it("plans from discovered facts and prints discovery's notes, redacted", async () => {
    const calls: string[] = [];
    const io = recordingIo();
    const code = await planCommand({ file: EXAMPLE }, io, fakeDiscovery(calls, true));
    expect(code).toBe(0);
    expect(calls).toEqual(["zed"]);
    const out = io.out.join("\n");
    expect(out).toContain("Discovery notes:");
    expect(out).toContain("no MySQL answering yet");
    expect(out).toContain("the password is ***");
    expect(out).not.toContain("pa55word");
    expect(out).toMatch(/nova: 2 cell\(s\), 2 compute\(s\)/);
  });

  it("refuses an unsafe jump before contacting any host", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "answers.yaml"),
      exampleText.replace("source_release: victoria", "source_release: queens"),
    );
    expect(answersAt(readFileSync(join(dir, "answers.yaml"), "utf8")).answers.source_release).toBe("queens");
    const calls: string[] = [];
    const io = recordingIo(dir);
    await expect(planCommand({ file: "answers.yaml" }, io, fakeDiscovery(calls))).rejects.toMatchObject({
      code: "UNSAFE_JUMP",
      message: expect.stringContaining("older than train") as unknown,
    });
    expect(calls).toEqual([]);
  });
});
