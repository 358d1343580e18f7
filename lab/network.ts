/**
 * The lab network: a namespace `ho-br` holding two bridges (mgmt, storage); per host a namespace `ho-<name>` with
 * eth0 on mgmt and eth1 on storage; the jump (root namespace) on a veth into each bridge, with /32 routes to each
 * lab address and blackhole routes for both ranges behind them. No default route anywhere; ip_forward untouched.
 */
import { JUMP_MGMT, JUMP_STORAGE, MGMT_CIDR, STORAGE_CIDR, type LabHost } from "./plan.js";
import { run } from "./proc.js";
import { saveState, type LabState } from "./state.js";

export const BRIDGE_NS = "ho-br";
export const JUMP_MGMT_LINK = "ho-mgmt";
export const JUMP_STORAGE_LINK = "ho-stor";

export function hostNetns(host: string): string {
  return `ho-${host}`;
}

function ip(args: readonly string[]): void {
  run("ip", args);
}

function addNetns(state: LabState, name: string): void {
  state.netns.push(name);
  saveState(state);
  ip(["netns", "add", name]);
  ip(["-n", name, "link", "set", "lo", "up"]);
}

export function createBridges(state: LabState): void {
  addNetns(state, BRIDGE_NS);
  for (const br of ["br-mgmt", "br-stor"]) {
    ip(["-n", BRIDGE_NS, "link", "add", br, "type", "bridge"]);
    // Forward at once (no STP listening delay) so a freshly attached host is reachable immediately.
    ip(["-n", BRIDGE_NS, "link", "set", br, "type", "bridge", "forward_delay", "0", "stp_state", "0"]);
    ip(["-n", BRIDGE_NS, "link", "set", br, "up"]);
  }
}

/** A host's namespace with eth0 (mgmt) and eth1 (storage) and their addresses. */
export function createHostNetwork(state: LabState, host: LabHost): void {
  const ns = hostNetns(host.name);
  addNetns(state, ns);
  const legs: [string, string, string, readonly string[]][] = [
    ["eth0", `m-${host.name}`, "br-mgmt", host.mgmt],
    ["eth1", `s-${host.name}`, "br-stor", host.storage],
  ];
  for (const [dev, peer, bridge, addrs] of legs) {
    ip(["-n", BRIDGE_NS, "link", "add", peer, "type", "veth", "peer", "name", dev, "netns", ns]);
    ip(["-n", BRIDGE_NS, "link", "set", peer, "master", bridge, "up"]);
    for (const a of addrs) ip(["-n", ns, "addr", "add", `${a}/24`, "dev", dev]);
    ip(["-n", ns, "link", "set", dev, "up"]);
  }
}

/** The jump's legs, host routes to every lab address, and blackhole routes behind them. */
export function createJump(state: LabState, hosts: readonly LabHost[]): void {
  const legs: [string, string, string, string, string, (h: LabHost) => readonly string[]][] = [
    [JUMP_MGMT_LINK, "j-mgmt", "br-mgmt", JUMP_MGMT, MGMT_CIDR, (h) => h.mgmt],
    [JUMP_STORAGE_LINK, "j-stor", "br-stor", JUMP_STORAGE, STORAGE_CIDR, (h) => h.storage],
  ];
  for (const [link, peer, bridge, addr, cidr, addrsOf] of legs) {
    // Blackhole first: from this moment no lab address can leave through the uplink.
    addRoute(state, ["blackhole", cidr, "metric", "4000"]);
    state.rootLinks.push(link);
    saveState(state);
    ip(["link", "add", link, "type", "veth", "peer", "name", peer, "netns", BRIDGE_NS]);
    ip(["-n", BRIDGE_NS, "link", "set", peer, "master", bridge, "up"]);
    ip(["addr", "add", `${addr}/32`, "dev", link]);
    ip(["link", "set", link, "up"]);
    const targets = new Set(hosts.flatMap((h) => [...addrsOf(h)]));
    for (const t of targets) addRoute(state, [`${t}/32`, "dev", link, "src", addr]);
  }
}

function addRoute(state: LabState, args: string[]): void {
  state.routes.push(args);
  saveState(state);
  ip(["route", "add", ...args]);
}
