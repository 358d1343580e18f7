/**
 * Answers (the operator's file) -> PlanInput (what the planner needs), plus the cross-checks that need both the
 * answers and the discovered facts: things the planner would not refuse but the operator should hear about.
 */
import type { Answers } from "../answers/index.js";
import { expandHome } from "../answers/index.js";
import type { Facts } from "../plan/facts.js";
import type { PlanInput } from "../plan/input.js";

export function planInputFromAnswers(answers: Answers, home: string): PlanInput {
  return {
    sourceRelease: answers.source_release,
    targetRelease: answers.target_release,
    services: [...answers.services],
    oldAddress: answers.controllers.old.ssh.address,
    stagingAddress: answers.controllers.new.staging_address,
    networks: answers.networks.map((n) => ({
      name: n.name,
      cidr: n.cidr,
      address: n.address,
      oldInterface: n.old_interface,
      newInterface: n.new_interface,
    })),
    computeHosts: answers.computes.hosts.map((h) => h.name),
    ...(answers.iscsi
      ? { iscsi: { oldPortal: answers.iscsi.old_portal, newPortal: answers.iscsi.new_portal } }
      : {}),
    packageSources: answers.packages.source
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith("#")),
    trustedPackages: answers.packages.trusted,
    stateDir: expandHome(answers.state_dir, home),
    options: {
      concurrency: answers.options.concurrency,
      freeze: answers.options.freeze,
      switch: answers.options.switch,
      credentials: answers.options.credentials,
    },
  };
}

function ifaceHas(facts: Facts["controllers"]["old"], name: string, address: string): boolean | undefined {
  const iface = facts.interfaces.find((i) => i.name === name);
  if (!iface) return undefined;
  return iface.addresses.some((a) => a.split("/")[0] === address);
}

/** Disagreements between the answers and what discovery found that do not stop planning. */
export function answerFactWarnings(answers: Answers, facts: Facts): string[] {
  const out: string[] = [];
  const { old, new: neu } = facts.controllers;
  for (const n of answers.networks) {
    const onOld = ifaceHas(old, n.old_interface, n.address);
    if (onOld === undefined) {
      out.push(`networks.${n.name}: the old controller has no interface ${n.old_interface}.`);
    } else if (!onOld) {
      out.push(`networks.${n.name}: ${n.address} is not on the old controller's ${n.old_interface} today.`);
    }
    if (
      old.interfaces.length > 0 &&
      neu.interfaces.length > 0 &&
      !neu.interfaces.some((i) => i.name === n.new_interface)
    ) {
      out.push(`networks.${n.name}: the new controller has no interface ${n.new_interface}.`);
    }
  }
  const iscsi = facts.nova?.iscsiAttachments ?? 0;
  if (!answers.iscsi && iscsi > 0) {
    out.push(
      `${iscsi} attached volume(s) use iSCSI but the answers have no iscsi section; their connection_info will not be checked or rewritten.`,
    );
  }
  const novaHosts = new Set((facts.nova?.computes ?? []).map((c) => c.host));
  for (const h of answers.computes.hosts) {
    if (facts.nova && !novaHosts.has(h.name)) {
      out.push(
        `computes.hosts: ${h.name} is not a nova-compute service in the old controller's nova database.`,
      );
    }
  }
  if (answers.computes.discover && !answers.computes.ssh_defaults) {
    const listed = new Set(answers.computes.hosts.map((h) => h.name));
    const unreachable = [...novaHosts].filter((h) => !listed.has(h));
    if (unreachable.length > 0) {
      out.push(
        `computes: discovered ${unreachable.join(", ")} but the answers give no SSH settings for them (add computes.ssh_defaults or list them).`,
      );
    }
  }
  return out;
}
