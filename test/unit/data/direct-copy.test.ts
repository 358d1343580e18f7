/**
 * The ssh-cat fast path (src/data/direct-copy.ts): which files take it, the argv and stdin it runs with, and how
 * rsyncPull runs it before rsync (FakeHost: test/fakes/FAKE-HOST.md). The script itself runs for real in
 * test/integration/data/pull.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { StepContext, StepEvent } from "../../../src/engine/step.js";
import {
  DIRECT_COPY_SCRIPT,
  SMALL_FILES_MAX,
  directCopyArgv,
  directCopyStdin,
  LISTING,
  parseListing,
  planFromListings,
  type Entry,
} from "../../../src/data/direct-copy.js";
import { rsyncPull } from "../../../src/data/pull.js";
import { sshCommand } from "../../../src/data/rsync.js";
import type { TempKey } from "../../../src/data/temp-key.js";
import { UserError } from "../../../src/lib/errors.js";
import { FakeHost, REST } from "../../fakes/fake-host.js";
import { filesSyncStep } from "../../../src/steps/files/sync.js";
import { scriptBasics, scriptFind, scriptRsync } from "../steps/files/sim.js";
import { FakeSql, makeCtx, makeDeps, scriptTempDirs } from "../steps/support/harness.js";

const MiB = 1024 * 1024;
const file = (
  name: string,
  size: number,
  mtime = "1700000000.1234567890",
  mode = "640",
  type = "f",
): Entry => ({
  type,
  name,
  size,
  mtime,
  mode,
});

describe("which files the fast path copies, and whether rsync must run after it", () => {
  const names = (p: { files: Entry[] }): string[] => p.files.map((f) => f.name);

  it("big regular files the destination lacks under any type, biggest first; rsync for the rest", () => {
    const p = planFromListings(
      [
        file("small", MiB - 1),
        file("b", 2 * MiB),
        file("a", 5 * MiB),
        file("partial", 3 * MiB), // new has a partial copy: rsync resumes it by delta
        file("c", 2 * MiB),
      ],
      [file("partial", MiB, "1.0"), file("unrelated", 1)],
      MiB,
    );
    expect(names(p)).toEqual(["a", "b", "c"]);
    expect(p.rsyncNeeded).toBe(true);
  });

  it("rsync is not needed when everything else is already there alike (size, mtime, mode)", () => {
    const same = [file("x", 3 * MiB), file("y", 10)];
    const p = planFromListings([...same, file("new", 2 * MiB)], [...same, file("only-on-new", 5)], MiB);
    expect(names(p)).toEqual(["new"]);
    expect(p.rsyncNeeded).toBe(false);
    expect(planFromListings(same, same, MiB)).toEqual({ files: [], rsyncNeeded: false });
    // Each difference rsync would act on makes it run.
    for (const d of [
      file("x", 3 * MiB - 1),
      file("x", 3 * MiB, "1700000001.1234567890"),
      file("x", 3 * MiB, undefined, "600"),
      file("x", 3 * MiB, undefined, undefined, "l"),
    ]) {
      expect(planFromListings(same, [d, same[1]!], MiB).rsyncNeeded, JSON.stringify(d)).toBe(true);
    }
    expect(planFromListings([file("sub", 4096, undefined, "755", "d")], [], MiB).rsyncNeeded).toBe(true);
  });

  it(`up to ${SMALL_FILES_MAX} small new files go by the fast path when nothing else needs rsync`, () => {
    const p = planFromListings([file("s1", 10), file("s2", 20), file("big", 2 * MiB)], [], MiB);
    expect(names(p)).toEqual(["big", "s2", "s1"]);
    expect(p.rsyncNeeded).toBe(false);
    const many = planFromListings(
      [file("s1", 10), file("s2", 20), file("s3", 30), file("big", 2 * MiB)],
      [],
      MiB,
    );
    expect(names(many)).toEqual(["big"]);
    expect(many.rsyncNeeded).toBe(true);
    const withChange = planFromListings([file("s1", 10), file("old", 5)], [file("old", 6)], MiB);
    expect(names(withChange)).toEqual([]);
    expect(withChange.rsyncNeeded).toBe(true);
  });

  it("leaves to rsync names a shell could misread, dot-files and unreadable mtimes or modes", () => {
    const odd = [
      "with space",
      ".hidden",
      "glob*",
      "br[a]",
      "quo'te",
      'dq"',
      "semi;colon",
      "dollar$x",
      "nl\nx",
    ];
    const p = planFromListings(
      [
        ...odd.map((n) => file(n, 2 * MiB)),
        file("bad-mtime", 2 * MiB, "yesterday"),
        file("bad-mode", 2 * MiB, undefined, "rw-r--r--"),
        file("ok-1.img", 2 * MiB),
      ],
      [],
      MiB,
    );
    expect(names(p)).toEqual(["ok-1.img"]);
    expect(p.rsyncNeeded).toBe(true);
  });

  it("only: just those names (as rsync's only); others neither copied nor a reason for rsync", () => {
    const p = planFromListings([file("a", 2 * MiB), file("b", 2 * MiB)], [file("a", 1)], MiB, ["b"]);
    expect(names(p)).toEqual(["b"]);
    expect(p.rsyncNeeded).toBe(false);
  });

  it("parses find's listing; names keep inner spaces so the plan can refuse them", () => {
    expect(LISTING).toBe("%y %s %T@ %m %f\\n");
    expect(parseListing("f 10 1700000000.5000000000 644 x\nd 7 1.0 755 a b\ngarbage\n\n")).toEqual([
      file("x", 10, "1700000000.5000000000", "644"),
      file("a b", 7, "1.0", "755", "d"),
    ]);
  });
});

describe("the fast path's argv", () => {
  const transport = {
    identityFile: "/tmp/handover-abcdefgh12/id",
    knownHostsFile: "/tmp/handover-abcdefgh12/known_hosts",
    port: 2222,
  };
  const base = {
    transport,
    sourceUser: "root",
    sourceHost: "198.51.100.4",
    sourceDir: "/var/lib/glance/images",
    destDir: "/var/lib/glance/images",
  };

  it("a fixed script with dirs, then exactly rsync's ssh command and the source, as separate words", () => {
    const argv = directCopyArgv(base);
    expect(argv.slice(0, 6)).toEqual([
      "sh",
      "-c",
      DIRECT_COPY_SCRIPT,
      "handover-direct-copy",
      "/var/lib/glance/images",
      "/var/lib/glance/images",
    ]);
    expect(argv.slice(6, -1).join(" ")).toBe(sshCommand(transport));
    expect(argv.at(-1)).toBe("root@198.51.100.4");
    // The script never removes or writes anything on the source: its only remote command is cat.
    expect(DIRECT_COPY_SCRIPT).toContain('"$@" cat -- "$src/$name"');
    expect(DIRECT_COPY_SCRIPT.match(/"\$@"/g)).toHaveLength(1);
  });

  it("IPv6 sources without rsync's brackets (ssh takes the bare literal)", () => {
    expect(directCopyArgv({ ...base, sourceHost: "2001:db8::4" }).at(-1)).toBe("root@2001:db8::4");
  });

  it("refuses unusual dirs, hosts and file lines", () => {
    expect(() => directCopyArgv({ ...base, sourceDir: "/var/lib/gl ance" })).toThrow(/unusual dir/);
    expect(() => directCopyArgv({ ...base, destDir: "relative" })).toThrow(/unusual dir/);
    expect(() => directCopyArgv({ ...base, sourceDir: "/var/../etc" })).toThrow(/unusual dir/);
    expect(() => directCopyArgv({ ...base, sourceHost: "-oProxyCommand=x" })).toThrow(/unusual host/);
    expect(directCopyStdin([file("a", 3), file("b", 4, "5", "4755")])).toBe(
      "3 1700000000.1234567890 640 a\n4 5 4755 b\n",
    );
    expect(() => directCopyStdin([file("a b", 3)])).toThrow(/unusual file/);
  });
});

function ctxFor(
  hosts: Record<string, FakeHost>,
  events: StepEvent[],
  signal = new AbortController().signal,
): StepContext {
  return {
    host: (n) => hosts[n]!,
    emit: (e) => events.push(e),
    signal,
    now: () => new Date(),
  };
}

describe("rsyncPull with the fast path", () => {
  const key: TempKey = {
    dir: "/tmp/handover-abcdefgh12",
    nonce: "0123456789abcdef",
    identityFile: "/tmp/handover-abcdefgh12/id",
    knownHostsFile: "/tmp/handover-abcdefgh12/known_hosts",
  };
  const DIR = "/var/lib/glance/images";

  /**
   * old lists `big-1` (3 MiB), `big-2` (2 MiB), `small` (1 KiB), `there` (2 MiB); new has `there` (a partial copy
   * unless `complete`). The script's rule answers as the real script does; rsync then reports `small`.
   */
  function hosts(
    script: (stdin: string) => { exitCode?: number; stdout?: string; stderr?: string; hang?: boolean },
    complete = false,
  ) {
    const old = new FakeHost("old", { unmatched: "throw" });
    const neu = new FakeHost("new", { unmatched: "throw" });
    old.on(["find", DIR, "-mindepth", "1", "-maxdepth", "1", "-printf", LISTING], {
      stdout: `f ${3 * MiB} 1700000000.1 640 big-1\nf ${2 * MiB} 1700000001.2 640 big-2\nf 1024 1700000002.3 640 small\nf ${2 * MiB} 1.0 640 there\n`,
    });
    neu.on(["find", DIR, "-mindepth", "1", "-maxdepth", "1", "-printf", LISTING], {
      stdout: `f ${complete ? 2 * MiB : MiB} 1.0 640 there\n`,
    });
    neu.on(["sh", "-c", DIRECT_COPY_SCRIPT, REST], ({ stdin }) => script(String(stdin ?? "")), {
      readsStdin: true,
    });
    neu.on(["rsync", REST], {
      stdout: `handover-file 1030 small\n      ${5 * MiB + 1030} 100%  1000B/s    0:00:00 (xfr#1, to-chk=0/4)\n`,
    });
    return { old, neu };
  }

  const answer = (stdin: string): { stdout: string } => ({
    stdout: stdin
      .trim()
      .split("\n")
      .map((l) => {
        const [size, , , name] = l.split(" ");
        return `handover-copying ${size} ${name}\nhandover-part ${DIR}/.${name}.handover-part.42\nhandover-file ${size} ${name}\n`;
      })
      .join(""),
  });

  it("copies the big files new lacks first, reports them per file and in the progress, then runs rsync", async () => {
    const { old, neu } = hosts(answer);
    const events: StepEvent[] = [];
    const files: [string, number][] = [];
    const moved = await rsyncPull(ctxFor({ old, new: neu }, events), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "delta copy",
      onFile: (n, b) => files.push([n, b]),
      directCopyMinBytes: MiB,
    });
    const script = neu.calls.find((c) => c.kind === "execStream" && c.argv[0] === "sh");
    expect(script && "stdin" in script ? String(script.stdin) : "").toBe(
      `${3 * MiB} 1700000000.1 640 big-1\n${2 * MiB} 1700000001.2 640 big-2\n`,
    );
    expect(files).toEqual([
      ["big-1", 3 * MiB],
      ["big-2", 2 * MiB],
      ["small", 1030],
    ]);
    expect(moved).toBe(5 * MiB + 5 * MiB + 1030);
    const progress = events.flatMap((e) => (e.type === "step-progress" ? [[e.bytes, e.totalBytes]] : []));
    expect(progress.slice(0, 2)).toEqual([
      [3 * MiB, 5 * MiB],
      [5 * MiB, 5 * MiB],
    ]);
    // rsync's own progress is added to what the fast path moved.
    expect(progress.at(-1)).toEqual([10 * MiB + 1030, 10 * MiB + 1030]);
    const order = neu.commands().map((a) => a[0]);
    expect(order.indexOf("sh")).toBeLessThan(order.indexOf("rsync"));
  });

  it("when nothing else differs, the small new file goes by the fast path too and rsync does not run", async () => {
    const { old, neu } = hosts(answer, true);
    const files: string[] = [];
    const moved = await rsyncPull(ctxFor({ old, new: neu }, []), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "delta copy",
      onFile: (n) => files.push(n),
      directCopyMinBytes: MiB,
    });
    expect(files).toEqual(["big-1", "big-2", "small"]);
    expect(moved).toBe(5 * MiB + 1024);
    expect(
      neu
        .commands()
        .map((a) => a[0])
        .sort(),
    ).toEqual(["find", "sh"]);
  });

  it("a file the script skips makes rsync run even when the plan needed none", async () => {
    const { old, neu } = hosts(
      () => ({ stdout: `handover-copying 1024 small\nhandover-skipped small\n` }),
      true,
    );
    await rsyncPull(ctxFor({ old, new: neu }, []), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "x",
      directCopyMinBytes: MiB,
    });
    expect(
      neu
        .commands()
        .map((a) => a[0])
        .sort(),
    ).toEqual(["find", "rsync", "sh"]);
  });

  it("a file the script skips is not reported by it (rsync copies it)", async () => {
    const { old, neu } = hosts(() => ({
      stdout: `handover-copying ${3 * MiB} big-1\nhandover-skipped big-1\nhandover-copying ${2 * MiB} big-2\nhandover-file ${2 * MiB} big-2\n`,
    }));
    const files: string[] = [];
    await rsyncPull(ctxFor({ old, new: neu }, []), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "x",
      onFile: (n) => files.push(n),
      directCopyMinBytes: MiB,
    });
    expect(files).toEqual(["big-2", "small"]);
  });

  it("a script that fails is a warning: rsync runs and copies what it did not", async () => {
    const { old, neu } = hosts(
      () => ({ exitCode: 2, stderr: "sh: cannot create: Read-only file system" }),
      true,
    );
    const events: StepEvent[] = [];
    await rsyncPull(ctxFor({ old, new: neu }, events), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "warm copy",
      directCopyMinBytes: MiB,
    });
    const warn = events.find((e) => e.type === "log" && e.level === "warn");
    expect(warn && "message" in warn ? warn.message : "").toMatch(
      /warm copy: the fast copy stopped, rsync copies the rest: .*direct copy on new exited with 2: .*Read-only/,
    );
    expect(neu.commands().map((a) => a[0])).toContain("rsync");
  });

  it("an aborted pass stops in the fast path", async () => {
    const { old, neu } = hosts(() => ({ hang: true }));
    const abort = new AbortController();
    const p = rsyncPull(ctxFor({ old, new: neu }, [], abort.signal), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "warm copy",
      directCopyMinBytes: MiB,
    }).catch((err: unknown) => err);
    setTimeout(() => abort.abort(), 10);
    const e = await p;
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe("ABORTED");
    expect(neu.commands().map((a) => a[0])).not.toContain("rsync");
  });

  it("not for volumes (sparse or in place), nor without the option, nor when a listing fails", async () => {
    for (const o of [{ sparse: true }, { inplace: true }, {}]) {
      const { old, neu } = hosts(answer);
      await rsyncPull(ctxFor({ old, new: neu }, []), neu, old, {
        sourceDir: DIR,
        destDir: DIR,
        key,
        what: "v",
        ...o,
        ...("sparse" in o || "inplace" in o ? { directCopyMinBytes: MiB } : {}),
      });
      expect(neu.commands().map((a) => a[0])).toEqual(["rsync"]);
      expect(old.commands()).toEqual([]);
    }
    const { old, neu } = hosts(answer);
    neu.on(["find", REST], { exitCode: 1, stderr: "find: No such file or directory" });
    await rsyncPull(ctxFor({ old, new: neu }, []), neu, old, {
      sourceDir: DIR,
      destDir: DIR,
      key,
      what: "v",
      directCopyMinBytes: MiB,
    });
    expect(
      neu
        .commands()
        .map((a) => a[0])
        .sort(),
    ).toEqual(["find", "rsync", "sh"]);
  });
});

