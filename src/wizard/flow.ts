/**
 * The wizard's question flow: everything the answer file holds, in the order an operator knows it, each answer
 * checked as it is given (hosts contacted, host keys shown, DB logins tried, addresses checked against their
 * networks), with defaults from the previous answer file, then from what was discovered on the machines.
 *
 * Pure of terminal and network: it talks to the operator through `Ask` and to machines through `Probe`
 * (deps.ts), so unit tests run it with scripted fakes. It returns the answers; writing them is write-answers.ts.
 */
import { RELEASES, SERVICES, type AnswersInput, type ServiceName } from "../answers/index.js";
import { BugError, isUserError } from "../lib/errors.js";
import {
  checkAbsolutePath,
  checkCidr,
  checkInterfaceName,
  checkIp,
  checkNetworkName,
  checkPortal,
  checkTargetRelease,
  firstReason,
  interfaceFor,
  interfaceInCidr,
  isMovableCandidate,
  semanticErrorsAt,
} from "./checks.js";
import type { WizardDeps } from "./deps.js";
import { bool, list, num, oneOf, secretRef, str, type Raw } from "./previous.js";
import type { ControllerFound, MysqlFound, ProbeSession } from "./probe.js";
import { askSecret, savePendingSecret } from "./secret-ask.js";
import { askSsh, type SshAnswer, type SshSettings } from "./ssh-ask.js";

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };
type MysqlAnswer = AnswersInput["controllers"]["old"]["mysql"];
type NetworkAnswer = AnswersInput["networks"][number];

/** Where a clash with network i's moved address is reported: the address itself, or the field it clashes with. */
const ADDRESS_FIELDS = (i: number): (string | number)[][] => [
  ["networks", i, "address"],
  ["controllers", "old", "ssh", "address"],
  ["controllers", "new", "ssh", "address"],
  ["controllers", "new", "staging_address"],
];

export interface WizardOutcome {
  readonly answers: AnswersInput;
  /** What was discovered, for the summary printed at the end. */
  readonly found: {
    readonly old: ControllerFound;
    readonly new: ControllerFound;
    readonly mysql: MysqlFound;
  };
}

/**
 * Runs the whole flow. `previous` is the raw data of an existing answer file (its values become the defaults),
 * or undefined. Sessions opened on the machines are closed before returning.
 */
export async function runWizardFlow(deps: WizardDeps, previous: Raw): Promise<WizardOutcome> {
  const sessions: ProbeSession[] = [];
  try {
    return await flow(deps, previous, sessions);
  } finally {
    await Promise.allSettled(sessions.map((s) => s.close()));
  }
}

