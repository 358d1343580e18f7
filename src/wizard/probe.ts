/**
 * What the wizard learns from the machines, read-only, behind one interface so the question flow can be driven
 * by a fake in unit tests (test/unit/wizard/fake-probe.ts). The real implementation is ssh-probe.ts: SSH through
 * src/hosts (SshHost, known_hosts), discovery through src/discovery, MySQL through src/db.
 *
 * Every failure the operator can fix is thrown as a UserError; the flow shows its message and asks again.
 */
import type { ServiceName } from "../answers/index.js";
import type { InterfaceFacts } from "../plan/facts.js";

export interface SshTarget {
  readonly address: string;
  readonly port: number;
  /** known_hosts with `~` already expanded. */
  readonly knownHostsFile: string;
}

/** What an SSH server showed as its host key, and what the known_hosts file says about that key. */
export interface HostKeyScan {
  readonly target: SshTarget;
  /** e.g. ssh-ed25519 */
  readonly type: string;
  /** SHA256:... as ssh-keygen -l prints it. */
  readonly fingerprint: string;
  /**
   * match: on record (line given); unknown: not on record for this host; changed: the host has a different key of
   * this type on record; revoked: marked @revoked.
   */
  readonly verdict: "match" | "unknown" | "changed" | "revoked";
  /** known_hosts line(s) concerned (match, changed, revoked). */
  readonly lines: readonly number[];
  /** The key in SSH wire format, kept to record it when the operator trusts it. */
  readonly key: Buffer;
}

/** How to log in, with `~` expanded and secrets resolved. */
export interface LoginSettings {
  /** Name used in messages (old, new, compute host name). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly keyFile?: string | undefined;
  readonly agent: boolean;
  readonly passphrase?: string | undefined;
  readonly knownHostsFile: string;
  readonly sudo: boolean;
}

/** Defaults discovered on a controller. */
export interface ControllerFound {
  readonly hostname: string;
  /** Release its OpenStack packages make, when they name one. */
  readonly release?: string | undefined;
  readonly services: readonly ServiceName[];
  readonly interfaces: readonly InterfaceFacts[];
  readonly notes: readonly string[];
}

export interface MysqlLogin {
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
}

export interface MysqlFound {
  /** SELECT VERSION() */
  readonly version: string;
  readonly databases: readonly string[];
  /** Compute host names from nova's services table (empty without nova). */
  readonly computes: readonly string[];
  readonly notes: readonly string[];
}

/** A logged-in machine. */
export interface ProbeSession {
  /** Read-only discovery: hostname, release, services, interfaces. */
  discover(): Promise<ControllerFound>;
  /** Tries MySQL credentials through this SSH connection (read-only session). Throws MYSQL_* UserErrors. */
  tryMysql(login: MysqlLogin): Promise<MysqlFound>;
  close(): Promise<void>;
}

export interface Probe {
  /** Contacts the SSH server for its host key only (no login). Throws HOST_UNREACHABLE when it cannot. */
  scanHostKey(target: SshTarget): Promise<HostKeyScan>;
  /** Appends a key the operator accepted (verdict "unknown" only) to its known_hosts file. */
  trustHostKey(scan: HostKeyScan): Promise<void>;
  /** Logs in with strict host key checking (the key must be on record by now). Throws HOST_* UserErrors. */
  login(settings: LoginSettings): Promise<ProbeSession>;
}
