/**
 * Running an OpenStack tool as its service user: `su -s /bin/sh -c '<quoted argv>' <user>` (run as root,
 * keystone-manage left a root-owned log that killed the keystone API; OPENSTACK.md). The argv is quoted word by
 * word, so nothing in it is interpreted by the shell.
 */
import { quoteArgv } from "../../hosts/quote.js";
import { UserError } from "../../lib/errors.js";

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function asUserArgv(user: string, argv: readonly string[]): string[] {
  if (!USER.test(user))
    throw new UserError("PLAN_PARAM", `refusing an unusual user name: ${JSON.stringify(user)}`);
  return ["su", "-s", "/bin/sh", "-c", quoteArgv(argv), user];
}

/** Lines the tools print that are not errors (LAB.md "Real OpenStack databases"). */
const NOISE: readonly RegExp[] = [
  /^INFO\s+\[alembic/,
  /^\S+ \S+ \d+ INFO /,
  /oslo_policy/i,
  /getcurrent/,
  /^Exception ignored in/,
  /^Traceback \(most recent call last\):$/,
  /^\s+File ".*eventlet/,
  /^AttributeError: .*'getcurrent'/,
  /Option ".*" from group ".*" is deprecated/,
  /^\s*warnings\.warn\(/,
  /(Deprecation|Future|User)Warning/,
];

export function withoutNoise(text: string): string {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !NOISE.some((re) => re.test(l)))
    .join("\n");
}
