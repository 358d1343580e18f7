/**
 * `npm run bench`: image copy on the lab (issue 5). In ONE run, between the same two hosts (new pulls from old):
 *  1. raw: `ssh root@old cat FILE > FILE` per file over a temporary key (the floor any copy over SSH meets);
 *  2. ours: a full pass of handover's pull as files.sync's warm pass runs it (src/data/pull.ts): files of at
 *     least DIRECT_COPY_MIN_BYTES that new lacks by the `ssh cat` fast path (src/data/direct-copy.ts), then rsync
 *     when anything else differs; and, for comparison, the same pull without the fast path (rsync alone, as
 *     volumes.copy and files.sync's delta pass run it);
 *  3. delta, images: 1 % of the data added as a new file (glance images are immutable: between the warm pass
 *     and the freeze, images are added or deleted, never rewritten), then the pull again as files.sync's delta
 *     pass runs it (rsync alone);
 *  4. delta, in place: 1 % of every file rewritten at a random offset (what a volume sees), then the pull again.
 * Goals: ours >= 0.9x raw throughput; delta <= 5 % of the full pass's time. Like the engine (files.temp-key before
 * the warm pass, files.temp-key-remove after the last copy), ONE temporary key serves every pass of the run: it is
 * made and removed once, timed and reported apart as a once-per-run cost; raw uses the same key and ssh options.
 * Each pass's figure is everything a pass does with the run's key (rsync on new over the jump, ssh from new to old,
 * progress, exit). Ratios within one run, because this machine is shared and noisy; each figure is the median of
 * --rounds runs (default 3).
 *
 * The data is random (incompressible, like qcow2/raw images), generated on old under /srv/handover-bench, and
 * removed afterwards with the copies on new. Needs the lab up (`npm run lab -- up`); run as root.
 *
 * `--loopback`: no lab. old and new are both this machine through a private sshd on 127.0.0.1 (the integration
 * tests' fixture; its own authorized_keys), the data under /tmp. Each figure then also gets the CPU seconds of
 * every process the pass ran (all are children of that sshd): on a shared, loaded machine wall times favour the
 * pipeline with more processes, while on the lab (2 cores, both hosts) throughput follows CPU per byte.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { loadAnswers, nodeSecretReader, resolveAllSecrets } from "../src/answers/index.js";
import type { StepContext } from "../src/engine/step.js";
import { DIRECT_COPY_MIN_BYTES } from "../src/data/direct-copy.js";
import { createPullKey, rsyncPull, sshPortOf } from "../src/data/pull.js";
import { sshCommand } from "../src/data/rsync.js";
import { removeTempKeys, type TempKey } from "../src/data/temp-key.js";
import { sshHostFromEndpoint } from "../src/hosts/from-answers.js";
import type { SshHost } from "../src/hosts/ssh-host.js";
import { ANSWERS_FILE } from "../lab/paths.js";
import { startSshd, type Sshd } from "../test/integration/hosts/fixtures/sshd.js";
import { loopbackHost } from "../test/integration/steps/loopback.js";

/** The lab's hosts from its answers file. */
async function labHosts(): Promise<{ old: SshHost; neu: SshHost }> {
  const loaded = await loadAnswers(ANSWERS_FILE);
  await resolveAllSecrets(loaded.answers, loaded, nodeSecretReader(process.env, dirname(ANSWERS_FILE)));
  const env = { home: process.env.HOME ?? "/root" };
  return {
    old: sshHostFromEndpoint("old", loaded.answers.controllers.old.ssh, env),
    neu: sshHostFromEndpoint("new", loaded.answers.controllers.new.ssh, env),
  };
}

/** old and new as this machine through a private sshd on loopback (see the header). */
function loopbackHosts(sshd: Sshd): { old: SshHost; neu: SshHost } {
  return { old: loopbackHost(sshd, "old"), neu: loopbackHost(sshd, "new") };
}

/**
 * CPU seconds (user + system) used so far by everything `pid` ever started: its reaped descendants (its cutime and
 * cstime) plus, for each live descendant, its own time and its reaped children's. Every dead process is counted
 * once, by the live one that reaped it. On loopback every process of a pass descends from the private sshd (the
 * jump's long-lived sessions reap the commands). NaN when unknown.
 */
