/**
 * One lab host = a network namespace (network.ts) + a persistent mount and UTS namespace (bind-mounted files in
 * /run/handover-lab/ns) + a PID namespace whose PID 1 is a tiny bash reaper, chrooted into an overlay of the cached
 * rootfs (read-only lower, per-run upper). `unshare` runs from the root mount namespace (under
 * `nsenter --net` only), because mounts made under `ip netns exec` are thrown away.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { hostKeyFile, labPublicKey } from "./keys.js";
import { hostNetns } from "./network.js";
import { HOSTS_DIR, hostDir, kindDir, LOG_DIR, NS_DIR } from "./paths.js";
import { sshAddress, type LabHost } from "./plan.js";
import { run } from "./proc.js";
import { IN_ROOT_LAB_DIR, RESOLV_CONF } from "./rootfs-cache.js";
import { recordPid, saveState, type HostRecord, type LabState } from "./state.js";

/** Run as PID 1 of the new PID namespace, in the new mount namespace; then becomes the reaper. */
const HOST_SETUP = `set -e
L="$1" U="$2" W="$3" R="$4" H="$5" READY="$6" NSDIR="$7"
# This namespace must not pin other hosts' namespace files (it got a copy of the root's mounts).
umount -l "$NSDIR" 2>/dev/null || true
mount -t overlay overlay -o "lowerdir=$L,upperdir=$U,workdir=$W" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t tmpfs -o mode=755,size=8m dev "$R/dev"
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
  name="\${n%%:*}"; rest="\${n#*:}"
  mknod -m 666 "$R/dev/$name" c "\${rest%%:*}" "\${rest#*:}"
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
mount -t tmpfs -o mode=755 run "$R/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
hostname "$H"
touch "$READY"
# PID 1: bash reaps every orphan (its SIGCHLD handler waits for any child); TERM ends the host.
exec chroot "$R" /bin/bash -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'
`;

const SSHD_CONFIG = `# handover lab: sshd for this host (started by the lab, not by an init system)
Port 22
# 0.0.0.0: addresses move between hosts at switchover; a daemon bound to one would never serve a moved-in one.
ListenAddress 0.0.0.0
HostKey /etc/ssh/lab_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
ChallengeResponseAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
PidFile /run/sshd-lab.pid
Subsystem sftp internal-sftp
AcceptEnv LANG LC_*
`;

function writeIn(upper: string, path: string, text: string, mode = 0o644): void {
  const full = join(upper, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, text, { mode });
  chmodSync(full, mode);
}

function hostsFile(host: LabHost, all: readonly LabHost[]): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    `127.0.1.1\t${host.name}`,
    "::1\tlocalhost ip6-localhost ip6-loopback",
  ];
  for (const h of all) if (h.name !== host.name) lines.push(`${sshAddress(h)}\t${h.name}`);
  return `${lines.join("\n")}\n`;
}

/** Files every host gets in its upper dir before its root is mounted. */
function prepareUpper(upper: string, host: LabHost, all: readonly LabHost[], extraFiles?: string): void {
  mkdirSync(join(upper, "root"), { recursive: true, mode: 0o700 });
  chmodSync(join(upper, "root"), 0o700);
  writeIn(upper, "etc/hostname", `${host.name}\n`);
  writeIn(upper, "etc/hosts", hostsFile(host, all));
  writeIn(upper, "etc/resolv.conf", RESOLV_CONF);
  writeIn(upper, "etc/ssh/sshd_lab_config", SSHD_CONFIG);
  writeIn(upper, "etc/ssh/lab_host_ed25519_key", readFileSync(hostKeyFile(host.name), "utf8"), 0o600);
  writeIn(upper, "etc/ssh/lab_host_ed25519_key.pub", readFileSync(`${hostKeyFile(host.name)}.pub`, "utf8"));
  mkdirSync(join(upper, "root/.ssh"), { recursive: true, mode: 0o700 });
  writeIn(upper, "root/.ssh/authorized_keys", labPublicKey(), 0o600);
  // Current start.sh and friends (the cached copy may be older: start.sh is not a cache input).
  if (existsSync(kindDir(host.kind))) {
    cpSync(kindDir(host.kind), join(upper, IN_ROOT_LAB_DIR.slice(1), host.kind), { recursive: true });
  }
  // Scenario's extra files for this host: copied as they are over the rootfs.
  if (extraFiles && existsSync(extraFiles)) cpSync(extraFiles, upper, { recursive: true });
}

/** Make /run/handover-lab/ns a private mount (required for bind-mounting namespace files onto it). */
export function prepareNsDir(state: LabState): void {
  mkdirSync(NS_DIR, { recursive: true });
  state.mounts.push(NS_DIR);
  saveState(state);
  run("mount", ["--bind", NS_DIR, NS_DIR]);
  run("mount", ["--make-private", NS_DIR]);
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Start a host's namespaces and reaper; returns its record (with initPid). */
export async function startHost(
  state: LabState,
  host: LabHost,
  all: readonly LabHost[],
  lower: string,
  extraFiles?: string,
): Promise<HostRecord> {
  const dir = hostDir(host.name);
  const [upper, work, root] = ["upper", "work", "root"].map((d) => join(dir, d)) as [string, string, string];
  mkdirSync(HOSTS_DIR, { recursive: true });
  if (!state.dirs.includes(HOSTS_DIR)) state.dirs.push(HOSTS_DIR);
  for (const d of [upper, work, root]) mkdirSync(d, { recursive: true });
  prepareUpper(upper, host, all, extraFiles);

  const record: HostRecord = { name: host.name, kind: host.kind, lower };
  state.hosts.push(record);
  const nsFiles = ["mnt", "uts"].map((t) => join(NS_DIR, `${host.name}.${t}`)) as [string, string];
  for (const f of nsFiles) {
    writeFileSync(f, "");
    state.mounts.push(f);
  }
  saveState(state);

  const ready = join(dir, "ready");
  mkdirSync(LOG_DIR, { recursive: true });
  const logFd = openSync(join(LOG_DIR, `${host.name}-ns.log`), "a");
  const child = spawn(
    "nsenter",
    [
      `--net=/run/netns/${hostNetns(host.name)}`,
      "unshare",
      `--mount=${nsFiles[0]}`,
      `--uts=${nsFiles[1]}`,
      "--pid",
      "--fork",
      "--propagation",
      "private",
      "sh",
      "-c",
      HOST_SETUP,
      "lab-host",
      lower,
      upper,
      work,
      root,
      host.name,
      ready,
      NS_DIR,
    ],
    { detached: true, stdio: ["ignore", logFd, logFd] },
  );
  closeSync(logFd);
  child.unref();
  // nsenter exec's unshare, so this PID is unshare's; its one child is the host's PID 1.
  recordPid(state, child.pid!, `${host.name}: unshare`);
  await waitFor(
    `${host.name}'s root to be mounted (see ${LOG_DIR}/${host.name}-ns.log)`,
    () => existsSync(ready),
    15_000,
  );
  await waitFor(`${host.name}'s PID 1`, () => childrenOf(child.pid!).length > 0, 5_000);
  record.initPid = childrenOf(child.pid!)[0]!;
  recordPid(state, record.initPid, `${host.name}: PID 1`);
  return record;
}
