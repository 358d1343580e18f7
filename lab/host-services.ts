/**
 * Daemons inside a running host: the lab's sshd (always) and the kind's start.sh (if the seeding helper wrote one).
 * Both are launched through nsenter; what they leave in the background is reparented to the host's PID 1.
 */
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { execIn, spawnIn } from "./enter.js";
import { CACHE_DIR, kindDir } from "./paths.js";
import { sshAddress, type LabHost } from "./plan.js";
import { IN_ROOT_LAB_DIR, unseeded } from "./rootfs-cache.js";
import type { HostRecord } from "./state.js";

/** True once something accepts TCP connections on address:port (from the jump). */
export function tcpOpen(address: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.once("connect", () => done(true));
    sock.once("timeout", () => done(false));
    sock.once("error", () => done(false));
  });
}

export async function waitTcp(address: string, port: number, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tcpOpen(address, port))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on ${address}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSshd(rec: HostRecord, host: LabHost): Promise<void> {
  const res = execIn(rec, [
    "/bin/sh",
    "-c",
    "mkdir -p /run/sshd && chmod 0755 /run/sshd && " +
      "setsid /usr/sbin/sshd -D -f /etc/ssh/sshd_lab_config -E /var/log/sshd-lab.log </dev/null >/dev/null 2>&1 &",
  ]);
  if (res.code !== 0) throw new Error(`${host.name}: could not start sshd: ${res.stderr}`);
  await waitTcp(sshAddress(host), 22, `${host.name}'s sshd`, 10_000);
}

/** Log of a host's start.sh: in the cache dir so it survives `down` for post-mortems. */
export function startLogPath(host: string): string {
  return join(CACHE_DIR, "logs", `start-${host}.log`);
}

/** Run lab/rootfs/<kind>/start.sh inside the host (skipped if absent); throws with the log tail on failure. */
export async function runStartScript(
  rec: HostRecord,
  host: LabHost,
  env: Record<string, string>,
): Promise<boolean> {
  if (unseeded(host.kind) || !existsSync(join(kindDir(host.kind), "start.sh"))) return false;
  const log = startLogPath(host.name);
  const fd = openSync(log, "w");
  let code: number;
  try {
    code = await spawnIn(rec, ["/bin/sh", `${IN_ROOT_LAB_DIR}/${host.kind}/start.sh`], ["ignore", fd, fd], {
      ...env,
      LAB_HOST: host.name,
      LAB_KIND: host.kind,
    });
  } finally {
    closeSync(fd);
  }
  if (code !== 0) {
    const tail = readFileSync(log, "utf8").split("\n").slice(-30).join("\n");
    throw new Error(`${host.name}: start.sh exited ${code}; last lines of ${log}:\n${tail}`);
  }
  return true;
}
