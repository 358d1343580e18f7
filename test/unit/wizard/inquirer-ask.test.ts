/**
 * The prompts the wizard shows, rendered with @inquirer/testing from the same configurations inquirerAsk uses
 * (promptConfig): a refused answer shows its reason and is edited in place, defaults are taken on Enter, a
 * host key question defaults to no, a secret is never echoed.
 */
import { checkbox, confirm, input, number, password, select } from "@inquirer/prompts";
import { render } from "@inquirer/testing";
import { describe, expect, it } from "vitest";
import { RELEASES, SERVICES } from "../../../src/answers/index.js";
import { checkIp, checkCidr } from "../../../src/wizard/checks.js";
import { promptConfig } from "../../../src/wizard/inquirer-ask.js";

const tick = () => new Promise((r) => setTimeout(r, 20));

describe("wizard prompts (@inquirer/testing)", () => {
  it("an invalid address shows the reason under the question; the corrected one is accepted", async () => {
    const { answer, events, getScreen } = await render(
      input,
      promptConfig.input({
        id: "networks[0].address",
        message: "Address that moves (network 1):",
        validate: checkIp,
      }),
    );
    events.type("10.1");
    events.keypress("enter");
    await tick();
    expect(getScreen()).toContain("expected a four-part dotted IPv4 address");
    for (let i = 0; i < 4; i++) events.keypress("backspace");
    events.type("198.51.100.4");
    events.keypress("enter");
    await expect(answer).resolves.toBe("198.51.100.4");
  });

  it("Enter takes the discovered default", async () => {
    const { answer, events, getScreen } = await render(
      input,
      promptConfig.input({
        id: "networks[0].cidr",
        message: "Network (CIDR):",
        default: "198.51.100.0/24",
        validate: checkCidr,
      }),
    );
    expect(getScreen()).toContain("(198.51.100.0/24)");
    events.keypress("enter");
    await expect(answer).resolves.toBe("198.51.100.0/24");
  });

  it("a release list starts on the discovered release, and typing jumps to a name", async () => {
    const choices = RELEASES.map((r) => ({ value: r }));
    const first = await render(
      select,
      promptConfig.select({ id: "source_release", message: "Release:", choices, default: "victoria" }),
    );
    first.events.keypress("enter");
    await expect(first.answer).resolves.toBe("victoria");
    const second = await render(
      select,
      promptConfig.select({ id: "target_release", message: "Release:", choices, default: "wallaby" }),
    );
    second.events.type("zed");
    second.events.keypress("enter");
    await expect(second.answer).resolves.toBe("zed");
  });

  it("the service list refuses an empty choice with the reason", async () => {
    const { answer, events, getScreen } = await render(
      checkbox,
      promptConfig.checkbox({
        id: "services",
        message: "Services to migrate:",
        choices: SERVICES.map((s) => ({ value: s, checked: s === "nova" })),
        validate: (v) => (v.length === 0 ? "choose at least one service" : true),
      }),
    );
    events.keypress("a"); // all on (nova alone was checked)
    events.keypress("a"); // all off
    events.keypress("enter");
    await tick();
    expect(getScreen()).toContain("choose at least one service");
    events.keypress("space"); // the first one: keystone
    events.keypress("enter");
    await expect(answer).resolves.toEqual(["keystone"]);
  });

  it("a port outside 1-65535 is refused", async () => {
    const { answer, events, getScreen } = await render(
      number,
      promptConfig.number({
        id: "controllers.old.ssh.port",
        message: "SSH port:",
        default: 22,
        min: 1,
        max: 65535,
      }),
    );
    events.type("70000");
    events.keypress("enter");
    await tick();
    expect(getScreen()).toMatch(/65535/);
    for (let i = 0; i < 5; i++) events.keypress("backspace");
    events.type("2222");
    events.keypress("enter");
    await expect(answer).resolves.toBe(2222);
  });

  it("trusting a host key defaults to no: Enter does not accept it", async () => {
    const { answer, events, getScreen } = await render(
      confirm,
      promptConfig.confirm({
        id: "x.trust_host_key",
        message: "Trust host key ssh-ed25519 SHA256:abc of 198.51.100.3 port 22?",
        default: false,
      }),
    );
    expect(getScreen()).toContain("(y/N)");
    events.keypress("enter");
    await expect(answer).resolves.toBe(false);
  });

  it("a typed secret is masked, never shown", async () => {
    const { answer, events, getScreen, getFullOutput } = await render(
      password,
      promptConfig.secret({ id: "controllers.old.mysql.password.value", message: "Type it:" }),
    );
    events.type("s3cret-pw");
    expect(getScreen()).not.toContain("s3cret-pw");
    events.keypress("enter");
    await expect(answer).resolves.toBe("s3cret-pw");
    expect(getFullOutput()).not.toContain("s3cret-pw");
  });
});
