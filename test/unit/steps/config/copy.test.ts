import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { configCopyStep } from "../../../../src/steps/config/copy.js";
import { FakeHost, REST } from "../../../fakes/fake-host.js";
import { FakeSql, makeCtx, makeDeps, scriptTempDirs } from "../support/harness.js";
import { DirFakeHost, scriptFs } from "./fs-commands.js";

const OLD_FILES: Record<string, string> = {
  "/etc/keystone/keystone.conf":
    "[database]\nconnection = mysql+pymysql://keystone:pw@198.51.100.4/keystone\n",
  "/etc/keystone/fernet-keys/0": "key0",
  "/etc/keystone/fernet-keys/1": "key1",
  "/etc/keystone/credential-keys/0": "cred0",
  "/etc/keystone/policy.d/00-default.yaml": "# victoria defaults\n",
};
const md5 = (t: string): string => createHash("md5").update(t).digest("hex");
/** What dpkg recorded at install: keystone.conf was edited since (md5 differs), the policy file was not. */
const CONFFILES =
  `keystone:\n /etc/keystone/keystone.conf ${md5("# packaged victoria\n")}\n` +
  ` /etc/keystone/policy.d/00-default.yaml ${md5("# victoria defaults\n")}\n` +
  ` /etc/keystone/gone.conf ${md5("x")} obsolete\n` +
  `other:\n /etc/other/x.conf ${md5("y")}\n`;
const params = { dir: "/etc/keystone", owner: "keystone", group: "keystone", keepNewOnly: true };
const BACKUP = "/var/backups/handover/copy/etc/keystone";

function setup(opts: { newHasDir?: boolean; tarExit?: number; dpkg?: boolean } = {}) {
  const old = new FakeHost("old", { unmatched: "throw" });
  for (const [p, d] of Object.entries(OLD_FILES)) old.setFile(p, d, { mode: 0o640 });
  // old's tar: the "archive" is the file list; new's tar -x below unpacks it into the staging dir.
  // old's tar: the "archive" is the file list minus the literal --exclude=<member> names.
  old.on(["tar", "-C", "/etc", REST], ({ argv }) => {
    const excluded = new Set(
      argv.filter((a) => a.startsWith("--exclude=")).map((a) => `/etc/${a.slice(10)}`),
    );
    return {
      stdout: JSON.stringify(Object.fromEntries(Object.entries(OLD_FILES).filter(([p]) => !excluded.has(p)))),
      exitCode: opts.tarExit ?? 0,
      stderr: opts.tarExit ? "tar: keystone/x: Cannot open: Permission denied" : "",
    };
  });
  // dpkg-query prints every package's conffiles; md5sum hashes the files as they are now.
  old.on(
    ["dpkg-query", "-W", "-f", "${Conffiles}\\n"],
    opts.dpkg === false ? { exitCode: 127, stderr: "dpkg-query: not found" } : { stdout: CONFFILES },
  );
  old.on(["md5sum", "--", REST], ({ argv, host }) => ({
    stdout: argv
      .slice(2)
      .map((f) => `${md5(host.fileText(f) ?? "")}  ${f}\n`)
      .join(""),
  }));
  old.on(["find", "/etc/keystone", REST], {
    stdout: [
      "d credential-keys",
      "d fernet-keys",
      "f keystone.conf",
      "f fernet-keys/0",
      "f fernet-keys/1",
      "f credential-keys/0",
      "d policy.d",
      "f policy.d/00-default.yaml",
    ]
      .map((l) => `${l}\n`)
      .join(""),
  });
  const neu = new DirFakeHost("new", { unmatched: "throw" });
  const fs = scriptFs(neu);
  const tmp = scriptTempDirs(neu);
  if (opts.newHasDir ?? true) {
    neu.setFile("/etc/keystone/keystone.conf", "# packaged\n");
    neu.setFile("/etc/keystone/sso_callback_template.html", "<html/>");
    neu.setFile("/etc/keystone/policy.d/00-default.yaml", "# zed defaults\n");
  }
  neu.on(
    ["tar", "-C", /\/tmp\/handover-.*/, "-xf", "-"],
    ({ argv, stdin, host }) => {
      const staging = argv[2]!;
      if (stdin.length === 0) return { exitCode: 2, stderr: "tar: This does not look like a tar archive" };
      for (const [p, d] of Object.entries(JSON.parse(stdin.toString()) as Record<string, string>)) {
        host.setFile(`${staging}${p.slice("/etc".length)}`, d, { mode: 0o640 });
      }
      return {};
    },
    { readsStdin: true },
  );
  const deps = makeDeps(new FakeSql());
  return { old, neu, fs, tmp, deps };
}

