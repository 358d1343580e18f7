/**
 * The cloud admin's credentials for API checks, read at run time from the old controller (issue 5: "the admin
 * credentials found in the old controller's openrc or clouds.yaml"); never in params, argv or the journal.
 */
import { parse as parseYaml } from "yaml";
import type { Host } from "../../hosts/host.js";
import { UserError } from "../../lib/errors.js";

export interface AdminCredentials {
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
  readonly userDomainName: string;
  readonly projectDomainName: string;
  readonly regionName?: string;
  /** OS_AUTH_URL / auth.auth_url: where the old cloud's clients authenticate (its API address). */
  readonly authUrl?: string;
}

export const OPENRC_PATHS = [
  "/root/openrc",
  "/root/admin-openrc",
  "/root/admin-openrc.sh",
  "/root/keystonerc_admin",
];
export const CLOUDS_YAML_PATHS = ["/root/.config/openstack/clouds.yaml", "/etc/openstack/clouds.yaml"];

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === "'" || t[0] === '"') && t.at(-1) === t[0]) {
    const inner = t.slice(1, -1);
    return t[0] === '"' ? inner.replace(/\\(["\\$`])/g, "$1") : inner;
  }
  return t;
}

/** `export OS_USERNAME=admin` lines of an openrc (shell quoting of plain values only: no expansion is evaluated). */
export function parseOpenrc(text: string): AdminCredentials | undefined {
  const env = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?(OS_[A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) env.set(m[1], unquote(m[2]));
  }
  const username = env.get("OS_USERNAME");
  const password = env.get("OS_PASSWORD");
  if (!username || !password) return undefined;
  const region = env.get("OS_REGION_NAME");
  const authUrl = env.get("OS_AUTH_URL");
  return {
    username,
    password,
    projectName: env.get("OS_PROJECT_NAME") ?? env.get("OS_TENANT_NAME") ?? "admin",
    userDomainName: env.get("OS_USER_DOMAIN_NAME") ?? "Default",
    projectDomainName: env.get("OS_PROJECT_DOMAIN_NAME") ?? "Default",
    ...(region ? { regionName: region } : {}),
    ...(authUrl ? { authUrl } : {}),
  };
}

/** The `admin` cloud of a clouds.yaml, else the first cloud with a username and password. */
export function parseCloudsYaml(text: string): AdminCredentials | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return undefined;
  }
  const clouds = (doc as { clouds?: Record<string, unknown> } | null)?.clouds;
  if (!clouds || typeof clouds !== "object") return undefined;
  const entries = Object.entries(clouds).sort(([a], [b]) => (a === "admin" ? -1 : b === "admin" ? 1 : 0));
  for (const [, c] of entries) {
    const cloud = c as { auth?: Record<string, unknown>; region_name?: unknown } | null;
    const a = cloud?.auth ?? {};
    const s = (k: string): string | undefined => (typeof a[k] === "string" ? a[k] : undefined);
    const username = s("username");
    const password = s("password");
    if (!username || !password) continue;
    return {
      username,
      password,
      projectName: s("project_name") ?? "admin",
      userDomainName: s("user_domain_name") ?? s("domain_name") ?? "Default",
      projectDomainName: s("project_domain_name") ?? s("domain_name") ?? "Default",
      ...(typeof cloud?.region_name === "string" ? { regionName: cloud.region_name } : {}),
      ...(s("auth_url") ? { authUrl: s("auth_url") } : {}),
    };
  }
  return undefined;
}

export async function readAdminCredentials(host: Host): Promise<AdminCredentials> {
  for (const path of OPENRC_PATHS) {
    if (!(await host.stat(path))) continue;
    const c = parseOpenrc((await host.readFile(path)).toString("utf8"));
    if (c) return c;
  }
  for (const path of CLOUDS_YAML_PATHS) {
    if (!(await host.stat(path))) continue;
    const c = parseCloudsYaml((await host.readFile(path)).toString("utf8"));
    if (c) return c;
  }
  throw new UserError(
    "ADMIN_CREDENTIALS_NOT_FOUND",
    `on ${host.name}: no admin openrc or clouds.yaml with a password`,
    {
      nextSteps: [
        `Put the cloud admin's openrc at /root/openrc on ${host.name} (OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME ...), then re-run.`,
      ],
    },
  );
}
