/**
 * Starting, stopping and asking about services on a host through its real service manager: systemd
 * (`systemctl`) when /run/systemd/system exists (the same test sd_booted() makes), else sysvinit's `service`
 * (Debian's OpenStack packages ship init scripts; the lab runs without systemd, LAB.md). Unit names come from the
 * plan (templates/distros.yaml).
 */
import type { Host } from "./host.js";
import { UserError } from "../lib/errors.js";
import { tail } from "./errors.js";

export type InitSystem = "systemd" | "sysvinit";

/**
 * A pidfile /run/<unit>.pid or /run/<dir>/<unit>.pid decides when there is one (live pid: running; dead: not).
 * Without one: an init script whose daemon is uwsgi (UWSGI_INI_PATH=...) runs when a process has `--ini <that
 * file>` (their `status` looks for ANY uwsgi_python3x process, so keystone's uwsgi made nova-api, cinder-api,
 * placement-api and neutron-api "running" on the lab; neutron-api's pidfile is neutron-server.pid), else
 * `service <unit> status` exiting 0 WITH something
 * said (status_of_proc always prints; Debian's nova-novncproxy script exits 0 silently for every action when
 * /etc/default/nova-consoleproxy picks another proxy, seen on the lab). $1 is the unit.
 */
export const SYSV_STATUS =
  'for f in /run/"$1".pid /run/*/"$1".pid; do if [ -r "$f" ]; then kill -0 "$(cat "$f")" 2>/dev/null && exit 0; exit 3; fi; done; ini=$(sed -n "s/^UWSGI_INI_PATH=//p" /etc/init.d/"$1" 2>/dev/null | head -n 1); if [ -n "$ini" ]; then pgrep -f -- "--ini $ini" >/dev/null && exit 0; exit 3; fi; out=$(service "$1" status 2>&1) && [ -n "$out" ] && exit 0; exit 3';

/**
 * Bound on one start/stop/restart command. Also the bound a later attempt gives a command of an interrupted one
 * before ending it (src/steps/service/units.ts): never more time than a live handover would have given it.
 */
export const ACTION_TIMEOUT_MS = 180_000;

/** Per call: words run before the command (a wrapper that marks it, src/steps/earlier-run.ts markedArgv). */
export interface ActionOptions {
  readonly wrap?: (argv: readonly string[]) => readonly string[];
}

const UNIT_NAME = /^[A-Za-z0-9@._:-]{1,128}$/;

function checkUnit(unit: string): string {
  if (!UNIT_NAME.test(unit) || unit.startsWith("-")) {
    throw new UserError("SERVICE_NAME", `refusing an unusual service name: ${JSON.stringify(unit)}`);
  }
  return unit;
}

export async function detectInitSystem(host: Host): Promise<InitSystem> {
  const st = await host.stat("/run/systemd/system");
  return st?.isDirectory ? "systemd" : "sysvinit";
}

export class ServiceManager {
  private init?: Promise<InitSystem>;

  constructor(readonly host: Host) {}

  initSystem(): Promise<InitSystem> {
    this.init ??= detectInitSystem(this.host);
    return this.init;
  }

  /** True when the host knows the unit (a unit file / an init script). */
  async exists(unit: string): Promise<boolean> {
    checkUnit(unit);
    if ((await this.initSystem()) === "systemd") {
      const r = await this.host.exec([
        "systemctl",
        "show",
        "-p",
        "LoadState",
        "--value",
        "--",
        `${unit}.service`,
      ]);
      return r.exitCode === 0 && r.stdout.trim() !== "not-found" && r.stdout.trim() !== "";
    }
    return (await this.host.stat(`/etc/init.d/${unit}`)) !== undefined;
  }

  async isActive(unit: string): Promise<boolean> {
    checkUnit(unit);
    if ((await this.initSystem()) === "systemd") {
      const r = await this.host.exec(["systemctl", "is-active", "--quiet", "--", `${unit}.service`]);
      return r.exitCode === 0;
    }
    // LSB: status exits 0 when running, 3 (or anything else) when not. Some init scripts look for the daemon by
    // name and miss one that retitles itself (neutron-rpc-server, LAB.md); a pidfile naming a live process under
    // /run counts as running too.
    const r = await this.host.exec(["sh", "-c", SYSV_STATUS, "sh", unit]);
    return r.exitCode === 0;
  }

  start(unit: string, options: ActionOptions = {}): Promise<void> {
    return this.action(unit, "start", options);
  }

  stop(unit: string, options: ActionOptions = {}): Promise<void> {
    return this.action(unit, "stop", options);
  }

  restart(unit: string, options: ActionOptions = {}): Promise<void> {
    return this.action(unit, "restart", options);
  }

  private async action(
    unit: string,
    action: "start" | "stop" | "restart",
    options: ActionOptions,
  ): Promise<void> {
    checkUnit(unit);
    const argv =
      (await this.initSystem()) === "systemd"
        ? ["systemctl", action, "--", `${unit}.service`]
        : ["service", unit, action];
    // Init scripts may daemonise children that keep the channel open; the timeout bounds a hung script.
    const r = await this.host.exec(options.wrap ? options.wrap(argv) : argv, {
      timeoutMs: ACTION_TIMEOUT_MS,
    });
    if (r.exitCode !== 0) {
      const out = tail(`${r.stderr}\n${r.stdout}`.trim(), 1500);
      throw new UserError(
        "SERVICE_ACTION_FAILED",
        `on ${this.host.name}: \`${argv.join(" ")}\` exited with ${r.exitCode}${out ? `:\n${out}` : ""}`,
        {
          nextSteps: [
            `Look at ${unit}'s log on ${this.host.name} (/var/log/...), fix the cause, then re-run.`,
          ],
        },
      );
    }
  }
}
