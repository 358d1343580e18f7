/**
 * The two controllers the temporary-key tests (temp-key.test.ts, key-engine.test.ts) start from, on FakeHosts
 * scripted by sim.ts:
 * - old: one image file in IMAGES, its ed25519 host key, and root's authorized_keys holding only JUMP_LINE (0600);
 * - new: IMAGES as an empty dir, temp dirs recorded (`tmp.made` / `tmp.removed`), ssh-keygen and the key files'
 *   find, and rsync copying from old (`rsync.argvs`; `rsyncCheck` is called at each copy).
 */
import { FakeHost } from "../../../fakes/fake-host.js";
import { scriptTempDirs } from "../support/harness.js";
import { scriptBasics, scriptFind, scriptKeyFiles, scriptRsync } from "./sim.js";

export const IMAGES = "/var/lib/glance/images";
export const AUTHORIZED_KEYS = "/root/.ssh/authorized_keys";
export const JUMP_LINE = "ssh-ed25519 AAAAJUMP jump\n";

/** The lines of an authorized_keys text that carry a handover temporary key's comment. */
export const markedLines = (text: string | undefined): string[] =>
  (text ?? "").split("\n").filter((l) => / handover-temp-[0-9a-f]{16}$/.test(l));

export function keyHosts(image: string, o: { rsyncCheck?: () => void } = {}) {
  const old = new FakeHost("old", { unmatched: "throw", address: "198.51.100.4" });
  const neu = new FakeHost("new", { unmatched: "throw", address: "198.51.100.5" });
  old.setFile(`${IMAGES}/image-a`, image);
  old.setFile("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAOLDHOSTKEY root@old\n");
  old.setFile(AUTHORIZED_KEYS, JUMP_LINE, { mode: 0o600 });
  scriptBasics(old);
  scriptFind(old);
  scriptBasics(neu);
  scriptFind(neu);
  scriptKeyFiles(neu);
  const tmp = scriptTempDirs(neu);
  neu.addDir(IMAGES);
  const rsync = scriptRsync(neu, old, o.rsyncCheck ? { rsyncCheck: o.rsyncCheck } : {});
  return { old, neu, tmp, rsync };
}
