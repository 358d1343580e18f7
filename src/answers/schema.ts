/**
 * The answer file, as ONE zod schema: it is the source of the TypeScript types (`Answers`), the runtime
 * validation (load.ts) and the JSON Schema that editors use (`handover schema`, templates/answers.schema.json).
 * The shape is a contract between helpers (brief ANSWERS-SHAPE.md): add fields, never rename them.
 *
 * Every error message here is the "expected ..." half of what the operator reads; load.ts adds the location,
 * the field path and what was actually written ("got ..."). Address syntax, CIDR membership and uniqueness are
 * checked after parsing in semantic.ts, because they need ipaddr.js and the whole document.
 */
import { z } from "zod";
import { RELEASES, normaliseRelease } from "./releases.js";

/** The services handover knows how to migrate, in the order a controller is usually brought up. */
export const SERVICES = ["keystone", "glance", "placement", "nova", "neutron", "cinder", "horizon"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** `{ error: text }` for zod checks: the same "expected" sentence for every way a field can be wrong. */
function expected(text: string): { error: string } {
  return { error: text };
}

const nonEmptyString = (what: string) => z.string(expected(what)).min(1, expected(what));

function intRange(min: number, max: number, what = `expected an integer ${min}-${max}`) {
  return z.number(expected(what)).int(expected(what)).min(min, expected(what)).max(max, expected(what));
}

const absolutePath = (what: string) =>
  z
    .string(expected(`expected an absolute path (${what})`))
    .regex(/^(\/|~\/)/, expected(`expected an absolute path starting with / or ~/ (${what})`));

/** A Linux interface name: at most 15 bytes (IFNAMSIZ - 1), no slash, no whitespace. */
const interfaceName = z
  .string(expected("expected a network interface name such as eth0 or ens3"))
  .regex(
    /^[A-Za-z0-9_.:@-]{1,15}$/,
    expected("expected a network interface name (1-15 characters: letters, digits, _ . : @ -)"),
  );

/** An IPv4 (strict four-part) / IPv6 address or a hostname; syntax is checked in semantic.ts. */
const address = nonEmptyString("expected an IPv4 address, IPv6 address or hostname");

/**
 * A secret: inline (discouraged, it sits in the file), from an environment variable, or from a file whose
 * contents (trailing newline removed) are the secret. Resolved by secrets.ts, never earlier.
 */
export const SecretRefSchema = z.union(
  [
    z.string().min(1),
    z.strictObject({
      env: z
        .string(expected("expected an environment variable name such as MYSQL_PASSWORD"))
        .regex(
          /^[A-Za-z_][A-Za-z0-9_]*$/,
          expected("expected an environment variable name such as MYSQL_PASSWORD"),
        ),
    }),
    z.strictObject({ file: nonEmptyString("expected the path of a file holding the secret") }),
  ],
  expected("expected a secret: {env: VARIABLE}, {file: /path/to/file} or an inline string"),
);
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** SSH settings shared by an endpoint and the defaults for discovered hosts (which have no address). */
const sshSettings = {
  port: intRange(1, 65535).default(22).describe("SSH port"),
  user: nonEmptyString("expected a user name").default("root").describe("SSH user"),
  key_file: absolutePath("the private key file").optional().describe("private key file; or set agent: true"),
  agent: z
    .boolean(expected("expected true or false"))
    .default(false)
    .describe("use the SSH agent at $SSH_AUTH_SOCK instead of (or before) key_file"),
  passphrase: SecretRefSchema.optional().describe("passphrase of key_file, as a secret reference"),
  known_hosts: absolutePath("an OpenSSH known_hosts file")
    .optional()
    .describe("OpenSSH known_hosts file to check the host key against; default ~/.ssh/known_hosts"),
  host_key_policy: z
    .enum(["strict", "accept-new"], expected('expected "strict" or "accept-new"'))
    .default("strict")
    .describe("strict: the key must already be in known_hosts; accept-new: record an unknown key once"),
  sudo: z
    .boolean(expected("expected true or false"))
    .default(false)
    .describe("run commands through `sudo -n` (needed when user is not root)"),
};

const hasCredential: [
  (ssh: { agent: boolean; key_file?: string | undefined }) => boolean,
  { error: string; path: string[] },
] = [
  (ssh) => ssh.agent || ssh.key_file !== undefined,
  { error: "expected key_file: /path/to/private_key or agent: true", path: ["key_file"] },
];

/** How to reach one machine over SSH: a controller or a compute host. */
export const SshEndpointSchema = z
  .strictObject({
    address: address.describe("IPv4 (four-part dotted), IPv6 or hostname of the machine"),
    ...sshSettings,
  })
  .refine(...hasCredential);
export type SshEndpoint = z.infer<typeof SshEndpointSchema>;

/** SSH settings for discovered compute hosts: an endpoint whose address is the host name nova reports. */
export const SshDefaultsSchema = z.strictObject(sshSettings).refine(...hasCredential);
export type SshDefaults = z.infer<typeof SshDefaultsSchema>;

/** MySQL admin credentials as seen from the controller itself; handover tunnels to it over SSH. */
export const MysqlAdminSchema = z.strictObject({
  user: nonEmptyString("expected a MySQL user name").default("root"),
  password: SecretRefSchema.describe("MySQL admin password, as a secret reference"),
  host: nonEmptyString("expected the address MySQL listens on, as seen from the controller")
    .default("127.0.0.1")
    .describe("where MySQL listens, as seen from the controller (the SSH tunnel's far end)"),
  port: intRange(1, 65535).default(3306),
});
export type MysqlAdmin = z.infer<typeof MysqlAdminSchema>;

export const OldControllerSchema = z.strictObject({
  ssh: SshEndpointSchema.describe("how to reach the old controller; must not be a moved address"),
  mysql: MysqlAdminSchema,
});
export type OldController = z.infer<typeof OldControllerSchema>;

export const NewControllerSchema = z.strictObject({
  ssh: SshEndpointSchema.describe("how to reach the new controller"),
  mysql: MysqlAdminSchema,
  staging_address: address.describe("the new controller's own address until switchover; not a moved address"),
});
export type NewController = z.infer<typeof NewControllerSchema>;

export const ComputeHostSchema = z.strictObject({
  name: nonEmptyString("expected the compute host's name as nova knows it").describe(
    "host name as in nova's services table",
  ),
  ssh: SshEndpointSchema,
});
export type ComputeHost = z.infer<typeof ComputeHostSchema>;

export const ComputesSchema = z
  .strictObject({
    discover: z
      .boolean(expected("expected true or false"))
      .default(false)
      .describe("find compute hosts in nova's services table on the old controller"),
    hosts: z
      .array(ComputeHostSchema, expected("expected a list of compute hosts"))
      .default([])
      .describe("explicit compute hosts, or SSH settings for discovered ones"),
    ssh_defaults: SshDefaultsSchema.optional().describe(
      "SSH settings for discovered hosts not listed in hosts; they are reached at the host name nova reports",
    ),
  })
  .refine((c) => c.discover || c.hosts.length > 0, {
    error: "expected discover: true or at least one entry in hosts",
    path: ["hosts"],
  });
export type Computes = z.infer<typeof ComputesSchema>;

/** An address that moves from the old controller to the new one at switchover. */
export const NetworkMoveSchema = z.strictObject({
  name: z
    .string(expected("expected a short network name such as mgmt"))
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,31}$/,
      expected("expected a short name: lowercase letters, digits, _ and -"),
    ),
  cidr: nonEmptyString("expected a network in CIDR form, e.g. 198.51.100.0/24"),
  address: address.describe("the address that moves (must be inside cidr)"),
  old_interface: interfaceName.describe("interface carrying the address on the old controller"),
  new_interface: interfaceName.describe("interface that takes the address on the new controller"),
});
export type NetworkMove = z.infer<typeof NetworkMoveSchema>;