function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stats = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      // After the ")": field 3 (state) is at index 0, so ppid (4) is at 1, utime..cstime (14-17) at 11-14.
      stats.set(
        Number(d),
        stat
          .slice(stat.lastIndexOf(")") + 2)
          .split(" ")
          .map(Number),
      );
    } catch {
      // exited meanwhile
    }
  }
  const children = new Map<number, number[]>();
  for (const [p, f] of stats) children.set(f[1] ?? 0, [...(children.get(f[1] ?? 0) ?? []), p]);
  let ticks = (stats.get(pid)?.[13] ?? Number.NaN) + (stats.get(pid)?.[14] ?? Number.NaN);
  const todo = [...(children.get(pid) ?? [])];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    const f = stats.get(p) ?? [];
    ticks += (f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0);
    todo.push(...(children.get(p) ?? []));
  }
  return ticks / 100;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function ctxFor(hosts: Record<string, SshHost>): StepContext {
  return {
    host: (n) => {
      const h = hosts[n];
      if (!h) throw new TypeError(`no host ${n}`);
      return h;
    },
    emit: () => undefined,
    signal: new AbortController().signal,
    now: () => new Date(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: "string", default: "512" },
      files: { type: "string", default: "4" },
      rounds: { type: "string", default: "3" },
      loopback: { type: "boolean", default: false },
    },
  });
  const totalMb = Number(values.mb);
  const nFiles = Number(values.files);
  const rounds = Number(values.rounds);
  const sshd = values.loopback ? await startSshd() : undefined;
  const { old, neu } = sshd ? loopbackHosts(sshd) : await labHosts();
  const sshdPidFile = sshd ? join(sshd.dir, "sshd.pid") : undefined;
  const sshdPid =
    sshdPidFile && existsSync(sshdPidFile) ? Number(readFileSync(sshdPidFile, "utf8")) : undefined;
  const cpu = (): number => treeCpuSeconds(sshdPid);
  // The key goes into the fixture's authorized_keys on loopback, never the machine's.
  const keyFile = sshd ? { authorizedKeys: join(sshd.dir, "authorized_keys") } : {};
  const base = sshd ? mkdtempSync("/tmp/handover-bench-") : "/srv";
  const SRC = `${base}/handover-bench`;
  const RAW = `${base}/handover-bench-raw`;
  const OURS = `${base}/handover-bench-rsync`;
  const RSYNC_ONLY = `${base}/handover-bench-rsync-only`;
  const ctx = ctxFor({ old, new: neu });
  const perFile = Math.round(totalMb / nFiles);
  const names = Array.from({ length: nFiles }, (_, i) => `image-${i}`);
  let key: TempKey | undefined;
  try {
    console.log(`bench: ${nFiles} x ${perFile} MiB of random data on old (${SRC}), ${rounds} round(s)`);
    await old.run(["rm", "-rf", "--", SRC]);
    await old.run(["mkdir", "-p", "--", SRC]);
    for (const n of names)
      await old.run(["dd", "if=/dev/urandom", `of=${SRC}/${n}`, "bs=1M", `count=${perFile}`, "status=none"]);
    await old.run(["sync"]);
    const bytes = perFile * nFiles * 1024 * 1024;
    // Once per run, as files.temp-key does it.
    const keyStarted = process.hrtime.bigint();
    const runKey = await createPullKey(
      neu,
      old,
      (r) => {
        key = { ...r, identityFile: `${r.dir}/id`, knownHostsFile: `${r.dir}/known_hosts` }; // removed in finally
      },
      keyFile,
    );
    const keySeconds = Number(process.hrtime.bigint() - keyStarted) / 1e9;
    const ssh = sshCommand({
      identityFile: runKey.identityFile,
      knownHostsFile: runKey.knownHostsFile,
      port: sshPortOf(old),
    }).split(" ");
    // As files.sync runs it: the warm (full) pass with the fast path, the in-window delta passes without.
    const pull = (what: string, warm = false): Promise<number> =>
      rsyncPull(ctx, neu, old, {
        sourceDir: SRC,
        destDir: OURS,
        key: runKey,
        what,
        ...(warm ? { directCopyMinBytes: DIRECT_COPY_MIN_BYTES } : {}),
      });

    const raw: number[] = [];
    const full: number[] = [];
    const rsyncOnly: number[] = [];
    /** CPU seconds of the raw, full and rsync-alone passes (loopback only). */
    const cpuRaw: number[] = [];
    const cpuFull: number[] = [];
    const cpuRsync: number[] = [];
    const withCpu = async (into: number[], r: number, fn: () => Promise<number>): Promise<number> => {
      const before = cpu();
      const seconds = await fn();
      into[r] = cpu() - before;
      return seconds;
    };
    const delta: number[] = [];
    const inplace: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await neu.run(["rm", "-rf", "--", RAW, OURS, RSYNC_ONLY]);
      await neu.run(["mkdir", "-p", "--", RAW, OURS, RSYNC_ONLY]);
      // The three full copies, in an order rotated each round (a shared machine's load drifts during a round).
      const copies: (() => Promise<void>)[] = [
        // 1. raw ssh cat, one file after another, into a fresh dir (the run's key, rsync's ssh options).
        async () => {
          raw[r] = await withCpu(cpuRaw, r, () =>
            timed(async () => {
              for (const n of names) {
                // `cat > file` needs a shell on new for the redirection; the script is fixed, names are ours.
                await neu.run([
                  "sh",
                  "-c",
                  '"$@" > "$0"',
                  `${RAW}/${n}`,
                  ...ssh,
                  `root@${old.address}`,
                  "cat",
                  `${SRC}/${n}`,
                ]);
              }
            }),
          );
        },
        // 2. handover's pull, full pass into an empty dir.
        async () => {
          full[r] = await withCpu(cpuFull, r, () => timed(() => pull("bench full", true)));
        },
        // 2b. rsync alone, the same way, for comparison (what the pull was before the fast path).
        async () => {
          rsyncOnly[r] = await withCpu(cpuRsync, r, () =>
            timed(() =>
              rsyncPull(ctx, neu, old, {
                sourceDir: SRC,
                destDir: RSYNC_ONLY,
                key: runKey,
                what: "bench rsync",
              }),
            ),
          );
          await neu.run(["rm", "-rf", "--", RSYNC_ONLY]);
        },
      ];
      for (let i = 0; i < copies.length; i++) await copies[(i + r) % copies.length]!();
      // 3. 1 % of the data as a new image, then the delta pass.
      const addMb = Math.max(1, Math.round((perFile * nFiles) / 100));
      await old.run([
        "dd",
        "if=/dev/urandom",
        `of=${SRC}/new-image-${r}`,
        "bs=1M",
        `count=${addMb}`,
        "status=none",
      ]);
      delta.push(await timed(() => pull("bench delta")));
      // 4. 1 % of every file rewritten in place at a random offset, then the delta pass.
      for (const n of names) {
        const mb1 = Math.max(1, Math.round(perFile / 100));
        const at = Math.floor(Math.random() * (perFile - mb1));
        await old.run([
          "dd",
          "if=/dev/urandom",
          `of=${SRC}/${n}`,
          "bs=1M",
          `count=${mb1}`,
          `seek=${at}`,
          "conv=notrunc",
          "status=none",
        ]);
      }
      inplace.push(await timed(() => pull("bench in place")));
      // The copies must equal the source.
      const sums = async (h: SshHost, dir: string): Promise<string> =>
        (await h.run(["sh", "-c", 'cd "$0" && sha256sum -- *', dir])).stdout;
      if ((await sums(old, SRC)) !== (await sums(neu, OURS)))
        throw new TypeError("rsync copy differs from the source");
      console.log(
        `round ${r + 1}: raw ${raw[r]!.toFixed(2)} s, full ${full[r]!.toFixed(2)} s, rsync alone ${rsyncOnly[r]!.toFixed(2)} s, ` +
          `delta (new image) ${delta[r]!.toFixed(2)} s, delta (in place) ${inplace[r]!.toFixed(2)} s` +
          (sshd
            ? `; CPU s: raw ${cpuRaw[r]!.toFixed(2)}, full ${cpuFull[r]!.toFixed(2)}, rsync alone ${cpuRsync[r]!.toFixed(2)}`
            : ""),
      );
    }
    const keyRemoveSeconds = await timed(() => removeTempKeys(neu, old, [runKey], keyFile));
    key = undefined;
    const mib = bytes / 1024 / 1024;
    const rawRate = mib / median(raw);
    const fullRate = mib / median(full);
    console.log(
      [
        `data: ${mib} MiB in ${nFiles} files (random), new pulls from old over SSH`,
        `raw ssh cat: median ${median(raw).toFixed(2)} s = ${rawRate.toFixed(1)} MiB/s`,
        `handover pull as files.sync runs it (full; files >= ${DIRECT_COPY_MIN_BYTES / 1024 / 1024} MiB by ssh cat, then rsync): median ${median(full).toFixed(2)} s = ${fullRate.toFixed(1)} MiB/s = ${(fullRate / rawRate).toFixed(2)}x raw (goal >= 0.9x)`,
        `rsync alone (no fast path), full: median ${median(rsyncOnly).toFixed(2)} s = ${(mib / median(rsyncOnly) / rawRate).toFixed(2)}x raw`,
        `delta, 1 % added as a new image: median ${median(delta).toFixed(2)} s = ${((100 * median(delta)) / median(full)).toFixed(1)} % of the full pass (goal <= 5 %)`,
        `delta, 1 % rewritten in place in every file: median ${median(inplace).toFixed(2)} s = ${((100 * median(inplace)) / median(full)).toFixed(1)} % of the full pass`,
        ...(sshd
          ? [
              `CPU seconds (all processes of the pass, median): raw ${median(cpuRaw).toFixed(2)}, full ${median(cpuFull).toFixed(2)} (${(median(cpuRaw) / median(cpuFull)).toFixed(2)}x raw's CPU per byte), rsync alone ${median(cpuRsync).toFixed(2)} (${(median(cpuRaw) / median(cpuRsync)).toFixed(2)}x)`,
            ]
          : []),
        `once per run (not in the passes above): temporary key made and installed ${keySeconds.toFixed(2)} s, removed ${keyRemoveSeconds.toFixed(2)} s`,
      ].join("\n"),
    );
  } finally {
    if (key) await removeTempKeys(neu, old, [key], keyFile).catch(() => undefined);
    await old.run(["rm", "-rf", "--", SRC]).catch(() => undefined);
    await neu.run(["rm", "-rf", "--", RAW, OURS, RSYNC_ONLY]).catch(() => undefined);
    await Promise.allSettled([old.close(), neu.close()]);
    await sshd?.stop();
    if (sshd) rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
