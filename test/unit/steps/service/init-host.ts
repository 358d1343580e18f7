/**
 * Test support for the service steps: a FakeHost whose init system is a set of running units (behaviour in the
 * doc comment below).
 */
import { FakeHost } from "../../../fakes/fake-host.js";
import { SYSV_STATUS } from "../../../../src/hosts/service-manager.js";
import { ProcSim } from "./proc-sim.js";

/**
 * A host whose init scripts keep a running set; `systemd` switches to systemctl. Marked commands (the steps' wrapper
 * shell) run their inner command through the same rules (proc-sim.ts).
 */
export function initHost(name: string, units: string[], running: string[], systemd = false) {
  const h = new FakeHost(name, { unmatched: "throw" });
  const sim = new ProcSim(h);
  const run = new Set(running);
  if (systemd) {
    h.addDir("/run/systemd/system");
    h.on(
      (a) => a[0] === "systemctl" && a[1] === "show",
      ({ argv }) => ({
        stdout: units.includes(argv[6]!.replace(/\.service$/, "")) ? "loaded\n" : "not-found\n",
      }),
    );
    h.on(
      (a) => a[0] === "systemctl" && a[1] === "is-active",
      ({ argv }) => ({
        exitCode: run.has(argv[4]!.replace(/\.service$/, "")) ? 0 : 3,
      }),
    );
    h.on(
      (a) => a[0] === "systemctl" && ["start", "stop", "restart"].includes(a[1]!),
      ({ argv }) => {
        const u = argv[3]!.replace(/\.service$/, "");
        if (argv[1] === "stop") run.delete(u);
        else run.add(u);
        return {};
      },
    );
  } else {
    for (const u of units) h.setFile(`/etc/init.d/${u}`, "#!/bin/sh\n", { mode: 0o755 });
    h.on(
      (a) => a[0] === "sh" && a[2] === SYSV_STATUS,
      ({ argv }) => ({ exitCode: run.has(argv[4]!) ? 0 : 3 }),
    );
    h.on(
      (a) => a[0] === "service" && ["start", "stop", "restart"].includes(a[2]!),
      ({ argv }) => {
        if (argv[2] === "stop") run.delete(argv[1]!);
        else run.add(argv[1]!);
        return {};
      },
    );
  }
  return { h, run, sim };
}
