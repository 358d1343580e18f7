/** An in-memory Probe; behaviour documented in FAKES.md beside this file. */
import { UserError } from "../../../src/lib/errors.js";
import type {
  ControllerFound,
  HostKeyScan,
  LoginSettings,
  MysqlFound,
  MysqlLogin,
  Probe,
  ProbeSession,
  SshTarget,
} from "../../../src/wizard/probe.js";

export interface FakeMachine {
  readonly key: string;
  readonly keyType?: string;
  /** "user keyfile" pairs accepted (keyfile "agent" for the agent). */
  readonly accepts: readonly string[];
  /** The key file needs this passphrase. */
  readonly passphrase?: string;
  readonly found: ControllerFound;
  readonly logins?: Readonly<Record<string, string>>;
  readonly mysql?: MysqlFound;
}

export class FakeProbe implements Probe {
  /** known_hosts file -> entries "address:port key". */
  readonly knownHosts = new Map<string, string[]>();
  readonly trusted: string[] = [];
  readonly logins: LoginSettings[] = [];
  readonly mysqlTries: MysqlLogin[] = [];
  closed = 0;

  constructor(private readonly machines: Readonly<Record<string, FakeMachine>>) {}

  private machine(address: string, port: number): FakeMachine | undefined {
    return this.machines[`${address}:${port}`];
  }

  scanHostKey(t: SshTarget): Promise<HostKeyScan> {
    const m = this.machine(t.address, t.port);
    if (!m) {
      return Promise.reject(
        new UserError(
          "HOST_UNREACHABLE",
          `cannot reach an SSH server at ${t.address} port ${t.port}: ECONNREFUSED`,
        ),
      );
    }
    const entries = this.knownHosts.get(t.knownHostsFile) ?? [];
    const name = `${t.address}:${t.port}`;
    const mine = entries.map((e, i) => ({ e, line: i + 1 })).filter(({ e }) => e.startsWith(`${name} `));
    const match = mine.find(({ e }) => e === `${name} ${m.key}`);
    const verdict = match ? "match" : mine.length > 0 ? "changed" : "unknown";
    return Promise.resolve({
      target: t,
      type: m.keyType ?? "ssh-ed25519",
      fingerprint: `SHA256:${m.key}`,
      verdict,
      lines: match ? [match.line] : mine.map((x) => x.line),
      key: Buffer.from(m.key),
    });
  }

  trustHostKey(scan: HostKeyScan): Promise<void> {
    if (scan.verdict !== "unknown")
      return Promise.reject(new Error(`FakeProbe: trusting a ${scan.verdict} key`));
    const name = `${scan.target.address}:${scan.target.port}`;
    const list = this.knownHosts.get(scan.target.knownHostsFile) ?? [];
    list.push(`${name} ${scan.key.toString()}`);
    this.knownHosts.set(scan.target.knownHostsFile, list);
    this.trusted.push(name);
    return Promise.resolve();
  }

  login(s: LoginSettings): Promise<ProbeSession> {
    const m = this.machine(s.address, s.port);
    if (!m) return Promise.reject(new UserError("HOST_UNREACHABLE", `cannot reach ${s.address}`));
    const name = `${s.address}:${s.port}`;
    if (!(this.knownHosts.get(s.knownHostsFile) ?? []).includes(`${name} ${m.key}`)) {
      return Promise.reject(
        new UserError("HOST_KEY_UNKNOWN", `the host key of ${name} is not in ${s.knownHostsFile}`),
      );
    }
    const cred = `${s.user} ${s.agent ? "agent" : (s.keyFile ?? "")}`;
    if (!m.accepts.includes(cred)) {
      return Promise.reject(
        new UserError(
          "HOST_AUTH_FAILED",
          `${name} refused our login: All configured authentication methods failed`,
        ),
      );
    }
    if (!s.agent && m.passphrase !== undefined && s.passphrase !== m.passphrase) {
      return Promise.reject(
        new UserError(
          "HOST_AUTH_FAILED",
          `cannot use the SSH key file ${s.keyFile} for ${s.name}: Encrypted private key detected, but no passphrase given`,
        ),
      );
    }
    this.logins.push(s);
    return Promise.resolve({
      discover: () => Promise.resolve(m.found),
      tryMysql: (l) => {
        this.mysqlTries.push(l);
        if (!m.logins || !m.mysql) {
          return Promise.reject(new UserError("MYSQL_UNREACHABLE", `cannot reach MySQL on ${s.name}`));
        }
        if (m.logins[l.user] !== l.password) {
          return Promise.reject(
            new UserError(
              "MYSQL_AUTH_FAILED",
              `MySQL on ${s.name} refused the login: Access denied for user '${l.user}'`,
            ),
          );
        }
        return Promise.resolve(m.mysql);
      },
      close: () => {
        this.closed++;
        return Promise.resolve();
      },
    });
  }
}
