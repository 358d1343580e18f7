/**
 * Nova's compute RPC pin, `[upgrade_levels] compute`. While computes of the old release remain, the new
 * controller's services must speak the RPC version those computes understand: `auto` (nova works it out from the
 * service versions in its DB) or a release name (the seeds' days). Once every compute is upgraded the pin is
 * removed, otherwise the cloud keeps talking the old version.
 */
import { UserError } from "../lib/errors.js";
import { getValue, parseIni, removeOption, serializeIni, setOption } from "./oslo-ini.js";

const SECTION = "upgrade_levels";
const KEY = "compute";

/** `auto`, a release name (`victoria`) or an RPC version (`5.12`). */
const PIN = /^(auto|[a-z]+|\d+(\.\d+)*)$/;

export interface PinEdit {
  readonly text: string;
  readonly changed: boolean;
  readonly before: string | undefined;
}

export function getComputePin(novaConf: string): string | undefined {
  return getValue(parseIni(novaConf), SECTION, KEY);
}

/** Sets `[upgrade_levels] compute = <value>`, next to the packaged commented default when there is one. */
export function setComputePin(novaConf: string, value: string): PinEdit {
  if (!PIN.test(value)) {
    throw new UserError("NOVA_PIN_INVALID", `"${value}" is not a compute RPC pin nova accepts.`, {
      nextSteps: ["Use auto, a lower-case release name such as victoria, or a version such as 5.12."],
    });
  }
  const doc = parseIni(novaConf);
  const before = getValue(doc, SECTION, KEY);
  if (before === value) return { text: novaConf, changed: false, before };
  return { text: serializeIni(setOption(doc, SECTION, KEY, value)), changed: true, before };
}

/** Removes every active `[upgrade_levels] compute` line; comments and the section header stay. */
export function removeComputePin(novaConf: string): PinEdit {
  const doc = parseIni(novaConf);
  const before = getValue(doc, SECTION, KEY);
  if (before === undefined) return { text: novaConf, changed: false, before };
  return { text: serializeIni(removeOption(doc, SECTION, KEY)), changed: true, before };
}