async function flow(deps: WizardDeps, prev: Raw, sessions: ProbeSession[]): Promise<WizardOutcome> {
  const { ask } = deps;
  const draft: Mutable<AnswersInput> = { version: 1 };

  // ---- old controller ------------------------------------------------------------------------------------------
  ask.section(
    "Old controller",
    "The controller running today. handover reads it (SSH, MySQL) and, at the switch, takes its addresses.",
  );
  const oldSsh = await askSsh(deps, {
    id: "controllers.old.ssh",
    name: "old",
    what: "the old controller",
    defaults: sshDefaults(prev, "controllers", "old", "ssh"),
    // On a re-run the previous file's moved addresses are known: the old controller must not be reached at one.
    checkAddress: (a) =>
      firstReason(
        semanticErrorsAt(
          { networks: list(prev, "networks"), controllers: { old: { ssh: sshForCheck(a) } } },
          ["controllers", "old", "ssh", "address"],
        ),
      ),
  });
  sessions.push(oldSsh.session);
  const oldFound = await discover(deps, oldSsh.session, "old");
  const oldMysql = await askMysql(deps, oldSsh.session, prev, "old", false);
  const mysqlFound = oldMysql.found;
  if (mysqlFound === undefined) throw new BugError("old controller's MySQL check returned nothing");

  // ---- releases ------------------------------------------------------------------------------------------------
  ask.section("Releases", "The release the cloud runs today and the one the new controller will run.");
  const releaseChoices = RELEASES.map((r) => ({ value: r }));
  const discoveredRelease = oneOf(RELEASES, oldFound.release);
  if (discoveredRelease) ask.note(`The old controller's packages are ${discoveredRelease}.`);
  const source = await ask.select({
    id: "source_release",
    message: "Release the cloud runs today:",
    choices: releaseChoices,
    default: oneOf(RELEASES, str(prev, "source_release")) ?? discoveredRelease,
  });
  let target: string;
  for (;;) {
    const next = RELEASES[RELEASES.indexOf(source) + 1];
    target = await ask.select({
      id: "target_release",
      message: "Release the new controller will run:",
      choices: releaseChoices,
      default: oneOf(RELEASES, str(prev, "target_release")) ?? next,
    });
    const ok = checkTargetRelease(source, target);
    if (ok === true) break;
    ask.note(`✗ ${ok}`);
  }
  draft.source_release = source;
  draft.target_release = target;

  // ---- new controller ------------------------------------------------------------------------------------------
  ask.section(
    "New controller",
    "The machine that becomes the controller. It is reached at its own (staging) address until the switch.",
  );
  // The new controller is usually reached the same way as the old one: its settings are the defaults.
  const { address: _oldAddress, ...fromOld } = oldSsh.ssh;
  const newSsh = await askSsh(deps, {
    id: "controllers.new.ssh",
    name: "new",
    what: "the new controller",
    defaults: { ...fromOld, ...sshDefaults(prev, "controllers", "new", "ssh") },
    checkAddress: (a) =>
      a === oldSsh.ssh.address
        ? "this is the old controller's address; the new controller has its own"
        : true,
  });
  sessions.push(newSsh.session);
  const newFound = await discover(deps, newSsh.session, "new");
  const staging = (
    await ask.input({
      id: "controllers.new.staging_address",
      message: "The new controller's own address until the switch (staging address):",
      default:
        str(prev, "controllers", "new", "staging_address") ??
        (checkIp(newSsh.ssh.address) === true ? newSsh.ssh.address : undefined),
      validate: (v) => {
        const syntax = checkIp(v.trim());
        if (syntax !== true) return `${syntax} (the staging address is configured on an interface)`;
        return true;
      },
    })
  ).trim();
  const newMysql = await askMysql(deps, newSsh.session, prev, "new", true);
  draft.controllers = {
    old: { ssh: oldSsh.ssh, mysql: oldMysql.mysql },
    new: { ssh: newSsh.ssh, mysql: newMysql.mysql, staging_address: staging },
  };

  // ---- computes ------------------------------------------------------------------------------------------------
  draft.computes = await askComputes(deps, prev, oldSsh.ssh, mysqlFound, sessions);

  // ---- services ------------------------------------------------------------------------------------------------
  ask.section("Services", "The OpenStack services to migrate to the new controller.");
  const prevServices = list(prev, "services").filter((s): s is ServiceName =>
    (SERVICES as readonly unknown[]).includes(s),
  );
  const chosenByDefault: readonly ServiceName[] =
    prevServices.length > 0 ? prevServices : oldFound.services.length > 0 ? oldFound.services : SERVICES;
  if (oldFound.services.length > 0)
    ask.note(`Installed on the old controller: ${oldFound.services.join(", ")}.`);
  draft.services = await ask.checkbox({
    id: "services",
    message: "Services to migrate:",
    choices: SERVICES.map((s) => ({
      value: s,
      checked: chosenByDefault.includes(s),
      ...(oldFound.services.includes(s) ? { description: "installed on the old controller" } : {}),
    })),
    validate: (v) => (v.length === 0 ? "choose at least one service" : true),
  });

  // ---- networks ------------------------------------------------------------------------------------------------
  draft.networks = await askNetworks(deps, prev, draft, oldFound, newFound);

  // ---- iscsi ---------------------------------------------------------------------------------------------------
  const iscsi = await askIscsi(deps, prev, draft);
  if (iscsi) draft.iscsi = iscsi;

  // ---- packages, state, options ---------------------------------------------------------------------------------
  ask.section("Packages", "Where the new controller installs the target release's packages from.");
  const sourceLines = await ask.input({
    id: "packages.source",
    message: "apt source line for the new controller (deb URL SUITE COMPONENT):",
    default: str(prev, "packages", "source"),
    validate: (v) =>
      v.trim() === ""
        ? "expected an apt line: deb URL SUITE COMPONENT..."
        : firstReason(semanticErrorsAt({ packages: { source: v.trim() } }, ["packages", "source"])),
  });
  const trusted = await ask.confirm({
    id: "packages.trusted",
    message: "Is it an unsigned mirror (mark it [trusted=yes])?",
    default: bool(prev, "packages", "trusted") ?? false,
  });
  draft.packages = { source: sourceLines.trim(), trusted };

  ask.section("State and options", "Where the journal lives, and how the run behaves.");
  draft.state_dir = (
    await ask.input({
      id: "state_dir",
      message: "State directory (journal, lock, reports) on this machine:",
      default: str(prev, "state_dir") ?? "/var/lib/handover",
      validate: checkAbsolutePath,
    })
  ).trim();
  const concurrency = await ask.number({
    id: "options.concurrency",
    message: "How many independent steps may run at once (1-32):",
    default: num(prev, "options", "concurrency") ?? 4,
    min: 1,
    max: 32,
  });
  const freeze = await ask.select({
    id: "options.freeze",
    message: "How the old control plane is frozen before the final sync:",
    choices: [
      { value: "stop-apis" as const, name: "stop-apis: stop the API services" },
      { value: "haproxy-503" as const, name: "haproxy-503: answer 503 from haproxy" },
    ],
    default: oneOf(["stop-apis", "haproxy-503"] as const, str(prev, "options", "freeze")) ?? "stop-apis",
  });
  const switchMode = await ask.select({
    id: "options.switch",
    message: "Moving the addresses to the new controller:",
    choices: [
      { value: "confirm" as const, name: "confirm: ask before moving them" },
      { value: "auto" as const, name: "auto: move them without asking" },
      { value: "never" as const, name: "never: stop before the switch" },
    ],
    default: oneOf(["auto", "confirm", "never"] as const, str(prev, "options", "switch")) ?? "confirm",
  });
  const credentials = await ask.select({
    id: "options.credentials",
    message: "Database and RabbitMQ credentials of the services on the new controller:",
    choices: [
      { value: "keep" as const, name: "keep: the same as on the old controller" },
      { value: "new" as const, name: "new: generate fresh ones" },
    ],
    default: oneOf(["keep", "new"] as const, str(prev, "options", "credentials")) ?? "keep",
  });
  draft.options = { concurrency, freeze, switch: switchMode, credentials };

  return {
    answers: complete(draft),
    found: { old: oldFound, new: newFound, mysql: mysqlFound },
  };
}