describe("config.copy", () => {
  it("streams old's tree into new, keeps new-only package files, chowns, locks the key dirs, backs new's dir up first", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = configCopyStep(s.deps);
    const undo = await step.run(h.ctx, params);
    expect(s.neu.fileText("/etc/keystone/keystone.conf")).toBe(OLD_FILES["/etc/keystone/keystone.conf"]);
    expect(s.neu.fileText("/etc/keystone/fernet-keys/1")).toBe("key1");
    expect(s.neu.fileText("/etc/keystone/sso_callback_template.html")).toBe("<html/>");
    expect(s.neu.fileText(`${BACKUP}/keystone.conf`)).toBe("# packaged\n");
    expect(s.fs.owners.get("/etc/keystone")).toBe("keystone:keystone");
    expect(s.neu.getFile("/etc/keystone/fernet-keys/0")?.mode).toBe(0o600);
    expect(s.fs.dirModes.get("/etc/keystone/credential-keys")).toBe(0o700);
    // Checkpoint before anything changed, naming the backup; staging dir removed.
    expect(h.checkpoints[0]).toEqual({ dir: "/etc/keystone", existed: true, backup: BACKUP, tempDir: "" });
    expect(s.tmp.removed).toEqual(expect.arrayContaining(s.tmp.made));
    expect(undo).toMatchObject({ existed: true, backup: BACKUP });
    // Old's unedited packaged default stays new's; the edited conffile came over.
    expect(s.neu.fileText("/etc/keystone/policy.d/00-default.yaml")).toBe("# zed defaults\n");
    expect(s.old.commands().find((a) => a[0] === "tar")).toEqual(
      expect.arrayContaining(["--anchored", "--no-wildcards", "--exclude=keystone/policy.d/00-default.yaml"]),
    );
    expect(h.events).toMatchObject([
      {
        type: "log",
        message: expect.stringMatching(/1 unedited packaged default\(s\) left to the new packages/),
      },
    ]);
    // Old was only read.
    expect(s.old.commands().map((a) => a[0])).toEqual(["dpkg-query", "md5sum", "tar"]);
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
  });

  it("without dpkg on old every file is copied, and the log says so", async () => {
    const s = setup({ dpkg: false });
    const h = makeCtx({ old: s.old, new: s.neu });
    await configCopyStep(s.deps).run(h.ctx, params);
    expect(s.neu.fileText("/etc/keystone/policy.d/00-default.yaml")).toBe("# victoria defaults\n");
    expect(h.events).toMatchObject([{ type: "log", message: expect.stringMatching(/no dpkg on old/) }]);
  });

  it("verify does not miss an unedited default that new's packages do not ship", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = configCopyStep(s.deps);
    await step.run(h.ctx, params);
    await s.neu.removeFile("/etc/keystone/policy.d/00-default.yaml");
    expect(await step.verify(h.ctx, params)).toMatchObject({ ok: true });
  });

  it("undo puts new's original dir back (and is idempotent)", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = configCopyStep(s.deps);
    const undo = (await step.run(h.ctx, params)) ?? {};
    await step.undo!(h.ctx, params, undo);
    expect(s.neu.fileText("/etc/keystone/keystone.conf")).toBe("# packaged\n");
    expect(s.neu.fileText("/etc/keystone/fernet-keys/0")).toBeUndefined();
    expect(s.neu.listFiles().filter((f) => f.startsWith(BACKUP))).toEqual([]);
    await step.undo!(h.ctx, params, undo);
    expect(s.neu.fileText("/etc/keystone/keystone.conf")).toBe("# packaged\n");
  });

  it("a redo after a crash keeps the FIRST attempt's backup, not the half-copied state", async () => {
    const s = setup();
    const step = configCopyStep(s.deps);
    const first = makeCtx({ old: s.old, new: s.neu });
    await step.run(first.ctx, params);
    s.neu.setFile("/etc/keystone/keystone.conf", "half-edited");
    const again = makeCtx({ old: s.old, new: s.neu }, first.checkpoints.at(-1));
    const undo = (await step.run(again.ctx, params)) ?? {};
    await step.undo!(again.ctx, params, undo);
    expect(s.neu.fileText("/etc/keystone/keystone.conf")).toBe("# packaged\n");
  });

  it("when new had no such dir, undo removes it", async () => {
    const s = setup({ newHasDir: false });
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = configCopyStep(s.deps);
    const undo = (await step.run(h.ctx, params)) ?? {};
    expect(undo).toMatchObject({ existed: false, backup: "" });
    await step.undo!(h.ctx, params, undo);
    expect(s.neu.listFiles().filter((f) => f.startsWith("/etc/keystone/"))).toEqual([]);
  });

  it("a failing tar on old fails the step naming the host and tar's words, and leaves new's files", async () => {
    const s = setup({ tarExit: 2 });
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(configCopyStep(s.deps).run(h.ctx, params)).rejects.toThrow(
      /on old exited with 2: tar: keystone\/x: Cannot open/,
    );
    expect(s.neu.fileText("/etc/keystone/keystone.conf")).toBe("# packaged\n");
    expect(s.tmp.removed).toEqual(expect.arrayContaining(s.tmp.made));
  });

  it("verify fails when an entry of old's is missing on new, or the key dir is group-readable", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    const step = configCopyStep(s.deps);
    await step.run(h.ctx, params);
    s.fs.dirModes.set("/etc/keystone/fernet-keys", 0o750);
    expect(await step.verify(h.ctx, params)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/fernet-keys.*not 0700/),
    });
    await s.neu.removeFile("/etc/keystone/credential-keys/0");
    expect(await step.verify(h.ctx, params)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/credential-keys\/0/),
    });
  });

  it("refuses unusual paths and owners before touching anything", async () => {
    const s = setup();
    const h = makeCtx({ old: s.old, new: s.neu });
    await expect(configCopyStep(s.deps).run(h.ctx, { ...params, dir: "/etc/../root" })).rejects.toThrow(
      /unusual config dir/,
    );
    await expect(configCopyStep(s.deps).run(h.ctx, { ...params, owner: "root;rm" })).rejects.toThrow(
      /unusual owner/,
    );
    expect(s.neu.commands()).toEqual([]);
  });
});