export const IscsiSchema = z.strictObject({
  old_portal: nonEmptyString("expected an iSCSI portal: address or address:port").describe(
    "target portal in volumes' connection_info today (optional :port)",
  ),
  new_portal: nonEmptyString("expected an iSCSI portal: address or address:port").describe(
    "where the target will be after the move (same when the address moves)",
  ),
});
export type Iscsi = z.infer<typeof IscsiSchema>;

export const PackagesSchema = z.strictObject({
  source: nonEmptyString("expected one or more apt source lines").describe(
    "apt source line(s) for the new controller, one per line",
  ),
  trusted: z
    .boolean(expected("expected true or false"))
    .default(false)
    .describe("mark the source [trusted=yes] (unsigned mirrors only)"),
});
export type Packages = z.infer<typeof PackagesSchema>;

export const OptionsSchema = z.strictObject({
  concurrency: intRange(1, 32).default(4).describe("how many independent steps run at once"),
  freeze: z
    .enum(["stop-apis", "haproxy-503"], expected('expected "stop-apis" or "haproxy-503"'))
    .default("stop-apis")
    .describe("how the old control plane is frozen before the final sync"),
  switch: z
    .enum(["auto", "confirm", "never"], expected('expected "auto", "confirm" or "never"'))
    .default("confirm")
    .describe("whether moving the addresses needs a confirmation"),
  credentials: z
    .enum(["keep", "new"], expected('expected "keep" or "new"'))
    .default("keep")
    .describe("keep: new services use the old DB/AMQP credentials; new: generate fresh ones"),
});
export type Options = z.infer<typeof OptionsSchema>;

const release = z.preprocess(
  normaliseRelease,
  z.enum(RELEASES, expected(`expected a release name: ${RELEASES.join(", ")}`)),
);

export const AnswersSchema = z
  .strictObject({
    version: z.literal(1, expected("expected version: 1")),
    source_release: release.describe("release the cloud runs today"),
    target_release: release.describe("release the new controller will run"),
    controllers: z.strictObject({ old: OldControllerSchema, new: NewControllerSchema }),
    computes: ComputesSchema,
    services: z
      .array(z.enum(SERVICES, expected(`expected a service name: ${SERVICES.join(", ")}`)), {
        error: `expected a list of services: ${SERVICES.join(", ")}`,
      })
      .min(1, expected("expected at least one service"))
      .describe("services to migrate"),
    networks: z
      .array(NetworkMoveSchema, expected("expected a list of networks"))
      .min(1, expected("expected at least one network whose address moves"))
      .describe("addresses moved from old to new at switchover"),
    iscsi: IscsiSchema.optional(),
    packages: PackagesSchema,
    state_dir: absolutePath("the state directory")
      .default("/var/lib/handover")
      .describe("journal, lock and reports"),
    options: OptionsSchema.prefault({}),
  })
  .describe("handover answer file");

/** A validated answer file, defaults filled in. */
export type Answers = z.infer<typeof AnswersSchema>;
/** What may be written in the file (defaults optional), e.g. for the wizard that writes one. */
export type AnswersInput = z.input<typeof AnswersSchema>;

/** The JSON Schema of what an operator may write (input side: fields with defaults are optional). */
export function answersJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(AnswersSchema, {
    io: "input",
    unrepresentable: "any",
    target: "draft-2020-12",
  });
  return { ...schema, title: "handover answer file" };
}
