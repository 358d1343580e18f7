/**
 * What counts as a secret in a config line, and how it is masked for the journal, logs and reports. Values of
 * secret options are masked whole; URL values (DB connections, transport URLs, endpoints) keep everything but the
 * password, so a reader still sees which host and user a change is about.
 */
import { maskUrlPasswords } from "./url-hosts.js";

export const MASK = "***";

/**
 * Option names whose whole value is a secret: passwords, shared secrets, tokens, keys
 * (`password`, `admin_password`, `metadata_proxy_shared_secret`, `memcache_secret_key`, `admin_token`,
 * `fixed_key`, horizon's `SECRET_KEY`). Over-matching (`token_cache_time`) only hides a harmless number.
 */
const SECRET_NAME = /(pass(word|wd)?|secret|token|credential|(^|_)key)$|(password|secret|token)/i;

export function isSecretOption(key: string): boolean {
  return SECRET_NAME.test(key);
}

/** The value as it may be shown: masked whole for a secret option, URL passwords masked otherwise. */
export function maskValue(key: string, value: string): string {
  if (value === "") return value;
  return isSecretOption(key) ? MASK : maskUrlPasswords(value);
}

/**
 * One line of an INI file or of a Python settings file, masked. `key = value`, `key: value` and
 * `NAME = "value"` (also commented out: a commented password is still a password) keep their shape with the
 * value masked; any other line still gets URL passwords masked.
 */
export function maskLine(line: string): string {
  // Python dict entries first, wherever they are: `'PASSWORD': 'x',` in horizon's DATABASES or CACHES.
  const dictMasked = line.replace(
    /(['"])(\w*(?:password|secret|token|key)\w*)\1(\s*:\s*)(['"])((?:(?!\4).)*)\4/gi,
    (all, q1: string, name: string, sep: string, q2: string, value: string) =>
      value === "" ? all : `${q1}${name}${q1}${sep}${q2}${MASK}${q2}`,
  );
  const m = /^(\s*[#;]*\s*)([A-Za-z_][\w.-]*)(\s*[=:]\s*)(.*?)(\s*)$/.exec(dictMasked);
  if (m) {
    const [, lead = "", key = "", sep = "", value = "", trail = ""] = m;
    if (isSecretOption(key) && value !== "" && value !== "<None>") {
      // Keep Python quotes so the shape of the line stays readable.
      const q = /^(['"])(.*)\1(.*)$/.exec(value);
      const masked = q ? `${q[1] ?? ""}${MASK}${q[1] ?? ""}${q[3] ?? ""}` : MASK;
      return `${lead}${key}${sep}${masked}${trail}`;
    }
    return `${lead}${key}${sep}${maskUrlPasswords(value)}${trail}`;
  }
  return maskUrlPasswords(dictMasked);
}