function complete(d: Mutable<AnswersInput>): AnswersInput {
  const { source_release, target_release, controllers, computes, services, networks, packages } = d;
  if (
    source_release === undefined ||
    target_release === undefined ||
    controllers === undefined ||
    computes === undefined ||
    services === undefined ||
    networks === undefined ||
    packages === undefined
  ) {
    throw new BugError("the wizard finished without every section answered");
  }
  return {
    version: 1,
    source_release,
    target_release,
    controllers,
    computes,
    services,
    networks,
    ...(d.iscsi ? { iscsi: d.iscsi } : {}),
    packages,
    ...(d.state_dir !== undefined ? { state_dir: d.state_dir } : {}),
    ...(d.options ? { options: d.options } : {}),
  };
}

/** A minimal valid endpoint around an address, so semantic checks can judge the address alone. */
function sshForCheck(address: string): SshAnswer {
  return { address, port: 22, user: "root", agent: true, host_key_policy: "strict", sudo: false };
}

function sshDefaults(prev: Raw, ...path: (string | number)[]): Partial<SshAnswer> {
  const out: Partial<SshAnswer> = {};
  const address = str(prev, ...path, "address");
  if (address !== undefined) out.address = address;
  const port = num(prev, ...path, "port");
  if (port !== undefined) out.port = port;
  const user = str(prev, ...path, "user");
  if (user !== undefined) out.user = user;
  const key = str(prev, ...path, "key_file");
  if (key !== undefined) out.key_file = key;
  const agent = bool(prev, ...path, "agent");
  if (agent !== undefined) out.agent = agent;
  const passphrase = secretRef(prev, ...path, "passphrase");
  if (passphrase !== undefined) out.passphrase = passphrase;
  const kh = str(prev, ...path, "known_hosts");
  if (kh !== undefined) out.known_hosts = kh;
  const policy = oneOf(["strict", "accept-new"] as const, str(prev, ...path, "host_key_policy"));
  if (policy !== undefined) out.host_key_policy = policy;
  const sudo = bool(prev, ...path, "sudo");
  if (sudo !== undefined) out.sudo = sudo;
  return out;
}

