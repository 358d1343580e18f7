/**
 * Asking for one SSH endpoint and proving it works before going on: the server is contacted for its host key,
 * which is shown (fingerprint, and the known_hosts line when on record); an unknown key is recorded in the
 * answers' known_hosts file only when the operator says yes; a changed or revoked key is refused. Then the login
 * is tried with strict host keys, the way `handover run` will log in. Any failure is shown and the endpoint is
 * asked again, with what was typed as the defaults.
 */
import type { SshEndpoint } from "../answers/index.js";
import { expandHome } from "../answers/index.js";
import { isUserError } from "../lib/errors.js";
import type { Validation } from "./ask.js";
import { checkAbsolutePath, checkHostAddress } from "./checks.js";
import type { WizardDeps } from "./deps.js";
import type { HostKeyScan, ProbeSession } from "./probe.js";
import { askSecret, resolveRef, savePendingSecret } from "./secret-ask.js";

/** An SSH endpoint as written in the answer file (defaults included, so the file says what is used). */
export type SshAnswer = Omit<SshEndpoint, "passphrase"> & { passphrase?: SshEndpoint["passphrase"] };

/** Settings without the address: what compute hosts share (ssh_defaults) and what one endpoint proposes. */
export type SshSettings = Omit<SshAnswer, "address">;

export interface SshAskOptions {
  /** Field path of the endpoint (`controllers.old.ssh`), the id prefix of its questions. */
  readonly id: string;
  /** Name in messages: old, new, or a compute host's name. */
  readonly name: string;
  /** What the machine is, for the questions ("the old controller"). */
  readonly what: string;
  readonly defaults: Partial<SshAnswer>;
  /** Cross-field check of the address (e.g. not a moved address), from the answers so far. */
  readonly checkAddress?: (address: string) => Validation;
  /** Ask only the address; the other settings are `defaults` (compute hosts sharing the old controller's). */
  readonly addressOnly?: boolean;
  /** Try `defaults.address` before asking for one (a compute host at the name nova reports); asked on failure. */
  readonly tryDefaultAddress?: boolean;
}

export interface SshResult {
  readonly ssh: SshAnswer;
  readonly session: ProbeSession;
  readonly scan: HostKeyScan;
}

export function defaultKeyFile(home: string): string {
  return `${home}/.ssh/id_ed25519`;
}

export async function askSsh(deps: WizardDeps, o: SshAskOptions): Promise<SshResult> {
  const { ask } = deps;
  let d: Partial<SshAnswer> = o.defaults;
  let untried = o.tryDefaultAddress === true ? o.defaults.address : undefined;
  for (;;) {
    const given = untried;
    untried = undefined;
    const address =
      given ??
      (
        await ask.input({
          id: `${o.id}.address`,
          message: `Address of ${o.what} (IP or host name handover connects to):`,
          default: d.address,
          validate: (v) => {
            const syntax = checkHostAddress(v);
            return syntax === true && o.checkAddress ? o.checkAddress(v.trim()) : syntax;
          },
        })
      ).trim();
    const ssh =
      o.addressOnly || given !== undefined
        ? settingsFrom(d, address)
        : await askSettings(deps, o, d, address);
    d = ssh;
    const knownHostsFile = expandHome(ssh.known_hosts ?? "~/.ssh/known_hosts", deps.home);
    let scan: HostKeyScan;
    try {
      scan = await deps.probe.scanHostKey({ address, port: ssh.port, knownHostsFile });
    } catch (e) {
      if (!isUserError(e)) throw e;
      ask.note(`✗ ${e.message}`);
      continue;
    }
    if (!(await confirmHostKey(deps, o, scan))) continue;
    const session = await login(deps, o, ssh, knownHostsFile);
    if (session === undefined) {
      // Keep what was typed, including a passphrase reference given during the attempt.
      continue;
    }
    return { ssh: session.ssh, session: session.session, scan };
  }
}

function settingsFrom(d: Partial<SshAnswer>, address: string): SshAnswer {
  return {
    address,
    port: d.port ?? 22,
    user: d.user ?? "root",
    ...(d.key_file !== undefined ? { key_file: d.key_file } : {}),
    agent: d.agent ?? false,
    ...(d.passphrase !== undefined ? { passphrase: d.passphrase } : {}),
    ...(d.known_hosts !== undefined ? { known_hosts: d.known_hosts } : {}),
    host_key_policy: d.host_key_policy ?? "strict",
    sudo: d.sudo ?? false,
  };
}

