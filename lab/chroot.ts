/**
 * Running a command chrooted into a rootfs directory during cache builds. Everything happens under
 * `unshare --mount --pid --fork`, so the /proc, /sys, /dev, /run and /tmp mounts and any process left behind
 * vanish when the command ends: a failed or interrupted build leaves no mount and no process.
 */
import { runLogged } from "./proc.js";

export interface ChrootOptions {
  /** Fresh network namespace with only `lo` up (build.sh); otherwise the root one (apt needs the registry). */
  readonly isolatedNetwork?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** Extra bind mounts: [host path, path inside the rootfs]. */
  readonly binds?: readonly (readonly [string, string])[];
  /**
   * Mount an overlay at `rootfs` first: read-only `lowers` (top first) and a writable `upper` (with `work`), so
   * a build step changes only `upper` and never copies the layers below.
   */
  readonly overlay?: { readonly lowers: readonly string[]; readonly upper: string; readonly work: string };
  /** Run in a UTS namespace of its own with this host name (services record the host they run on). */
  readonly hostname?: string;
}

/** The mount script run as PID 1 of the new PID namespace, before exec'ing chroot. "$1" is the rootfs. */
const SETUP = `set -e
R="$1"; shift
if [ -n "$LAB_ISOLATED_NET" ]; then ip link set lo up; fi
if [ -n "$LAB_HOSTNAME" ]; then hostname "$LAB_HOSTNAME"; fi
if [ -n "$LAB_OVERLAY" ]; then mount -t overlay overlay -o "$LAB_OVERLAY" "$R"; fi
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --rbind /dev "$R/dev"
mkdir -p "$R/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
while [ -n "$LAB_BINDS" ]; do
  pair="\${LAB_BINDS%%;*}"; LAB_BINDS="\${LAB_BINDS#*;}"
  src="\${pair%%=*}"; dst="$R\${pair#*=}"
  mkdir -p "$dst"; mount --bind "$src" "$dst"
done
exec chroot "$R" "$@"
`;

/** Run `argv` inside `rootfs`, output appended to `logFd`; resolves with the exit code. */
export function chrootRun(
  rootfs: string,
  argv: readonly string[],
  logFd: number,
  opts: ChrootOptions = {},
): Promise<number> {
  const unshareArgs = ["--mount", "--pid", "--fork", "--propagation", "private"];
  if (opts.isolatedNetwork) unshareArgs.push("--net");
  if (opts.hostname) unshareArgs.push("--uts");
  const binds = (opts.binds ?? []).map(([src, dst]) => `${src}=${dst};`).join("");
  return runLogged("unshare", [...unshareArgs, "sh", "-c", SETUP, "lab-chroot", rootfs, ...argv], logFd, {
    env: {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      DEBIAN_FRONTEND: "noninteractive",
      LANG: "C.UTF-8",
      HOME: "/root",
      LAB_ISOLATED_NET: opts.isolatedNetwork ? "1" : "",
      LAB_BINDS: binds,
      LAB_HOSTNAME: opts.hostname ?? "",
      LAB_OVERLAY: opts.overlay
        ? `lowerdir=${opts.overlay.lowers.join(":")},upperdir=${opts.overlay.upper},workdir=${opts.overlay.work}`
        : "",
      ...opts.env,
    },
  });
}