async function discover(
  deps: WizardDeps,
  session: ProbeSession,
  name: "old" | "new",
): Promise<ControllerFound> {
  try {
    const found = await session.discover();
    const addrs = found.interfaces
      .filter((i) => i.addresses.some(isMovableCandidate))
      .map((i) => `${i.name} ${i.addresses.filter(isMovableCandidate).join(" ")}`);
    deps.ask.note(
      `Found on ${name} (${found.hostname || "?"}): ${found.release ? `OpenStack ${found.release}` : "no OpenStack release"}` +
        `${found.services.length ? ` (${found.services.join(", ")})` : ""}; addresses: ${addrs.join("; ") || "none"}`,
    );
    for (const n of found.notes) deps.ask.note(`  note: ${n}`);
    return found;
  } catch (e) {
    if (!isUserError(e)) throw e;
    deps.ask.note(`! could not discover ${name}: ${e.message} (no defaults from it)`);
    return { hostname: "", services: [], interfaces: [], notes: [] };
  }
}

async function askMysql(
  deps: WizardDeps,
  session: ProbeSession,
  prev: Raw,
  role: "old" | "new",
  mayFail: boolean,
): Promise<{ mysql: MysqlAnswer; found?: MysqlFound }> {
  const { ask } = deps;
  const base = ["controllers", role, "mysql"] as const;
  ask.note(
    role === "old"
      ? "MySQL on the old controller: admin credentials (handover reaches it through the SSH connection)."
      : "MySQL on the new controller: the admin credentials it has, or will have after provisioning.",
  );
  let user = str(prev, ...base, "user") ?? "root";
  let port = num(prev, ...base, "port") ?? 3306;
  const host = str(prev, ...base, "host");
  let previousRef = secretRef(prev, ...base, "password");
  for (;;) {
    user = (
      await ask.input({
        id: `${base.join(".")}.user`,
        message: "MySQL admin user:",
        default: user,
        validate: (v) => (v.trim() === "" ? "expected a user name" : true),
      })
    ).trim();
    const secret = await askSecret(deps, {
      id: `${base.join(".")}.password`,
      what: `the ${role} controller's MySQL password`,
      previous: previousRef,
      defaultEnv: `${role.toUpperCase()}_MYSQL_PASSWORD`,
      defaultFileName: `${role}-mysql.pass`,
    });
    previousRef = secret.ref;
    port = await ask.number({
      id: `${base.join(".")}.port`,
      message: "MySQL port, as seen from the controller itself:",
      default: port,
      min: 1,
      max: 65535,
    });
    const mysql: MysqlAnswer = {
      user,
      password: secret.ref,
      ...(host !== undefined ? { host } : {}),
      port,
    };
    try {
      const found = await session.tryMysql({ user, password: secret.value, host: host ?? "127.0.0.1", port });
      ask.note(
        `✓ MySQL on ${role}: ${found.version}, ${found.databases.length} database(s)` +
          (role === "old" ? `; nova lists ${found.computes.length} compute host(s)` : ""),
      );
      for (const n of found.notes) ask.note(`  note: ${n}`);
      await savePendingSecret(deps, secret);
      return { mysql, found };
    } catch (e) {
      if (!isUserError(e)) throw e;
      ask.note(`✗ ${e.message}`);
      if (mayFail) {
        const keep = await ask.confirm({
          id: `${base.join(".")}.keep_untested`,
          message:
            "Keep these credentials anyway? (normal when MySQL on the new controller is set up by provisioning)",
          default: false,
        });
        if (keep) {
          await savePendingSecret(deps, secret);
          return { mysql };
        }
      }
    }
  }
}

