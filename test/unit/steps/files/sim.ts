/**
 * Scripted commands for the data steps' unit tests, acting on FakeHosts' in-memory files:
 * - `find DIR -type f -printf '%s %P\n'`: sizes of the fake files under DIR;
 * - `md5sum|sha256sum|sha512sum -- FILES`, `openssl dgst -sha256 -r -- FILE`: real digests of the fake files
 *   (missing ones go to stderr, exit 1);
 * - `ssh-keygen ... -C COMMENT -f FILE`: writes FILE (private) and FILE.pub;
 * - `mkdir -p [-m M] -- DIR`, `chown -R`: as expected / recorded;
 * - `rsync ...` on the destination (execStream): copies the source host's files under the source dir (or only
 *   the --include'd names) to the destination dir, writes progress2 lines with \r; `rsyncCheck` is called first
 *   (to look at the source's authorized_keys while the copy runs); with --out-format, one `handover-file <bytes>
 *   <name>` line per file copied;
 * - `test -f A -a -f B`: exit 0 when both fake files exist, else 1;
 * - `find /tmp -maxdepth 2 -path PATTERN` (the key pairs' id.pub files): fake files /tmp/handover-NAME/id.pub.
 */
import { createHash } from "node:crypto";
import type { FakeHost } from "../../../fakes/fake-host.js";

export function scriptFind(host: FakeHost): void {
  host.on(
    (a) => a[0] === "find" && a[2] === "-type",
    ({ argv, host: h }) => {
      const dir = argv[1] ?? "";
      const lines = h
        .listFiles()
        .filter((f) => f.startsWith(`${dir}/`))
        .map((f) => `${h.getFile(f)!.data.length} ${f.slice(dir.length + 1)}\n`);
      return { stdout: lines.join("") };
    },
  );
}

export function scriptHashes(host: FakeHost): void {
  for (const [tool, algo] of [
    ["md5sum", "md5"],
    ["sha256sum", "sha256"],
    ["sha512sum", "sha512"],
  ] as const) {
    host.on(
      (a) => a[0] === tool,
      ({ argv, host: h }) => {
        let stdout = "";
        let stderr = "";
        for (const f of argv.slice(2)) {
          const file = h.getFile(f);
          if (file) stdout += `${createHash(algo).update(file.data).digest("hex")}  ${f}\n`;
          else stderr += `${tool}: ${f}: No such file or directory\n`;
        }
        return { stdout, stderr, exitCode: stderr ? 1 : 0 };
      },
    );
  }
  // `openssl dgst -sha256 -r -- FILE`: the same digest in openssl's `-r` format (`<hex> *<file>`).
  host.on(
    (a) => a[0] === "openssl" && a[1] === "dgst",
    ({ argv, host: h }) => {
      const f = argv[argv.length - 1] ?? "";
      const file = h.getFile(f);
      return file
        ? { stdout: `${createHash("sha256").update(file.data).digest("hex")} *${f}\n` }
        : { stderr: `${f}: No such file or directory\n`, exitCode: 1 };
    },
  );
}

export function scriptBasics(host: FakeHost): { chowns: string[][] } {
  const chowns: string[][] = [];
  host.on(
    (a) => a[0] === "mkdir",
    ({ argv, host: h }) => {
      h.addDir(argv[argv.length - 1]!);
      return {};
    },
  );
  host.on(
    (a) => a[0] === "rm" && a[1] === "-f",
    ({ argv, host: h }) => {
      for (const f of argv.slice(3)) void h.removeFile(f);
      return {};
    },
  );
  host.on(
    (a) => a[0] === "chown",
    ({ argv }) => {
      chowns.push([...argv]);
      return {};
    },
  );
  host.on(
    (a) => a[0] === "ssh-keygen",
    ({ argv, host: h }) => {
      const file = argv[argv.indexOf("-f") + 1]!;
      const comment = argv[argv.indexOf("-C") + 1]!;
      h.setFile(file, "PRIVATE KEY", { mode: 0o600 });
      h.setFile(`${file}.pub`, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake ${comment}\n`);
      return {};
    },
  );
  return { chowns };
}

export function scriptKeyFiles(host: FakeHost): void {
  host.on(
    (a) => a[0] === "test" && a[1] === "-f" && a[3] === "-a" && a[4] === "-f" && a.length === 6,
    ({ argv, host: h }) => ({ exitCode: h.getFile(argv[2]!) && h.getFile(argv[5]!) ? 0 : 1 }),
  );
  host.on(["find", "/tmp", "-maxdepth", "2", "-path", "/tmp/handover-*/id.pub"], ({ host: h }) => ({
    stdout: h
      .listFiles()
      .filter((f) => /^\/tmp\/handover-[^/]+\/id\.pub$/.test(f))
      .map((f) => `${f}\n`)
      .join(""),
  }));
}

export interface RsyncSim {
  argvs: string[][];
}

export function scriptRsync(
  dest: FakeHost,
  source: FakeHost,
  opts: { exitCode?: number; stderr?: string; rsyncCheck?: () => void; corrupt?: string } = {},
): RsyncSim {
  const sim: RsyncSim = { argvs: [] };
  dest.on(
    (a) => a[0] === "rsync",
    ({ argv, host: h }) => {
      sim.argvs.push([...argv]);
      opts.rsyncCheck?.();
      if (opts.exitCode) return { exitCode: opts.exitCode, stderr: opts.stderr ?? "" };
      const src = (argv.at(-2) ?? "").replace(/^[^:]+:/, "").replace(/\/$/, "");
      const dst = (argv.at(-1) ?? "").replace(/\/$/, "");
      const only = argv.filter((a) => a.startsWith("--include=/")).map((a) => a.slice("--include=/".length));
      const perFile = argv.some((a) => a.startsWith("--out-format=handover-file "));
      let total = 0;
      let fileLines = "";
      for (const f of source.listFiles().filter((x) => x.startsWith(`${src}/`))) {
        const rel = f.slice(src.length + 1);
        if (only.length > 0 && !only.includes(rel)) continue;
        const data = source.getFile(f)!.data;
        h.setFile(`${dst}/${rel}`, rel === opts.corrupt ? Buffer.from("corrupted") : data);
        total += data.length;
        if (perFile) fileLines += `handover-file ${data.length} ${rel}\n`;
      }
      return {
        stdout: `${String(Math.floor(total / 2)).padStart(12)}  50%  1.00MB/s    0:00:01\r${fileLines}${String(total).padStart(12)} 100%  1.00MB/s    0:00:00 (xfr#2, to-chk=0/2)\n`,
      };
    },
  );
  return sim;
}
