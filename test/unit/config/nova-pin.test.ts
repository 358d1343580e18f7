import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getComputePin, removeComputePin, setComputePin } from "../../../src/config/nova-pin.js";

const nova = readFileSync(new URL("../../fixtures/config/nova-controller.conf", import.meta.url), "utf8");

const packaged = `[DEFAULT]

[upgrade_levels]
#
# upgrade_levels options allow you to pin RPC versions.
#

#
# Compute RPC API version cap.
#
# Possible values:
#
# * By default send the latest version the client knows about
# * 'auto': Automatically determines what version to use based on
#   the service versions in the deployment.
# * A string representing a version number in the format 'N.N';
#   for example, possible values might be '1.12' or '2.0'.
# * An OpenStack release name, in lower case, such as 'mitaka' or
#   'liberty'.
#  (string value)
#compute = <None>

# Cert RPC API version cap. (string value)
#cert = <None>
`;

describe("compute RPC pin", () => {
  it("adds [upgrade_levels] to a config without it, and removes the line again", () => {
    const set = setComputePin(nova, "auto");
    expect(set).toMatchObject({ changed: true, before: undefined });
    expect(set.text).toBe(`${nova}\n[upgrade_levels]\ncompute = auto\n`);
    expect(getComputePin(set.text)).toBe("auto");
    const removed = removeComputePin(set.text);
    expect(removed).toMatchObject({ changed: true, before: "auto" });
    expect(getComputePin(removed.text)).toBeUndefined();
    expect(removed.text).toBe(`${nova}\n[upgrade_levels]\n`);
  });

  it("goes next to the packaged commented default", () => {
    const set = setComputePin(packaged, "victoria");
    expect(set.text).toBe(packaged.replace("#compute = <None>\n", "#compute = <None>\ncompute = victoria\n"));
    expect(removeComputePin(set.text).text).toBe(packaged);
  });

  it("replaces an existing pin and reports no change when it is already set", () => {
    const set = setComputePin("[upgrade_levels]\ncompute=victoria\n", "auto");
    expect(set).toEqual({ text: "[upgrade_levels]\ncompute=auto\n", changed: true, before: "victoria" });
    expect(setComputePin(set.text, "auto")).toEqual({ text: set.text, changed: false, before: "auto" });
    expect(removeComputePin(packaged)).toEqual({ text: packaged, changed: false, before: undefined });
  });

  it("accepts versions and refuses anything else", () => {
    expect(getComputePin(setComputePin(packaged, "5.12").text)).toBe("5.12");
    expect(() => setComputePin(packaged, "Victoria; rm")).toThrow(/not a compute RPC pin/);
    expect(() => setComputePin(packaged, "")).toThrow(/not a compute RPC pin/);
  });
});