async function askComputes(
  deps: WizardDeps,
  prev: Raw,
  oldSsh: SshAnswer,
  found: MysqlFound,
  sessions: ProbeSession[],
): Promise<AnswersInput["computes"]> {
  const { ask } = deps;
  ask.section("Compute hosts", "handover pins and later checks nova-compute on every compute host over SSH.");
  const discovered = found.computes;
  ask.note(
    discovered.length > 0
      ? `nova lists ${discovered.length} compute host(s): ${discovered.join(", ")}.`
      : "nova lists no compute hosts.",
  );
  const prevHosts = list(prev, "computes", "hosts");
  const prevDiscover = bool(prev, "computes", "discover");
  const mode = await ask.select<"discover" | "list">({
    id: "computes.mode",
    message: "How does handover find the compute hosts?",
    choices: [
      {
        value: "discover",
        name: "from nova's services table at run time, reached at the names nova reports",
        description: "computes.discover: true with shared SSH settings",
      },
      { value: "list", name: "an explicit list with an address for each", description: "computes.hosts" },
    ],
    default:
      prevDiscover === false || (prevDiscover === undefined && prevHosts.length > 0) ? "list" : "discover",
  });
  const { address: _omit, ...oldSettings } = oldSsh;
  const sharedDefaults: SshSettings = {
    ...oldSettings,
    ...(sshDefaults(prev, "computes", "ssh_defaults") as Partial<SshSettings>),
  };
  const same = await ask.confirm({
    id: "computes.same_ssh",
    message: `Reach compute hosts with the old controller's SSH settings (user ${sharedDefaults.user}, port ${sharedDefaults.port}, ${sharedDefaults.key_file ?? "agent"}, ${sharedDefaults.known_hosts ?? "~/.ssh/known_hosts"})?`,
    default: true,
  });

  const check = async (name: string, address: string | undefined, id: string): Promise<SshAnswer> => {
    const r = await askSsh(deps, {
      id,
      name,
      what: `compute host ${name}`,
      defaults: { ...sharedDefaults, ...(address !== undefined ? { address } : {}) },
      addressOnly: same,
      tryDefaultAddress: address !== undefined,
      checkAddress: (a) => (a === oldSsh.address ? "this is the old controller's address" : true),
    });
    sessions.push(r.session);
    return r.ssh;
  };

  if (mode === "discover") {
    const ssh_defaults = same ? sharedDefaults : undefined;
    const hosts: NonNullable<AnswersInput["computes"]["hosts"]> = [];
    let defaults = ssh_defaults;
    for (const name of discovered) {
      // Each host is contacted now at the name nova reports (or where the previous answers reached it): its key
      // shown and trusted, its login tried.
      const prevIndex = prevHosts.findIndex((_, j) => str(prevHosts, j, "name") === name);
      const known = prevIndex >= 0 ? str(prevHosts, prevIndex, "ssh", "address") : undefined;
      const ssh = await check(name, known ?? name, `computes.hosts.${name}.ssh`);
      if (!same && defaults === undefined) {
        const { address: _a, ...rest } = ssh;
        defaults = rest;
      }
      if (ssh.address !== name) hosts.push({ name, ssh }); // reached elsewhere than its name: listed explicitly
    }
    return {
      discover: true,
      ...(hosts.length > 0 ? { hosts } : {}),
      ...(defaults ? { ssh_defaults: defaults } : { ssh_defaults: sharedDefaults }),
    };
  }

  const names = [
    ...new Set([
      ...prevHosts.map((_, i) => str(prevHosts, i, "name")).filter((n): n is string => n !== undefined),
      ...discovered,
    ]),
  ];
  const hosts: NonNullable<AnswersInput["computes"]["hosts"]> = [];
  for (let i = 0; ; i++) {
    const proposed = names[i];
    if (proposed === undefined) {
      const more = await ask.confirm({
        id: "computes.hosts.add",
        message: hosts.length === 0 ? "Add a compute host?" : "Add another compute host?",
        default: hosts.length === 0,
      });
      if (!more) {
        if (hosts.length === 0) {
          ask.note("✗ at least one compute host is needed (or let handover discover them from nova).");
          continue;
        }
        break;
      }
    }
    const name = (
      await ask.input({
        id: `computes.hosts[${i}].name`,
        message: "Compute host name, as nova knows it:",
        default: proposed,
        validate: (v) =>
          v.trim() === ""
            ? "expected the host name nova reports"
            : hosts.some((h) => h.name === v.trim())
              ? `${v.trim()} is already listed`
              : true,
      })
    ).trim();
    const prevIndex = prevHosts.findIndex((_, j) => str(prevHosts, j, "name") === name);
    const address = (prevIndex >= 0 ? str(prevHosts, prevIndex, "ssh", "address") : undefined) ?? name;
    hosts.push({ name, ssh: await check(name, address, `computes.hosts[${i}].ssh`) });
  }
  return { discover: false, hosts };
}

