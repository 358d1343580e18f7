import { describe, expect, it } from "vitest";
import { ProgressSplitter, parseProgress2, rsyncPullArgv, sshCommand } from "../../../../src/data/rsync.js";
import { restrictedKeyLine, withoutTempKeys } from "../../../../src/data/temp-key.js";

describe("rsync argv", () => {
  const transport = {
    identityFile: "/tmp/handover-abcdefgh12/id",
    knownHostsFile: "/tmp/handover-abcdefgh12/known_hosts",
  };

  it("pulls from the source with our key, our known_hosts, strict host key checking, and never deletes", () => {
    const argv = rsyncPullArgv({
      transport,
      sourceUser: "root",
      sourceHost: "198.51.100.4",
      sourceDir: "/var/lib/glance/images",
      destDir: "/var/lib/glance/images",
    });
    expect(argv.at(-2)).toBe("root@198.51.100.4:/var/lib/glance/images/");
    expect(argv.at(-1)).toBe("/var/lib/glance/images/");
    expect(argv).toContain("--info=progress2");
    expect(argv).toContain("--partial");
    expect(argv).toContain("--no-human-readable"); // rsync 3.x rejects --human-readable=0
    expect(argv.filter((a) => /delete|remove-source/.test(a))).toEqual([]);
    const e = argv[argv.indexOf("-e") + 1]!;
    expect(e).toBe(sshCommand(transport));
    expect(e).toContain("-o StrictHostKeyChecking=yes");
    expect(e).toContain("-o UserKnownHostsFile=/tmp/handover-abcdefgh12/known_hosts");
    expect(e).toContain("-i /tmp/handover-abcdefgh12/id -o IdentitiesOnly=yes");
    expect(e).toContain("-F /dev/null");
  });

  it("volume files: sparse, in place for the final pass, only the named files; IPv6 sources bracketed", () => {
    const argv = rsyncPullArgv({
      transport,
      sourceUser: "root",
      sourceHost: "2001:db8::4",
      sourceDir: "/var/lib/cinder/volumes",
      destDir: "/var/lib/cinder/volumes",
      sparse: true,
      inplace: true,
      only: ["volume-1111"],
    });
    expect(argv).toEqual(
      expect.arrayContaining(["--sparse", "--inplace", "--include=/volume-1111", "--exclude=*"]),
    );
    expect(argv.at(-2)).toBe("root@[2001:db8::4]:/var/lib/cinder/volumes/");
  });

  it("refuses words rsync would split or a shell would read", () => {
    expect(() =>
      rsyncPullArgv({ transport, sourceUser: "root", sourceHost: "h", sourceDir: "/a b", destDir: "/a" }),
    ).toThrow(/unusual path/);
    expect(() => sshCommand({ ...transport, identityFile: "/tmp/x;rm" })).toThrow(/unusual identity/);
  });

  it("parses progress2 updates split across chunks and \\r", () => {
    expect(parseProgress2("     1,234,567  45%   12.34MB/s    0:00:10 (xfr#1, to-chk=0/3)")).toEqual({
      bytes: 1234567,
      percent: 45,
      rate: "12.34MB/s",
      eta: "0:00:10",
    });
    expect(parseProgress2("sending incremental file list")).toBeUndefined();
    const s = new ProgressSplitter();
    expect(s.push("        100   1%  0B/s  0:00:00\r      5000  5")).toEqual([
      { bytes: 100, percent: 1, rate: "0B/s", eta: "0:00:00" },
    ]);
    expect(s.push("0%  1000B/s 0:00:05\n")).toEqual([
      { bytes: 5000, percent: 50, rate: "1000B/s", eta: "0:00:05" },
    ]);
  });
});

describe("temporary key lines", () => {
  it("restricts the key to the destination's address and marks it", () => {
    const line = restrictedKeyLine(
      "ssh-ed25519 AAAAC3Nza handover-temp-0011223344556677\n",
      "198.51.100.5",
      "0011223344556677",
    );
    expect(line).toBe(
      'from="198.51.100.5",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 AAAAC3Nza handover-temp-0011223344556677',
    );
    expect(() => restrictedKeyLine("ssh-ed25519 AAAA", '1.2.3.4",command="sh', "00112233")).toThrow(
      /unusual address/,
    );
  });

  it("removes only our marked lines (the named nonces, or all of ours)", () => {
    const text =
      'ssh-rsa AAAA admin@laptop\nfrom="x" ssh-ed25519 BBBB handover-temp-aaaaaaaa\nfrom="x" ssh-ed25519 CCCC handover-temp-bbbbbbbb\n';
    expect(withoutTempKeys(text, ["aaaaaaaa"])).toBe(
      'ssh-rsa AAAA admin@laptop\nfrom="x" ssh-ed25519 CCCC handover-temp-bbbbbbbb\n',
    );
    expect(withoutTempKeys(text)).toBe("ssh-rsa AAAA admin@laptop\n");
  });
});
