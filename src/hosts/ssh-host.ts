/**
 * SshHost: Host over ssh2. One connection per host, opened on first use and reused; session channels are
 * multiplexed over it through a semaphore so we stay under the server's MaxSessions (OpenSSH default 10).
 *
 * Host keys are ALWAYS checked against OpenSSH known_hosts (ssh2 accepts any key when no hostVerifier is given,
 * so this class never connects without one). Unknown, changed and revoked keys are refused with the fingerprint,
 * the file and line, and how to accept the key; `accept-new` appends an unknown key (never a changed one).
 *
 * Files go through SFTP (temp file in the same directory, write, fsync, owner/mode, rename over) when we log in as
 * root or without sudo; with sudo, SFTP would run as the unprivileged user, so the same steps run as commands
 * under `sudo -n`.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import type { Duplex } from "node:stream";
import ssh2 from "ssh2";
import type { ClientChannel, ConnectConfig, SFTPWrapper, ServerHostKeyAlgorithm } from "ssh2";
import { UserError, errorMessage } from "../lib/errors.js";
import { redact } from "../lib/redact.js";
import {
  HostErrorCode,
  commandFailedError,
  commandTimeoutError,
  displayCommand,
  fileNotFoundError,
  tail,
} from "./errors.js";
import type { ExecOptions, ExecResult, ExecStream, FileStat, Host, WriteFileOptions } from "./host.js";
import {
  appendKnownHost,
  fingerprintSha256,
  hostLookupName,
  keyTypeOfBlob,
  knownKeyTypes,
  loadKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
} from "./known-hosts.js";
import { remoteCommand } from "./remote-command.js";
import { Semaphore } from "./semaphore.js";

export type HostKeyPolicy = "strict" | "accept-new";

export interface HostKeyInfo {
  readonly type: string;
  /** SHA256:... as ssh-keygen -l prints it. */
  readonly fingerprint: string;
  readonly knownHostsFile: string;
  /** The known_hosts line that matched; undefined when accept-new just added the key. */
  readonly line: number | undefined;
  readonly acceptedNew: boolean;
}

export interface SshHostConfig {
  readonly name: string;
  readonly address: string;
  readonly port?: number;
  readonly user?: string;
  /** Private key file; read when connecting. */
  readonly keyFile?: string;
  /** Passphrase for keyFile, already resolved from its SecretRef by the caller. */
  readonly passphrase?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK), used when given. */
  readonly agentSocket?: string;
  readonly knownHostsFile: string;
  readonly hostKeyPolicy?: HostKeyPolicy;
  /** Prefix commands with `sudo -n --` when user is not root. */
  readonly sudo?: boolean;
  /** TCP connect + SSH handshake + auth must finish within this (default 15 s). */
  readonly connectTimeoutMs?: number;
  /** SSH keepalive interval (default 15 s; 3 unanswered = connection dead). */
  readonly keepaliveIntervalMs?: number;
  /**
   * How files are read and written: "sftp", or "command" (cat, stat, mktemp + mv through the same sudo as
   * commands). Default: "command" when sudo is in use (SFTP would run as the unprivileged user), else "sftp".
   */
  readonly fileTransport?: "sftp" | "command";
  /** Concurrent session channels (default 8, under OpenSSH's MaxSessions 10). */
  readonly maxSessions?: number;
}

/** ssh2's default host key algorithm order; known key types are moved to the front (as ssh does). */
export const DEFAULT_HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
] as const;

type Ssh2Client = InstanceType<typeof ssh2.Client>;

interface RawResult {
  exitCode: number;
  signal?: string;
  stdout: Buffer;
  stderr: Buffer;
}

const SFTP_NO_SUCH_FILE = 2;
/** Environment variable that marks a command's processes so a timeout or kill() can find them all. */
const KILL_TOKEN_VAR = "HANDOVER_KILL_TOKEN";

/** Exit statuses recorded as soon as a channel opens (see openChannel), for channels whose caller came late. */
const earlyExits = new WeakMap<ClientChannel, { code?: number; signal?: string }>();