async function askSettings(
  deps: WizardDeps,
  o: SshAskOptions,
  d: Partial<SshAnswer>,
  address: string,
): Promise<SshAnswer> {
  const { ask } = deps;
  const port = await ask.number({
    id: `${o.id}.port`,
    message: "SSH port:",
    default: d.port ?? 22,
    min: 1,
    max: 65535,
  });
  const user = (
    await ask.input({
      id: `${o.id}.user`,
      message: "SSH user:",
      default: d.user ?? "root",
      validate: (v) => (v.trim() === "" ? "expected a user name" : true),
    })
  ).trim();
  const sudo =
    user === "root"
      ? false
      : await ask.confirm({
          id: `${o.id}.sudo`,
          message: `${user} is not root: run commands through passwordless sudo (sudo -n)?`,
          default: true,
        });
  if (!sudo && user !== "root")
    ask.note("! handover needs root on the machines: without sudo this will fail.");
  const agent =
    deps.hasAgent || d.agent === true
      ? (await ask.select<"key" | "agent">({
          id: `${o.id}.auth`,
          message: "Log in with:",
          choices: [
            { value: "key", name: "a private key file" },
            { value: "agent", name: "the SSH agent (SSH_AUTH_SOCK)" },
          ],
          default: d.agent === true ? "agent" : "key",
        })) === "agent"
      : false;
  let keyFile: string | undefined;
  if (!agent) {
    keyFile = (
      await ask.input({
        id: `${o.id}.key_file`,
        message: "Private key file:",
        default: d.key_file ?? defaultKeyFile(deps.home),
        validate: async (v) => {
          const abs = checkAbsolutePath(v);
          if (abs !== true) return abs;
          return (await deps.files.exists(expandHome(v.trim(), deps.home)))
            ? true
            : `${v.trim()} does not exist on this machine`;
        },
      })
    ).trim();
  }
  const knownHosts = (
    await ask.input({
      id: `${o.id}.known_hosts`,
      message: "known_hosts file (host keys are checked against it; keys you accept are added to it):",
      default: d.known_hosts ?? "~/.ssh/known_hosts",
      validate: checkAbsolutePath,
    })
  ).trim();
  const policy = await ask.select<"strict" | "accept-new">({
    id: `${o.id}.host_key_policy`,
    message: "Host key policy for later runs:",
    choices: [
      { value: "strict", name: "strict: the key must be in known_hosts (recommended)" },
      { value: "accept-new", name: "accept-new: record an unknown key on first connection" },
    ],
    default: d.host_key_policy ?? "strict",
  });
  return {
    address,
    port,
    user,
    ...(keyFile !== undefined ? { key_file: keyFile } : {}),
    agent,
    // A passphrase reference is kept only for the same key file.
    ...(d.passphrase !== undefined && d.key_file === keyFile ? { passphrase: d.passphrase } : {}),
    known_hosts: knownHosts,
    host_key_policy: policy,
    sudo,
  };
}

/** Shows the key; true when it is (now) on record. Never records a key without a yes. */
async function confirmHostKey(deps: WizardDeps, o: SshAskOptions, scan: HostKeyScan): Promise<boolean> {
  const { ask } = deps;
  const where = `${scan.target.address} port ${scan.target.port}`;
  const key = `${scan.type} ${scan.fingerprint}`;
  const file = scan.target.knownHostsFile;
  switch (scan.verdict) {
    case "match":
      ask.note(`✓ ${where} host key ${key} (known, ${file} line ${scan.lines.join(", ")})`);
      return true;
    case "changed":
      ask.note(
        `✗ ${where} offers ${key}, but ${file} has a DIFFERENT ${scan.type} key for it (line ${scan.lines.join(", ")}). ` +
          "Someone may be intercepting the connection, or the machine was reinstalled. If it was reinstalled, " +
          `remove the old key (ssh-keygen -R '${scan.target.port === 22 ? scan.target.address : `[${scan.target.address}]:${scan.target.port}`}' -f ${file}) and answer again.`,
      );
      return false;
    case "revoked":
      ask.note(`✗ ${where} offers ${key}, which ${file} marks @revoked (line ${scan.lines.join(", ")}).`);
      return false;
    case "unknown": {
      // The comparison hint as a note, the question short: it must stay readable on an 80-column terminal.
      ask.note(
        `${where} offers a host key that is not in ${file}. Compare it with the machine's own ` +
          `(on its console: ssh-keygen -lf /etc/ssh/ssh_host_${scan.type.replace(/^ssh-|-.*$/g, "")}_key.pub).`,
      );
      const yes = await ask.confirm({
        id: `${o.id}.trust_host_key`,
        message: `Trust host key ${key} of ${where}?`,
        default: false,
      });
      if (!yes) {
        ask.note("Not trusted: nothing was recorded. Give the address again (or check the machine first).");
        return false;
      }
      await deps.probe.trustHostKey(scan);
      ask.note(`✓ added ${key} for ${where} to ${file}`);
      return true;
    }
  }
}

/** Logs in; asks for the key's passphrase when the key needs one. Undefined when the endpoint must be re-asked. */
async function login(
  deps: WizardDeps,
  o: SshAskOptions,
  ssh: SshAnswer,
  knownHostsFile: string,
): Promise<{ ssh: SshAnswer; session: ProbeSession } | undefined> {
  const { ask } = deps;
  let current = ssh;
  let pending: Awaited<ReturnType<typeof askSecret>> | undefined;
  // A reference from the previous file: resolved as the run will (unset or unreadable: asked when needed).
  let passphrase =
    current.passphrase === undefined ? undefined : await resolveRef(deps, o.id, current.passphrase);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const session = await deps.probe.login({
        name: o.name,
        address: current.address,
        port: current.port,
        user: current.user,
        keyFile: current.key_file === undefined ? undefined : expandHome(current.key_file, deps.home),
        agent: current.agent,
        passphrase,
        knownHostsFile,
        sudo: current.sudo,
      });
      if (pending) await savePendingSecret(deps, pending);
      ask.note(`✓ logged in to ${o.name} as ${current.user}`);
      return { ssh: current, session };
    } catch (e) {
      if (!isUserError(e)) throw e;
      ask.note(`✗ ${e.message}`);
      const needsPassphrase = /passphrase|encrypted/i.test(e.message) && current.key_file !== undefined;
      if (!needsPassphrase) return undefined;
      pending = await askSecret(deps, {
        id: `${o.id}.passphrase`,
        what: `the passphrase of ${current.key_file}`,
        previous: current.passphrase,
        defaultEnv: `${o.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_KEY_PASSPHRASE`,
        defaultFileName: `${o.name}-key.pass`,
      });
      passphrase = pending.value;
      current = { ...current, passphrase: pending.ref };
    }
  }
  return undefined;
}
