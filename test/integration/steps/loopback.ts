/**
 * For the step integration tests: an SshHost to the test's loopback sshd (127.0.0.1, the client key, its host key
 * trusted through a known_hosts file written in the sshd's dir), and a StepContext over such hosts that records
 * what steps emit and checkpoint (never aborted; the clock is the real one).
 */
import type { JsonObject, StepContext, StepEvent } from "../../../src/engine/step.js";
import type { Host } from "../../../src/hosts/host.js";
import { SshHost } from "../../../src/hosts/ssh-host.js";
import type { Sshd } from "../hosts/fixtures/sshd.js";

export function loopbackHost(sshd: Sshd, name: string, knownHostsName = "known_hosts"): SshHost {
  return new SshHost({
    name,
    address: "127.0.0.1",
    port: sshd.port,
    keyFile: sshd.clientKey.privatePath,
    knownHostsFile: sshd.knownHosts(knownHostsName, `${sshd.knownHostsLine}\n`),
  });
}

/** The steps reach `hosts` by name; any other name fails the test. */
export function stepContext(
  hosts: Readonly<Record<string, Host>>,
  events: StepEvent[] = [],
  checkpoints: JsonObject[] = [],
): StepContext {
  return {
    host: (n) => {
      const h = hosts[n];
      if (!h) throw new Error(`test: no host ${n}`);
      return h;
    },
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
    now: () => new Date(),
    checkpoint: (d) => checkpoints.push(d),
  };
}