export class SshHost implements Host {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  private readonly cfg: SshHostConfig;
  private readonly useSudo: boolean;
  /** Files through SFTP, or through commands (cat/stat/mktemp+mv) when SFTP would run as the wrong user. */
  private readonly filesByCommand: boolean;
  private readonly sessions: Semaphore;
  private readonly killSlots: Semaphore;
  private connecting: Promise<Ssh2Client> | undefined;
  /** The connected client behind `connecting`, once ready. */
  private live: Ssh2Client | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  /** The host key of the current connection, once verified (for `handover check` to show). */
  hostKey: HostKeyInfo | undefined;
  /** Host-wide secrets (the key passphrase) redacted from everything, plus per-call ones. */
  private readonly hostSecrets: string[];

  constructor(cfg: SshHostConfig) {
    this.cfg = cfg;
    this.name = cfg.name;
    this.address = cfg.address;
    this.port = cfg.port ?? 22;
    this.user = cfg.user ?? "root";
    this.useSudo = Boolean(cfg.sudo) && this.user !== "root";
    this.filesByCommand = (cfg.fileTransport ?? (this.useSudo ? "command" : "sftp")) === "command";
    this.sessions = new Semaphore(cfg.maxSessions ?? 8);
    // Kill channels have a slot of their own: they must run even when every session slot holds a hung command.
    this.killSlots = new Semaphore(1);
    this.hostSecrets = cfg.passphrase ? [cfg.passphrase] : [];
  }

  private where(): string {
    return `${this.name} (${this.user}@${this.address} port ${this.port})`;
  }

  private secrets(extra?: readonly string[]): string[] {
    return [...this.hostSecrets, ...(extra ?? [])];
  }

  // ---- connection --------------------------------------------------------------------------------------------

  /** Connect now (otherwise the first call does). Rejects with a UserError saying what to fix. */
  async connect(): Promise<void> {
    await this.client();
  }

  private client(): Promise<Ssh2Client> {
    this.connecting ??= this.open().catch((e: unknown) => {
      this.connecting = undefined;
      throw e;
    });
    return this.connecting;
  }

  private async open(): Promise<Ssh2Client> {
    const lookupName = hostLookupName(this.address, this.port);
    const knownHostsFile = this.cfg.knownHostsFile;
    const entries = await loadKnownHosts(knownHostsFile).catch((e: unknown) => {
      throw new UserError(
        HostErrorCode.keyUnknown,
        `cannot read known_hosts ${knownHostsFile}: ${errorMessage(e)}`,
        {
          nextSteps: [`Check the known_hosts path for ${this.name} in the answer file.`],
          cause: e,
        },
      );
    });

    let privateKey: Buffer | undefined;
    if (this.cfg.keyFile) {
      try {
        privateKey = await readFile(this.cfg.keyFile);
      } catch (e) {
        throw new UserError(
          HostErrorCode.authFailed,
          `cannot read the SSH key file ${this.cfg.keyFile} for ${this.name}: ${errorMessage(e)}`,
          {
            nextSteps: [`Fix key_file for ${this.name} in the answer file, or use agent: true.`],
            cause: e,
          },
        );
      }
    }
    if (!privateKey && !this.cfg.agentSocket) {
      throw new UserError(
        HostErrorCode.authFailed,
        `no way to log in to ${this.where()}: neither a key file nor an agent`,
        {
          nextSteps: ["Set key_file, or agent: true with SSH_AUTH_SOCK set."],
        },
      );
    }

    // Ask for key types we have on record first, so a host known by its RSA key is not "unknown" because the
    // server also has an ed25519 key.
    const known = knownKeyTypes(entries, lookupName).flatMap((t) =>
      t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t],
    );
    const serverHostKey = [...new Set([...known, ...DEFAULT_HOST_KEY_ALGORITHMS])].filter((a) =>
      (DEFAULT_HOST_KEY_ALGORITHMS as readonly string[]).includes(a),
    );

