/**
 * Scripts the file commands config.copy and friends run (mkdir -p, cp -a, mv -T, rm -rf, chown, chmod, find,
 * stat -c) on a FakeHost so that they act on its in-memory filesystem:
 * - `cp -a -- SRC DST`: SRC's files (SRC ending in `/.`: its contents) copied under DST, keeping modes;
 * - `mv -T -- SRC DST`: every file under SRC moved to DST;
 * - `rm -rf -- P`: P and every file under it removed;
 * - `chown -R U:G -- P`: recorded in `owners` (P -> "U:G"), reported by `stat -c %U:%G`;
 * - `chmod -R u=rwX,go= -- P`: files under P get 0600, P and its subdirs are recorded 0700 in `dirModes`;
 * - `find P -mindepth 1 -printf '%y %P\n'` and `find P -printf '%m %y %P\n'`: listings from the fake FS (directories
 *   are the parents of files plus those added with addDir... only file parents are listed).
 */
import { FakeHost } from "../../../fakes/fake-host.js";
import type { FileStat } from "../../../../src/hosts/host.js";

/** FakeHost whose directories can disappear (`rm -rf` below): FakeHost itself never forgets a directory. */
export class DirFakeHost extends FakeHost {
  readonly gone = new Set<string>();
  override async stat(path: string): Promise<FileStat | undefined> {
    if (this.gone.has(path) && !this.listFiles().some((f) => f === path || f.startsWith(`${path}/`))) {
      await super.stat("/nonexistent-for-recording");
      return undefined;
    }
    return super.stat(path);
  }
  override addDir(path: string): this {
    this.gone.delete(path);
    return super.addDir(path);
  }
}

export interface FsState {
  owners: Map<string, string>;
  dirModes: Map<string, number>;
}

function under(host: FakeHost, dir: string): string[] {
  return host.listFiles().filter((f) => f.startsWith(`${dir}/`));
}

function dirsBelow(host: FakeHost, dir: string): string[] {
  const dirs = new Set<string>();
  for (const f of under(host, dir)) {
    const parts = f.slice(dir.length + 1).split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return [...dirs].sort();
}

export function scriptFs(host: DirFakeHost): FsState {
  const state: FsState = { owners: new Map(), dirModes: new Map() };
  host.on(
    (a) => a[0] === "mkdir",
    ({ argv, host: h }) => {
      h.addDir(argv[argv.length - 1] ?? "/");
      return {};
    },
  );
  host.on(
    (a) => a[0] === "rm" && a[1] === "-rf",
    ({ argv, host: h }) => {
      const p = argv[argv.length - 1] ?? "";
      for (const f of [p, ...under(h, p)]) void h.removeFile(f);
      host.gone.add(p);
      return {};
    },
  );
  host.on(
    (a) => a[0] === "cp" && a[1] === "-a",
    ({ argv, host: h }) => {
      const src = argv[3] ?? "";
      const dst = (argv[4] ?? "").replace(/\/$/, "");
      const contents = src.endsWith("/.");
      const from = contents ? src.slice(0, -2) : src;
      for (const f of under(h, from)) {
        const file = h.getFile(f)!;
        h.setFile(`${dst}/${f.slice(from.length + 1)}`, file.data, {
          mode: file.mode,
          uid: file.uid,
          gid: file.gid,
        });
      }
      return {};
    },
  );
  host.on(
    (a) => a[0] === "mv" && a[1] === "-T",
    ({ argv, host: h }) => {
      const src = argv[3] ?? "";
      const dst = argv[4] ?? "";
      for (const f of under(h, src)) {
        const file = h.getFile(f)!;
        h.setFile(`${dst}/${f.slice(src.length + 1)}`, file.data, { mode: file.mode });
        void h.removeFile(f);
      }
      host.gone.add(src);
      h.addDir(dst);
      return {};
    },
  );
  host.on(
    (a) => a[0] === "chown" && a[1] === "-R",
    ({ argv }) => {
      state.owners.set(argv[4] ?? "", argv[2] ?? "");
      return {};
    },
  );
  host.on(
    (a) => a[0] === "chmod" && a[1] === "-R",
    ({ argv, host: h }) => {
      const p = argv[4] ?? "";
      for (const f of under(h, p)) h.setFile(f, h.getFile(f)!.data, { mode: 0o600 });
      state.dirModes.set(p, 0o700);
      for (const d of dirsBelow(h, p)) state.dirModes.set(`${p}/${d}`, 0o700);
      return {};
    },
  );
  host.on(
    (a) => a[0] === "stat" && a[1] === "-c",
    ({ argv }) => {
      const p = argv[argv.length - 1] ?? "";
      let owner = "root:root";
      for (const [path, o] of state.owners) if (p === path || p.startsWith(`${path}/`)) owner = o;
      return { stdout: `${owner}\n` };
    },
  );
  host.on(
    (a) => a[0] === "find",
    ({ argv, host: h }) => {
      const dir = argv[1] ?? "";
      if (argv.includes("-mindepth")) {
        const lines = [
          ...dirsBelow(h, dir).map((d) => `d ${d}`),
          ...under(h, dir).map((f) => `f ${f.slice(dir.length + 1)}`),
        ];
        return { stdout: lines.map((l) => `${l}\n`).join("") };
      }
      const mode = (p: string): string => (state.dirModes.get(p) ?? 0o755).toString(8);
      const lines = [
        `${mode(dir)} d `,
        ...dirsBelow(h, dir).map((d) => `${mode(`${dir}/${d}`)} d ${d}`),
        ...under(h, dir).map((f) => `${h.getFile(f)!.mode.toString(8)} f ${f.slice(dir.length + 1)}`),
      ];
      return { stdout: lines.map((l) => `${l}\n`).join("") };
    },
  );
  return state;
}
