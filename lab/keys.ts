/**
 * SSH keys for one lab: a client key for the jump (ed25519, generated per lab) and a host key per host; plus the
 * jump's known_hosts naming each host's key under every address it has or may receive at switchover.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KEYS_DIR, KNOWN_HOSTS_FILE, LAB_KEY_FILE } from "./paths.js";
import type { LabHost } from "./plan.js";
import { run } from "./proc.js";

function keygen(file: string, comment: string): void {
  if (existsSync(file)) return;
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

export function hostKeyFile(host: string): string {
  return join(KEYS_DIR, `${host}_host_ed25519_key`);
}

export function generateKeys(hosts: readonly LabHost[]): void {
  mkdirSync(KEYS_DIR, { recursive: true, mode: 0o700 });
  keygen(LAB_KEY_FILE, "handover-lab-jump");
  for (const h of hosts) keygen(hostKeyFile(h.name), `handover-lab-${h.name}`);
}

/** "ssh-ed25519 AAAA..." of a public key file (comment dropped). */
function publicKey(file: string): string {
  const [type, key] = readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/);
  return `${type} ${key}`;
}

export function knownHostsText(hosts: readonly LabHost[]): string {
  const lines: string[] = [];
  for (const h of hosts) {
    const names = [h.name, ...h.mgmt, ...h.storage, ...h.mayReceive];
    lines.push(`${names.join(",")} ${publicKey(hostKeyFile(h.name))}`);
  }
  return `${lines.join("\n")}\n`;
}

export function writeKnownHosts(hosts: readonly LabHost[]): void {
  writeFileSync(KNOWN_HOSTS_FILE, knownHostsText(hosts), { mode: 0o644 });
}

export function labPublicKey(): string {
  return readFileSync(`${LAB_KEY_FILE}.pub`, "utf8");
}
