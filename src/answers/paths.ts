/**
 * Paths in the answer file may start with `~/` (the operator's home on the machine running handover) and
 * known_hosts may be left out. These helpers give the real paths; HOME is passed in, never read globally.
 */
import { join } from "node:path";
import type { SshDefaults, SshEndpoint } from "./schema.js";

/** `~/x` → `<home>/x`; other paths unchanged. */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  return path.startsWith("~/") ? join(home, path.slice(2)) : path;
}

/** The known_hosts file to verify host keys against: the one given, or ~/.ssh/known_hosts. */
export function knownHostsFile(ssh: SshEndpoint | SshDefaults, home: string): string {
  return expandHome(ssh.known_hosts ?? "~/.ssh/known_hosts", home);
}

/** The private key file with `~` expanded, or undefined when the agent is used instead. */
export function keyFile(ssh: SshEndpoint | SshDefaults, home: string): string | undefined {
  return ssh.key_file === undefined ? undefined : expandHome(ssh.key_file, home);
}
