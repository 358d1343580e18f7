/**
 * Running the `openstack` CLI on the new controller against ITS APIs before the switch: the catalog's URLs still
 * name the moved addresses (which reach old until the switch), so every service's endpoint is overridden to the
 * staging address in a clouds.yaml (openstacksdk's `<service_type>_endpoint_override`). The password is only in
 * that file: mode 0600 in a private `mktemp -d` dir, removed in `finally`; the CLI finds it through
 * OS_CLIENT_CONFIG_FILE and `--os-cloud`. The dir is reported to `onTempDir` first so a crash leaves it named.
 */
import { stringify } from "yaml";
import type { Host } from "../../hosts/host.js";
import { makeTempDir, removeTempDir } from "../../db/mysql-cli.js";
import { displayCommand, tail } from "../../hosts/errors.js";
import { UserError } from "../../lib/errors.js";
import { redact } from "../../lib/redact.js";
import type { AdminCredentials } from "./admin-credentials.js";

export const CLOUD = "handover";

export function urlHost(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

/** Service endpoints on `address` at the services' standard ports (the install guides'). */
export function endpointOverrides(address: string): Record<string, string> {
  const h = `http://${urlHost(address)}`;
  const volume = `${h}:8776/v3/%(project_id)s`;
  return {
    identity_endpoint_override: `${h}:5000/v3`,
    image_endpoint_override: `${h}:9292`,
    compute_endpoint_override: `${h}:8774/v2.1`,
    network_endpoint_override: `${h}:9696`,
    placement_endpoint_override: `${h}:8778`,
    // openstackclient asks for "volumev3", openstacksdk for "block-storage": name all of them.
    volume_endpoint_override: volume,
    volumev3_endpoint_override: volume,
    block_storage_endpoint_override: volume,
  };
}

export function cloudsYaml(c: AdminCredentials, address: string): string {
  return stringify({
    clouds: {
      [CLOUD]: {
        auth: {
          auth_url: `http://${urlHost(address)}:5000/v3`,
          username: c.username,
          password: c.password,
          project_name: c.projectName,
          user_domain_name: c.userDomainName,
          project_domain_name: c.projectDomainName,
        },
        ...(c.regionName ? { region_name: c.regionName } : {}),
        identity_api_version: 3,
        interface: "public",
        ...endpointOverrides(address),
      },
    },
  });
}

export interface OpenstackCli {
  /** Runs `openstack --os-cloud handover <args>`; throws a UserError (redacted) on failure. */
  run(args: readonly string[]): Promise<string>;
  /** The private temp dir (0700) holding clouds.yaml, removed afterwards: scratch space for downloads. */
  readonly dir: string;
}

export async function withOpenstackCli<T>(
  host: Host,
  creds: AdminCredentials,
  address: string,
  fn: (cli: OpenstackCli) => Promise<T>,
  onTempDir?: (dir: string) => void,
): Promise<T> {
  const dir = await makeTempDir(host);
  const secrets = [creds.password];
  try {
    onTempDir?.(dir);
    const file = `${dir}/clouds.yaml`;
    await host.writeFileAtomic(file, cloudsYaml(creds, address), { mode: 0o600, uid: 0, gid: 0 });
    const cli: OpenstackCli = {
      dir,
      async run(args) {
        const argv = ["openstack", "--os-cloud", CLOUD, ...args];
        const r = await host.exec(argv, {
          env: { OS_CLIENT_CONFIG_FILE: file },
          timeoutMs: 120_000,
          secretsToRedact: secrets,
        });
        if (r.exitCode !== 0) {
          throw new UserError(
            "API_CHECK_FAILED",
            redact(
              `on ${host.name}: \`${displayCommand(argv)}\` exited with ${r.exitCode}: ${tail(r.stderr || r.stdout, 1500)}`,
              secrets,
            ),
            {
              nextSteps: [
                `Look at the service's log on ${host.name} (/var/log/<service>/), fix the cause, then re-run.`,
              ],
            },
          );
        }
        return r.stdout;
      },
    };
    return await fn(cli);
  } finally {
    await removeTempDir(host, dir);
  }
}