async function askNetworks(
  deps: WizardDeps,
  prev: Raw,
  draft: Mutable<AnswersInput>,
  oldFound: ControllerFound,
  newFound: ControllerFound,
): Promise<NetworkAnswer[]> {
  const { ask } = deps;
  ask.section(
    "Networks that move",
    "Addresses the clients use (API endpoints, iSCSI portal) move from the old controller to the new one at the switch.",
  );
  const sshAddresses = new Set([
    draft.controllers?.old.ssh.address,
    draft.controllers?.new.ssh.address,
    draft.controllers?.new.staging_address,
  ]);
  const candidates = oldFound.interfaces.flatMap((i) =>
    i.addresses
      .filter((a) => isMovableCandidate(a) && !sshAddresses.has(a.split("/")[0]))
      .map((a) => ({ itf: i.name, address: a.split("/")[0] ?? "" })),
  );
  if (candidates.length > 0) {
    ask.note(
      `Addresses on the old controller: ${candidates.map((c) => `${c.address} (${c.itf})`).join(", ")}.`,
    );
  }
  const prevNets = list(prev, "networks");
  const done: NetworkAnswer[] = [];
  for (let i = 0; ; i++) {
    const p = (k: string) => str(prevNets, i, k);
    const unused = candidates.find((c) => !done.some((n) => n.address === c.address));
    const withCandidate = (n: Partial<NetworkAnswer>) => ({ ...draft, networks: [...done, n] });
    const address = (
      await ask.input({
        id: `networks[${i}].address`,
        message: `Address that moves (network ${i + 1}):`,
        default: p("address") ?? unused?.address,
        validate: (v) => {
          const syntax = checkIp(v.trim());
          if (syntax !== true) return syntax;
          return firstReason(semanticErrorsAt(withCandidate({ address: v.trim() }), ...ADDRESS_FIELDS(i)));
        },
      })
    ).trim();
    const onOld = interfaceFor(oldFound.interfaces, address);
    if (onOld === undefined) ask.note(`! ${address} is not on any interface of the old controller.`);
    const cidr = (
      await ask.input({
        id: `networks[${i}].cidr`,
        message: `Network of ${address} (CIDR):`,
        default: p("cidr") ?? onOld?.cidr,
        validate: (v) => {
          const syntax = checkCidr(v.trim());
          if (syntax !== true) return syntax;
          return firstReason(
            semanticErrorsAt(withCandidate({ address, cidr: v.trim() }), ["networks", i, "address"]),
          );
        },
      })
    ).trim();
    const name = (
      await ask.input({
        id: `networks[${i}].name`,
        message: "Short name for this network:",
        default: p("name") ?? ["mgmt", "storage"][i] ?? `net${i + 1}`,
        validate: (v) => {
          const syntax = checkNetworkName(v.trim());
          if (syntax !== true) return syntax;
          return done.some((n) => n.name === v.trim()) ? `network "${v.trim()}" is already named` : true;
        },
      })
    ).trim();
    const oldInterface = (
      await ask.input({
        id: `networks[${i}].old_interface`,
        message: `Interface carrying ${address} on the old controller:`,
        default: p("old_interface") ?? onOld?.name,
        validate: checkInterfaceName,
      })
    ).trim();
    const newInterface = (
      await ask.input({
        id: `networks[${i}].new_interface`,
        message: `Interface that takes ${address} on the new controller:`,
        default: p("new_interface") ?? interfaceInCidr(newFound.interfaces, cidr) ?? oldInterface,
        validate: checkInterfaceName,
      })
    ).trim();
    done.push({ name, cidr, address, old_interface: oldInterface, new_interface: newInterface });
    const more = await ask.confirm({
      id: "networks.add",
      message: "Does another address move?",
      default: i + 1 < prevNets.length || candidates.some((c) => !done.some((n) => n.address === c.address)),
    });
    if (!more) return done;
  }
}

async function askIscsi(
  deps: WizardDeps,
  prev: Raw,
  draft: Mutable<AnswersInput>,
): Promise<AnswersInput["iscsi"]> {
  const { ask } = deps;
  const networks = draft.networks ?? [];
  const storage = networks.find((n) => n.name === "storage") ?? networks[networks.length - 1];
  const uses = await ask.confirm({
    id: "iscsi.present",
    message: "Do instances reach cinder volumes over iSCSI on the controller (a portal that moves)?",
    default: str(prev, "iscsi", "old_portal") !== undefined || (draft.services ?? []).includes("cinder"),
  });
  if (!uses) return undefined;
  const oldPortal = (
    await ask.input({
      id: "iscsi.old_portal",
      message: "iSCSI portal in the volumes' connection_info today (address or address:port):",
      default: str(prev, "iscsi", "old_portal") ?? storage?.address,
      validate: checkPortal,
    })
  ).trim();
  const newPortal = (
    await ask.input({
      id: "iscsi.new_portal",
      message: "Where the portal is after the move (the same when its address moves):",
      default: str(prev, "iscsi", "new_portal") ?? oldPortal,
      validate: checkPortal,
    })
  ).trim();
  return { old_portal: oldPortal, new_portal: newPortal };
}