    let verdict: HostKeyVerdict | undefined;
    let offered: Buffer | undefined;
    let appendError: unknown;
    const policy = this.cfg.hostKeyPolicy ?? "strict";

    const config: ConnectConfig = {
      host: this.address,
      port: this.port,
      username: this.user,
      readyTimeout: this.cfg.connectTimeoutMs ?? 15_000,
      keepaliveInterval: this.cfg.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      algorithms: {
        serverHostKey: serverHostKey as ServerHostKeyAlgorithm[],
      },
      // Never connect without a verifier: ssh2 would accept any key.
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        offered = key;
        verdict = verifyHostKey(entries, lookupName, key);
        const info = { type: keyTypeOfBlob(key), fingerprint: fingerprintSha256(key), knownHostsFile };
        if (verdict.kind === "match") {
          this.hostKey = { ...info, line: verdict.entry.line, acceptedNew: false };
          return verify(true);
        }
        if (verdict.kind === "unknown" && policy === "accept-new") {
          appendKnownHost(knownHostsFile, lookupName, key).then(
            () => {
              this.hostKey = { ...info, line: undefined, acceptedNew: true };
              verify(true);
            },
            (e: unknown) => {
              appendError = e;
              verify(false);
            },
          );
          return;
        }
        verify(false);
      },
      ...(privateKey ? { privateKey } : {}),
      ...(this.cfg.passphrase ? { passphrase: this.cfg.passphrase } : {}),
      ...(this.cfg.agentSocket ? { agent: this.cfg.agentSocket } : {}),
    };

    const client = new ssh2.Client();
    return new Promise<Ssh2Client>((resolve, reject) => {
      let ready = false;
      client.on("ready", () => {
        ready = true;
        // Small writes (a command's stdin, an `end` line) go out at once instead of waiting ~40 ms for a delayed
        // ACK (Nagle): measured on net.move-address's pre-opened batches, where those milliseconds are blackout.
        client.setNoDelay(true);
        this.live = client;
        resolve(client);
      });
      client.on("error", (err: Error & { level?: string; code?: string }) => {
        if (ready) return; // later errors surface through the calls that are running (channel close)
        client.end();
        reject(this.connectError(err, verdict, offered, appendError, knownHostsFile, lookupName));
      });
      client.on("close", () => {
        // A dropped connection is reopened by the next call. Only forget it if it is still the current one: an
        // old connection closing late must not orphan a newer one.
        if (this.live === client) {
          this.live = undefined;
          this.connecting = undefined;
          this.sftpSession = undefined;
        }
        if (!ready)
          reject(
            new UserError(HostErrorCode.unreachable, `connection to ${this.where()} closed during login`),
          );
      });
      try {
        client.connect(config);
      } catch (e) {
        // ssh2 throws synchronously for an unparsable key or a wrong passphrase.
        reject(
          new UserError(
            HostErrorCode.authFailed,
            redact(
              `cannot use the SSH key file ${this.cfg.keyFile ?? "(agent)"} for ${this.name}: ${errorMessage(e)}`,
              this.hostSecrets,
            ),
            {
              nextSteps: [
                "Check key_file and its passphrase in the answer file (ssh-keygen -y -f KEYFILE tests both).",
              ],
            },
          ),
        );
      }
    });
  }

  private connectError(
    err: Error & { level?: string; code?: string },
    verdict: HostKeyVerdict | undefined,
    offered: Buffer | undefined,
    appendError: unknown,
    file: string,
    lookupName: string,
  ): UserError {
    const keyscan = `ssh-keyscan ${this.port === 22 ? "" : `-p ${this.port} `}-t ${offered ? keyTypeOfBlob(offered) : "ed25519"} ${this.address} >> ${file}`;
    if (appendError !== undefined) {
      return new UserError(
        HostErrorCode.keyUnknown,
        `cannot add the host key of ${this.where()} to ${file}: ${errorMessage(appendError)}`,
        {
          nextSteps: [`Make ${file} writable, or add the key yourself: ${keyscan}`],
          cause: appendError,
        },
      );
    }
    if (verdict && offered && verdict.kind !== "match") {
      const fp = `${keyTypeOfBlob(offered)} ${fingerprintSha256(offered)}`;
      const checkIt = `Compare with the key on the machine itself (ssh-keygen -lf /etc/ssh/ssh_host_${keyTypeOfBlob(
        offered,
      )
        .replace(/^ssh-|-.*$/g, "")
        .replace(/^ecdsa$/, "ecdsa")}_key.pub on its console).`;
      switch (verdict.kind) {
        case "unknown":
          return new UserError(
            HostErrorCode.keyUnknown,
            `the host key of ${this.where()} is not in ${file}${verdict.otherTypes.length ? ` (only ${verdict.otherTypes.join(", ")} keys are on record)` : ""}; it offers ${fp}`,
            {
              nextSteps: [
                checkIt,
                `If it is right, add it: ${keyscan}`,
                `Or set host_key_policy: accept-new for ${this.name} to trust it on the first connection.`,
              ],
            },
          );
        case "changed": {
          const lines = verdict.entries.map((e) => `line ${e.line} (${fingerprintSha256(e.key)})`).join(", ");
          return new UserError(
            HostErrorCode.keyChanged,
            `the host key of ${this.where()} has CHANGED: it offers ${fp}, but ${file} has ${lines}. Someone may be intercepting the connection, or the machine was reinstalled.`,
            {
              nextSteps: [
                checkIt,
                `If the machine was reinstalled, remove the old key: ssh-keygen -R '${lookupName}' -f ${file}`,
                `Then add the new one: ${keyscan}`,
              ],
            },
          );
        }
        case "revoked":
          return new UserError(
            HostErrorCode.keyRevoked,
            `the host key of ${this.where()} (${fp}) is marked @revoked in ${file} line ${verdict.entry.line}`,
            {
              nextSteps: [
                `Find out why that key was revoked; give ${this.name} a new host key before connecting.`,
              ],
            },
          );
      }
    }
    const message = redact(errorMessage(err), this.hostSecrets);
    if (err.level === "client-authentication" || err.level === "agent") {
      return new UserError(HostErrorCode.authFailed, `${this.where()} refused our login: ${message}`, {
        nextSteps: [
          `Check that the public key of ${this.cfg.keyFile ?? "the agent's key"} is in ~${this.user}/.ssh/authorized_keys on ${this.address}.`,
        ],
        cause: err,
      });
    }
    const what =
      err.level === "client-timeout"
        ? `no SSH handshake within ${this.cfg.connectTimeoutMs ?? 15_000} ms`
        : message;
    return new UserError(HostErrorCode.unreachable, `cannot reach ${this.where()}: ${what}`, {
      nextSteps: [
        `Check the address and port of ${this.name}, that sshd runs there, and that no firewall is in the way.`,
      ],
      cause: err,
    });
  }

  // ---- commands ----------------------------------------------------------------------------------------------

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.execRaw(argv, options);
    return {
      exitCode: r.exitCode,
      ...(r.signal ? { signal: r.signal } : {}),
      stdout: r.stdout.toString("utf8"),
      stderr: r.stderr.toString("utf8"),
    };
  }

  async run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.exec(argv, options);
    if (r.exitCode !== 0 || r.signal)
      throw commandFailedError(this.name, argv, r, this.secrets(options.secretsToRedact));
    return r;
  }

  private command(argv: readonly string[], options: ExecOptions, killToken?: string): string {
    const env = killToken ? { ...options.env, [KILL_TOKEN_VAR]: killToken } : options.env;
    return remoteCommand(argv, {
      ...(env ? { env } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      sudo: this.useSudo,
    });
  }

  /**
   * Open a session channel for a command, waiting for a free slot. The release runs when the channel closes.
   * With a killToken the command carries it in its environment, so killRemote can find its whole process tree.
   */
  private async openChannel(
    argv: readonly string[],
    options: ExecOptions,
    killToken?: string,
    slots: Semaphore = this.sessions,
  ): Promise<ClientChannel> {
    const client = await this.client();
    const release = await slots.acquire();
    try {
      const channel = await new Promise<ClientChannel>((resolve, reject) => {
        // No pty: stdout and stderr stay separate and binary-safe, and nothing waits for a terminal.
        client.exec(this.command(argv, options, killToken), { pty: false }, (err, ch) => {
          if (err) return reject(err);
          // Listen for the exit status NOW: ssh2 parses a whole incoming chunk synchronously, so a quick
          // command's exit-status can be emitted before the awaiting caller attaches its listeners (seen on the
          // lab under load as "lost the connection while running `df ...`").
          ch.on("exit", (code: number | null, sig?: string) =>
            earlyExits.set(ch, code !== null ? { code } : { signal: sig ?? "UNKNOWN" }),
          );
          resolve(ch);
        });
      });
      channel.once("close", release);
      // A write after the command exited (it did not read all of stdin) errors the stream; the exit status still
      // arrives and is what counts. Without a listener the error would crash the process.
      channel.on("error", () => undefined);
      channel.stderr.on("error", () => undefined);
      return channel;
    } catch (e) {
      release();
      throw new UserError(
        HostErrorCode.unreachable,
        redact(
          `on ${this.name}: cannot start \`${displayCommand(argv)}\`: ${errorMessage(e)}`,
          this.secrets(options.secretsToRedact),
        ),
        { nextSteps: [`Check that ${this.name} is up and accepts SSH sessions.`], cause: e },
      );
    }
  }

  /**
   * Stop a remote command for good. Closing the channel is not enough (sshd waits for the process), and the SSH
   * "signal" request is refused for root logins ("session signalling requires privilege separation"), so we
   * kill, on a channel of its own, every process whose environment carries the command's token. The token is
   * random per call: this kills exactly our command and its children, nothing found by name.
   */
  private killRemote(channel: ClientChannel, token: string): void {
    sendKillSignal(channel);
    channel.close();
    // Scanned again for up to 2 s while nothing is found: a kill right after the channel opened can come before
    // sshd has started the command (seen: the loopback test's `sleep 600` outlived its kill under load).
    const script =
      'i=0; while [ "$i" -lt 20 ]; do n=0; for f in /proc/[0-9]*/environ; do if grep -qzx "$1" "$f" 2>/dev/null; then p=${f#/proc/}; kill -KILL "${p%/environ}" 2>/dev/null && n=1; fi; done; [ "$n" = 1 ] && exit 0; i=$((i+1)); sleep 0.1; done; exit 0';
    this.openChannel(["sh", "-c", script, "sh", `${KILL_TOKEN_VAR}=${token}`], {}, undefined, this.killSlots)
      .then((ch) => {
        ch.resume();
        ch.stderr.resume();
        ch.end();
      })
      .catch(() => undefined); // the connection is gone: so is the command
  }

  private async execRaw(argv: readonly string[], options: ExecOptions): Promise<RawResult> {
    const token = options.timeoutMs === undefined ? undefined : randomBytes(12).toString("hex");
    const channel = await this.openChannel(argv, options, token);
    return new Promise<RawResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let exitCode: number | undefined;
      let signal: string | undefined;
      let timedOut = false;
      channel.on("data", (c: Buffer) => out.push(c));
      channel.stderr.on("data", (c: Buffer) => err.push(c));
      channel.on("exit", (code: number | null, sig?: string) => {
        if (code !== null) exitCode = code;
        else signal = sig ?? "UNKNOWN";
      });
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              this.killRemote(channel, token ?? "");
              // Do not wait for the server to confirm: it closes the channel only once the process is gone.
              reject(
                commandTimeoutError(
                  this.name,
                  argv,
                  options.timeoutMs ?? 0,
                  this.secrets(options.secretsToRedact),
                ),
              );
            }, options.timeoutMs);
      channel.on("close", () => {
        if (timer) clearTimeout(timer);
        const secrets = this.secrets(options.secretsToRedact);
        if (timedOut) return;
        const early = earlyExits.get(channel);
        if (exitCode === undefined && signal === undefined && early) {
          exitCode = early.code;
          signal = early.signal;
        }
        if (exitCode === undefined && signal === undefined) {
          return reject(
            new UserError(
              HostErrorCode.unreachable,
              `on ${this.name}: lost the connection while running \`${displayCommand(argv, secrets)}\`${err.length ? `\nstderr:\n${tail(redact(Buffer.concat(err).toString("utf8"), secrets))}` : ""}`,
              { nextSteps: [`Check that ${this.name} is up, then re-run.`] },
            ),
          );
        }
        resolve({
          exitCode: exitCode ?? -1,
          ...(signal ? { signal } : {}),
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(err),
        });
      });
      // Always send EOF on stdin, so a command that reads it does not wait forever.
      channel.end(options.stdin);
    });
  }

  async execStream(argv: readonly string[], options: Omit<ExecOptions, "stdin"> = {}): Promise<ExecStream> {
    const token = randomBytes(12).toString("hex");
    const channel = await this.openChannel(argv, options, token);
    let killed = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = true;
            this.killRemote(channel, token);
          }, options.timeoutMs);
    const done = new Promise<{ exitCode: number; signal?: string }>((resolve) => {
      let result: { exitCode: number; signal?: string } | undefined;
      channel.on("exit", (code: number | null, sig?: string) => {
        result = code !== null ? { exitCode: code } : { exitCode: -1, signal: sig ?? "UNKNOWN" };
      });
      channel.on("close", () => {
        if (timer) clearTimeout(timer);
        resolve(result ?? { exitCode: -1, signal: killed ? "SIGKILL" : "CONNECTION_LOST" });
      });
    });
    return {
      stdin: channel,
      stdout: channel,
      stderr: channel.stderr,
      done,
      kill: () => {
        if (killed) return;
        killed = true;
        this.killRemote(channel, token);
      },
    };
  }

  // ---- tunnels -----------------------------------------------------------------------------------------------

  /**
   * A TCP stream to host:port as seen from this machine (SSH direct-tcpip), e.g. its own 127.0.0.1:3306.
   * Not a session channel, so it does not count against MaxSessions.
   */
  async openTunnel(host: string, port: number): Promise<Duplex> {
    const client = await this.client();
    return new Promise<Duplex>((resolve, reject) => {
      client.forwardOut("127.0.0.1", 0, host, port, (err, stream) => {
        if (err) {
          reject(
            new UserError(
              HostErrorCode.unreachable,
              `on ${this.name}: cannot open a tunnel to ${host}:${port}: ${err.message}`,
              {
                nextSteps: [
                  `Check that something listens on ${host}:${port} on ${this.name} and that sshd allows TCP forwarding.`,
                ],
                cause: err,
              },
            ),
          );
        } else resolve(stream);
      });
    });
  }

  // ---- files -------------------------------------------------------------------------------------------------

  private sftp(): Promise<SFTPWrapper> {
    if (this.sftpSession) return this.sftpSession;
    const session: Promise<SFTPWrapper> = (async () => {
      const client = await this.client();
      // The SFTP subsystem holds one session slot for the life of the connection.
      const release = await this.sessions.acquire();
      return new Promise<SFTPWrapper>((resolve, reject) => {
        client.sftp((err, sftp) => {
          if (err) {
            release();
            if (this.sftpSession === session) this.sftpSession = undefined;
            reject(
              new UserError(HostErrorCode.fileError, `on ${this.name}: cannot start SFTP: ${err.message}`, {
                cause: err,
              }),
            );
            return;
          }
          sftp.on("error", () => undefined); // failures reach the pending call's callback
          sftp.on("close", () => {
            release();
            if (this.sftpSession === session) this.sftpSession = undefined;
          });
          resolve(sftp);
        });
      });
    })();
    this.sftpSession = session;
    return session;
  }

  private fileError(op: string, path: string, e: unknown): UserError {
    if (e instanceof UserError) return e;
    return new UserError(
      HostErrorCode.fileError,
      `on ${this.name}: cannot ${op} ${path}: ${errorMessage(e)}`,
      {
        nextSteps: [`Check the path and permissions on ${this.name}.`],
        cause: e,
      },
    );
  }

  async readFile(path: string): Promise<Buffer> {
    if (this.filesByCommand) {
      const r = await this.execRaw(["sh", "-c", 'test -e "$1" || exit 3; exec cat -- "$1"', "sh", path], {});
      if (r.exitCode === 3) throw fileNotFoundError(this.name, path);
      if (r.exitCode !== 0) throw this.fileError("read", path, r.stderr.toString("utf8").trim());
      return r.stdout;
    }
    const sftp = await this.sftp();
    return new Promise<Buffer>((resolve, reject) => {
      sftp.readFile(path, (err, data) => {
        if (!err) return resolve(data);
        reject(
          sftpCode(err) === SFTP_NO_SUCH_FILE
            ? fileNotFoundError(this.name, path)
            : this.fileError("read", path, err),
        );
      });
    });
  }

  async stat(path: string): Promise<FileStat | undefined> {
    if (this.filesByCommand) {
      const r = await this.execRaw(
        ["sh", "-c", 'test -e "$1" || exit 3; exec stat -L -c "%f %u %g %s" -- "$1"', "sh", path],
        {},
      );
      if (r.exitCode === 3) return undefined;
      const m = /^([0-9a-f]+) (\d+) (\d+) (\d+)/.exec(r.stdout.toString("utf8"));
      if (r.exitCode !== 0 || !m) throw this.fileError("stat", path, r.stderr.toString("utf8").trim());
      const raw = parseInt(m[1]!, 16);
      return {
        mode: raw & 0o7777,
        uid: Number(m[2]),
        gid: Number(m[3]),
        size: Number(m[4]),
        isDirectory: (raw & 0o170000) === 0o040000,
      };
    }
    const sftp = await this.sftp();
    return new Promise<FileStat | undefined>((resolve, reject) => {
      sftp.stat(path, (err, s) => {
        if (err) {
          return sftpCode(err) === SFTP_NO_SUCH_FILE
            ? resolve(undefined)
            : reject(this.fileError("stat", path, err));
        }
        resolve({
          mode: s.mode & 0o7777,
          uid: s.uid,
          gid: s.gid,
          size: s.size,
          isDirectory: s.isDirectory(),
        });
      });
    });
  }

  async writeFileAtomic(path: string, data: string | Buffer, options: WriteFileOptions = {}): Promise<void> {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, "utf8");
    if (this.filesByCommand) return this.writeFileAtomicByCommand(path, buf, options);
    const existing = await this.stat(path);
    if (existing?.isDirectory) throw this.fileError("write", path, "it is a directory");
    const mode = options.mode ?? existing?.mode ?? 0o644;
    const uid = options.uid ?? existing?.uid;
    const gid = options.gid ?? existing?.gid;
    const tmp = posix.join(
      posix.dirname(path),
      `.${posix.basename(path)}.handover-${randomBytes(6).toString("hex")}`,
    );
    const sftp = await this.sftp();
    const call = <T>(f: (cb: (err: Error | undefined | null, v?: T) => void) => void): Promise<T> =>
      new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
    let handle: Buffer | undefined;
    try {
      // 0600 while we write, so a secret in the new content is never readable by others, even briefly.
      handle = await call<Buffer>((cb) => sftp.open(tmp, "w", 0o600, cb));
      const h = handle;
      for (let off = 0; off < buf.length; off += 256 * 1024) {
        const len = Math.min(256 * 1024, buf.length - off);
        await call<void>((cb) => sftp.write(h, buf, off, len, off, cb));
      }
      if (uid !== undefined || gid !== undefined) {
        await call<void>((cb) => sftp.fchown(h, uid ?? existing?.uid ?? 0, gid ?? existing?.gid ?? 0, cb));
      }
      await call<void>((cb) => sftp.fchmod(h, mode, cb));
      await call<unknown>((cb) => sftp.ext_openssh_fsync(h, cb));
      await call<void>((cb) => sftp.close(h, cb));
      handle = undefined;
      // posix-rename@openssh.com replaces the target atomically (plain SFTP rename refuses an existing target).
      await call<void>((cb) => sftp.ext_openssh_rename(tmp, path, cb));
    } catch (e) {
      if (handle) sftp.close(handle, () => undefined);
      await new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()));
      throw this.fileError("write", path, e);
    }
  }

  private async writeFileAtomicByCommand(
    path: string,
    data: Buffer,
    options: WriteFileOptions,
  ): Promise<void> {
    // Same steps as the SFTP path, as root through sudo; the content travels on stdin, never in an argv.
    const script = [
      "set -e",
      "p=$1; mode=$2; uid=$3; gid=$4",
      'tmp=$(mktemp "$(dirname -- "$p")/.$(basename -- "$p").handover-XXXXXX")',
      "trap 'rm -f -- \"$tmp\"' EXIT",
      'cat > "$tmp"',
      'if [ -e "$p" ]; then chown --reference="$p" -- "$tmp"; chmod --reference="$p" -- "$tmp"; else chmod 0644 -- "$tmp"; fi',
      'if [ -n "$mode" ]; then chmod "$mode" -- "$tmp"; fi',
      'if [ -n "$uid" ]; then chown "$uid" -- "$tmp"; fi',
      'if [ -n "$gid" ]; then chgrp "$gid" -- "$tmp"; fi',
      'sync -- "$tmp"',
      'mv -f -- "$tmp" "$p"',
      "trap - EXIT",
    ].join("\n");
    const r = await this.execRaw(
      [
        "sh",
        "-c",
        script,
        "sh",
        path,
        options.mode === undefined ? "" : options.mode.toString(8),
        options.uid === undefined ? "" : String(options.uid),
        options.gid === undefined ? "" : String(options.gid),
      ],
      { stdin: data },
    );
    if (r.exitCode !== 0) throw this.fileError("write", path, r.stderr.toString("utf8").trim());
  }

  async removeFile(path: string): Promise<void> {
    if (this.filesByCommand) {
      const r = await this.execRaw(["rm", "-f", "--", path], {});
      if (r.exitCode !== 0) throw this.fileError("remove", path, r.stderr.toString("utf8").trim());
      return;
    }
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => {
      sftp.unlink(path, (err) => {
        if (!err || sftpCode(err) === SFTP_NO_SUCH_FILE) return resolve();
        reject(this.fileError("remove", path, err));
      });
    });
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------------

  async isReachable(): Promise<boolean> {
    try {
      return (await this.exec(["true"], { timeoutMs: 30_000 })).exitCode === 0;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    this.live = undefined;
    this.sftpSession = undefined;
    if (!pending) return;
    let client: Ssh2Client;
    try {
      client = await pending;
    } catch {
      return;
    }
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
    });
  }
}

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/**
 * Ask sshd to SIGKILL the session (honoured for non-root logins on OpenSSH >= 7.9). ssh2's Channel.signal()
 * silently does nothing once we have sent EOF on stdin (it checks `writable`), which exec always does, so the
 * request goes through the protocol object.
 */
function sendKillSignal(channel: ClientChannel): void {
  const ch = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, sig: string): void } };
  };
  try {
    if (ch.outgoing && (ch.outgoing.state === "open" || ch.outgoing.state === "eof")) {
      ch._client?._protocol?.signal(ch.outgoing.id, "KILL");
    }
  } catch {
    // The channel may already be closing.
  }
}
