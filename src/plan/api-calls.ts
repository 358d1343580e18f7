/**
 * What the api.check step asks each service (issue 5: token issue, endpoint list, image list and one download,
 * compute service list, network list, volume list). Plain data shared by the step (src/steps/api/check.ts) and
 * the plan, so `handover plan` shows exactly the commands that run.
 */

/** `openstack` CLI calls per service: each must exit 0; the output's line count is reported. */
export const API_CALLS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  keystone: [
    ["token", "issue", "-f", "value", "-c", "expires"],
    ["endpoint", "list", "-f", "value", "-c", "ID"],
  ],
  glance: [["image", "list", "-f", "value", "-c", "ID"]],
  nova: [
    ["compute", "service", "list", "-f", "value", "-c", "Binary"],
    ["server", "list", "--all-projects", "-f", "value", "-c", "ID"],
  ],
  neutron: [["network", "list", "-f", "value", "-c", "ID"]],
  cinder: [["volume", "list", "--all-projects", "-f", "value", "-c", "ID"]],
};

/** Services asked over plain HTTP (no client plugin, no credentials): port and paths tried in turn. */
export const HTTP_CHECKS: Readonly<Record<string, { port: number; paths: readonly string[] }>> = {
  placement: { port: 8778, paths: ["/"] },
  // The dashboard's login page where Debian/Ubuntu (/horizon) and RDO (/dashboard) put it, then the root.
  horizon: { port: 80, paths: ["/horizon/auth/login/", "/dashboard/auth/login/", "/auth/login/"] },
};

/** One line for the plan: what the check runs for `service`, against `where` (an address or a description). */
export function apiCheckSummary(service: string, where: string): string {
  const http = HTTP_CHECKS[service];
  if (http) return `GET http://${where}:${http.port}${http.paths[0] ?? "/"} (2xx/3xx)`;
  const calls = (API_CALLS[service] ?? []).map(
    (a) => `openstack ${a.slice(0, a.indexOf("-f") < 0 ? a.length : a.indexOf("-f")).join(" ")}`,
  );
  const extra =
    service === "glance" ? ["openstack image save <smallest> + md5 against glance's checksum"] : [];
  return `${[...calls, ...extra].join("; ")} (auth and endpoints at ${where})`;
}