describe("files.sync and the fast path", () => {
  const DIR = "/var/lib/glance/images";

  /** As test/unit/steps/files/sync.test.ts sets up a pass (sim.ts scripts the commands). */
  function setup() {
    const old = new FakeHost("old", { unmatched: "throw", address: "198.51.100.4" });
    const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
    old.setFile(`${DIR}/11111111-aaaa`, "image bytes", { mode: 0o640 });
    old.setFile("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAOLDHOSTKEY root@old\n");
    old.setFile("/root/.ssh/authorized_keys", "ssh-ed25519 AAAAJUMP jump\n", { mode: 0o600 });
    scriptBasics(old);
    scriptFind(old);
    scriptBasics(neu);
    scriptFind(neu);
    scriptTempDirs(neu);
    neu.addDir(DIR);
    scriptRsync(neu, old, {});
    return { old, neu, deps: makeDeps(new FakeSql()) };
  }

  it("the warm pass tries the fast path (its script starts), the in-window delta pass is rsync alone", async () => {
    const started = (h: FakeHost): boolean =>
      h.calls.some((c) => c.kind === "execStream" && c.argv[2] === DIRECT_COPY_SCRIPT);
    const w = setup();
    await filesSyncStep(w.deps).run(makeCtx({ old: w.old, new: w.neu }).ctx, {
      from: "old",
      to: "new",
      path: DIR,
      pass: "warm",
      owner: "glance",
    });
    expect(started(w.neu)).toBe(true);
    expect(w.neu.fileText(`${DIR}/11111111-aaaa`)).toBe("image bytes");
    const d = setup();
    await filesSyncStep(d.deps).run(makeCtx({ old: d.old, new: d.neu }).ctx, {
      from: "old",
      to: "new",
      path: DIR,
      pass: "delta",
      owner: "glance",
    });
    expect(started(d.neu)).toBe(false);
    expect(d.neu.fileText(`${DIR}/11111111-aaaa`)).toBe("image bytes");
  });
});
