/**
 * The real Probe: host keys through ssh2 (key exchange only, then refused, like ssh-keyscan) checked with the
 * project's own known_hosts reader; logins through SshHost with strict host keys (hosts/from-answers.ts's path);
 * discovery through src/discovery's read-only host and SQL wrappers; MySQL through src/db's SSH-tunnelled client.
 * Nothing here writes to a machine; the only local write is appending a key the operator trusted.
 */
import ssh2 from "ssh2";
import type { ServerHostKeyAlgorithm } from "ssh2";
import { MysqlClient } from "../db/mysql-client.js";
import { discoverController, discoverDatabases } from "../discovery/controller.js";
import { discoverNova } from "../discovery/openstack.js";
import { readOnly } from "../discovery/readonly-host.js";
import { MysqlReader, readOnlySql } from "../discovery/sql.js";
import { HostErrorCode } from "../hosts/errors.js";
import {
  appendKnownHost,
  fingerprintSha256,
  hostLookupName,
  keyTypeOfBlob,
  knownKeyTypes,
  loadKnownHosts,
  verifyHostKey,
} from "../hosts/known-hosts.js";
import { DEFAULT_HOST_KEY_ALGORITHMS, SshHost } from "../hosts/ssh-host.js";
import { UserError, errorMessage } from "../lib/errors.js";
import type { Catalog } from "../plan/catalog.js";
import type {
  ControllerFound,
  HostKeyScan,
  MysqlFound,
  MysqlLogin,
  Probe,
  ProbeSession,
  SshTarget,
} from "./probe.js";

/** ssh2's host key algorithms, in SshHost's default order; types on record for the host go first (as ssh does). */
const HOST_KEY_ALGORITHMS = DEFAULT_HOST_KEY_ALGORITHMS;

export interface SshProbeOptions {
  readonly catalog: Catalog;
  /** SSH_AUTH_SOCK, for endpoints that log in with the agent. */
  readonly agentSocket?: string | undefined;
  /** TCP connect + key exchange (and login) limit. @default 10000 */
  readonly timeoutMs?: number;
}

export function sshProbe(options: SshProbeOptions): Probe {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    scanHostKey: (target) => scanHostKey(target, timeoutMs),
    async trustHostKey(scan) {
      if (scan.verdict !== "unknown") {
        throw new UserError(
          HostErrorCode.keyChanged,
          `refusing to record a ${scan.verdict} host key for ${scan.target.address}`,
        );
      }
      await appendKnownHost(
        scan.target.knownHostsFile,
        hostLookupName(scan.target.address, scan.target.port),
        scan.key,
      );
    },
    async login(s) {
      const host = new SshHost({
        name: s.name,
        address: s.address,
        port: s.port,
        user: s.user,
        ...(s.keyFile !== undefined ? { keyFile: s.keyFile } : {}),
        ...(s.passphrase !== undefined ? { passphrase: s.passphrase } : {}),
        ...(s.agent && options.agentSocket ? { agentSocket: options.agentSocket } : {}),
        knownHostsFile: s.knownHostsFile,
        hostKeyPolicy: "strict",
        sudo: s.sudo,
        connectTimeoutMs: timeoutMs,
      });
      try {
        await host.connect();
        // Proves the login can run commands (and sudo -n works), as `handover check` does.
        await host.run(["true"], { timeoutMs });
      } catch (e) {
        await host.close();
        throw e;
      }
      return session(host, options.catalog);
    },
  };
}

function session(host: SshHost, catalog: Catalog): ProbeSession {
  return {
    async discover(): Promise<ControllerFound> {
      const found = await discoverController(readOnly(host), undefined, catalog, { diskPaths: [] });
      const f = found.facts;
      return {
        hostname: f.hostname,
        ...(f.release !== undefined ? { release: f.release } : {}),
        services: f.services,
        interfaces: f.interfaces,
        notes: found.notes,
      };
    },
    async tryMysql(login: MysqlLogin): Promise<MysqlFound> {
      const reader = readOnlySql(
        await MysqlReader.open((database) =>
          MysqlClient.connect(host, { ...login, ...(database !== undefined ? { database } : {}) }),
        ),
      );
      try {
        const { version, databases } = await discoverDatabases(reader);
        const names = new Set(databases.map((d) => d.name));
        const notes: string[] = [];
        let computes: string[] = [];
        if (names.has("nova") || names.has("nova_api")) {
          try {
            const nova = await discoverNova(reader, names, notes);
            computes = [...new Set(nova.computes.map((c) => c.host))].sort();
          } catch (e) {
            notes.push(`could not list compute hosts from nova: ${errorMessage(e)}`);
          }
        }
        return { version, databases: [...names].sort(), computes, notes };
      } finally {
        await reader.close();
      }
    },
    close: () => host.close(),
  };
}

/** Key exchange only: the verifier records the key and refuses it, so no login is attempted (ssh-keyscan). */
async function scanHostKey(target: SshTarget, timeoutMs: number): Promise<HostKeyScan> {
  const entries = await loadKnownHosts(target.knownHostsFile).catch((e: unknown) => {
    throw new UserError(
      HostErrorCode.keyUnknown,
      `cannot read known_hosts ${target.knownHostsFile}: ${errorMessage(e)}`,
    );
  });
  const lookupName = hostLookupName(target.address, target.port);
  const known = knownKeyTypes(entries, lookupName).flatMap((t) =>
    t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t],
  );
  const algorithms = [...new Set([...known, ...HOST_KEY_ALGORITHMS])].filter((a) =>
    (HOST_KEY_ALGORITHMS as readonly string[]).includes(a),
  ) as ServerHostKeyAlgorithm[];
  const key = await new Promise<Buffer>((resolve, reject) => {
    const client = new ssh2.Client();
    let offered: Buffer | undefined;
    const finish = (): void => {
      client.removeAllListeners();
      client.on("error", () => undefined);
      client.end();
      if (offered) resolve(offered);
      else reject(unreachable(target, lastError));
    };
    let lastError = "no SSH handshake";
    client.on("error", (e: Error & { level?: string }) => {
      lastError = e.level === "client-timeout" ? `no SSH handshake within ${timeoutMs} ms` : e.message;
      finish();
    });
    client.on("close", finish);
    client.on("ready", finish); // not reached: the verifier refuses
    try {
      client.connect({
        host: target.address,
        port: target.port,
        username: "handover-keyscan",
        readyTimeout: timeoutMs,
        algorithms: { serverHostKey: algorithms },
        hostVerifier: (k: Buffer, verify: (ok: boolean) => void) => {
          offered = Buffer.from(k);
          verify(false);
        },
      });
    } catch (e) {
      lastError = errorMessage(e);
      finish();
    }
  });
  const verdict = verifyHostKey(entries, lookupName, key);
  return {
    target,
    type: keyTypeOfBlob(key),
    fingerprint: fingerprintSha256(key),
    verdict: verdict.kind,
    lines:
      verdict.kind === "match" || verdict.kind === "revoked"
        ? [verdict.entry.line]
        : verdict.kind === "changed"
          ? verdict.entries.map((e) => e.line)
          : [],
    key,
  };
}

function unreachable(target: SshTarget, why: string): UserError {
  return new UserError(
    HostErrorCode.unreachable,
    `cannot reach an SSH server at ${target.address} port ${target.port}: ${why}`,
    { nextSteps: ["Check the address and port, that sshd runs there, and that no firewall is in the way."] },
  );
}
