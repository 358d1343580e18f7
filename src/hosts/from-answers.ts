/**
 * Builds SshHosts from the answer file's SSH endpoints, so every command (check, run, rollback) reaches the
 * machines the same way. Secrets (key passphrases) are resolved by the caller and passed in.
 */
import { keyFile, knownHostsFile, type SshDefaults, type SshEndpoint } from "../answers/index.js";
import { SshHost } from "./ssh-host.js";

export interface SshEnvironment {
  /** HOME of the operator running handover (for `~/` paths and the default known_hosts). */
  readonly home: string;
  /** SSH_AUTH_SOCK, used when the endpoint says agent: true. */
  readonly agentSocket?: string | undefined;
  readonly connectTimeoutMs?: number;
}

export function sshHostFromEndpoint(
  name: string,
  ssh: SshEndpoint | (SshDefaults & { address: string }),
  env: SshEnvironment,
  passphrase?: string,
): SshHost {
  const key = keyFile(ssh, env.home);
  return new SshHost({
    name,
    address: ssh.address,
    port: ssh.port,
    user: ssh.user,
    ...(key !== undefined ? { keyFile: key } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(ssh.agent && env.agentSocket ? { agentSocket: env.agentSocket } : {}),
    knownHostsFile: knownHostsFile(ssh, env.home),
    hostKeyPolicy: ssh.host_key_policy,
    sudo: ssh.sudo,
    ...(env.connectTimeoutMs !== undefined ? { connectTimeoutMs: env.connectTimeoutMs } : {}),
  });
}
