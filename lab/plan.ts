/**
 * The lab's address plan (docs: /work/brief/LAB-ADDRESSES.md, mirrored in lab/README.md). Pure data: which
 * hosts exist, which rootfs kind each runs, and which addresses sit on its eth0 (mgmt) and eth1 (storage).
 */

export const MGMT_CIDR = "198.51.100.0/24";
export const STORAGE_CIDR = "198.18.0.0/24";
export const JUMP_MGMT = "198.51.100.254";
export const JUMP_STORAGE = "198.18.0.254";
export const MIRROR_PORT = 8080;
export const MIRROR_SOURCE = `deb [trusted=yes] http://${JUMP_MGMT}:${MIRROR_PORT}/ ./`;

/** The old controller's addresses that handover moves to the new controller at switchover. */
export const OLD_SERVICE_MGMT = "198.51.100.4";
export const OLD_SERVICE_STORAGE = "198.18.0.4";

export type RootfsKind = "old" | "new" | "compute";

export interface LabHost {
  readonly name: string;
  readonly kind: RootfsKind;
  /** Addresses on eth0 (first one is the SSH/admin address, never moved). */
  readonly mgmt: readonly string[];
  /** Addresses on eth1. */
  readonly storage: readonly string[];
  /** Other hosts' addresses that may move here later (their known_hosts lines must carry this host's key). */
  readonly mayReceive: readonly string[];
}

export const MAX_COMPUTES = 40;

export function labHosts(computes: number): LabHost[] {
  if (!Number.isInteger(computes) || computes < 1 || computes > MAX_COMPUTES) {
    throw new Error(`--computes must be an integer from 1 to ${MAX_COMPUTES}, got ${computes}`);
  }
  const hosts: LabHost[] = [
    {
      name: "old",
      kind: "old",
      mgmt: ["198.51.100.3", OLD_SERVICE_MGMT],
      storage: [OLD_SERVICE_STORAGE],
      mayReceive: [],
    },
    {
      name: "new",
      kind: "new",
      mgmt: ["198.51.100.5"],
      storage: ["198.18.0.5"],
      mayReceive: [OLD_SERVICE_MGMT, OLD_SERVICE_STORAGE],
    },
  ];
  for (let n = 1; n <= computes; n++) {
    hosts.push({
      name: `compute${n}`,
      kind: "compute",
      mgmt: [`198.51.100.${9 + n}`],
      storage: [`198.18.0.${9 + n}`],
      mayReceive: [],
    });
  }
  return hosts;
}

/** The host's SSH address: the first mgmt address. */
export function sshAddress(host: LabHost): string {
  return host.mgmt[0]!;
}

/** LAB_* variables given to build.sh and start.sh so they never hard-code addresses. */
export function labEnv(computes: number): Record<string, string> {
  const env: Record<string, string> = {
    LAB_OLD_ADMIN: "198.51.100.3",
    LAB_OLD_MGMT: OLD_SERVICE_MGMT,
    LAB_OLD_STORAGE: OLD_SERVICE_STORAGE,
    LAB_NEW_MGMT: "198.51.100.5",
    LAB_NEW_STORAGE: "198.18.0.5",
    LAB_JUMP_MGMT: JUMP_MGMT,
    LAB_JUMP_STORAGE: JUMP_STORAGE,
    LAB_MGMT_CIDR: MGMT_CIDR,
    LAB_STORAGE_CIDR: STORAGE_CIDR,
    LAB_COMPUTES: String(computes),
  };
  for (let n = 1; n <= computes; n++) {
    env[`LAB_COMPUTE${n}_MGMT`] = `198.51.100.${9 + n}`;
    env[`LAB_COMPUTE${n}_STORAGE`] = `198.18.0.${9 + n}`;
  }
  return env;
}
