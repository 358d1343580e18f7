/**
 * The short summary `handover validate` prints for a valid answer file: what handover understood, so the
 * operator can spot a wrong value that is still a valid one (a swapped interface, the wrong release).
 */
import type { Answers, SshEndpoint } from "./schema.js";

function endpoint(ssh: SshEndpoint): string {
  const host = ssh.address.includes(":") ? `[${ssh.address}]` : ssh.address;
  const auth = ssh.key_file !== undefined ? `key ${ssh.key_file}` : "ssh agent";
  return `${ssh.user}@${host}:${ssh.port} (${auth}${ssh.sudo ? ", sudo" : ""}, host keys ${ssh.host_key_policy})`;
}

export function summariseAnswers(answers: Answers): string[] {
  const computes = answers.computes.hosts.map((h) => `${h.name} (${h.ssh.address})`);
  if (answers.computes.discover) {
    computes.push(
      computes.length > 0
        ? "plus those nova lists on the old controller"
        : "those nova lists on the old controller",
    );
  }
  const lines: [string, string][] = [
    ["releases", `${answers.source_release} → ${answers.target_release}`],
    ["old", endpoint(answers.controllers.old.ssh)],
    ["new", `${endpoint(answers.controllers.new.ssh)}, staging ${answers.controllers.new.staging_address}`],
    ["computes", computes.join(", ")],
    ["services", answers.services.join(", ")],
    [
      "networks",
      answers.networks
        .map((n) => `${n.name} ${n.address} in ${n.cidr} (${n.old_interface} → ${n.new_interface})`)
        .join("; "),
    ],
  ];
  if (answers.iscsi) lines.push(["iscsi", `${answers.iscsi.old_portal} → ${answers.iscsi.new_portal}`]);
  lines.push(["state", answers.state_dir]);
  const o = answers.options;
  lines.push([
    "options",
    `concurrency ${o.concurrency}, freeze ${o.freeze}, switch ${o.switch}, credentials ${o.credentials}`,
  ]);
  return lines.map(([k, v]) => `  ${k.padEnd(9)} ${v}`);
}
