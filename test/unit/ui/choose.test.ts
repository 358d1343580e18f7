/** Which renderer a command gets: listr2 only on a real, sized terminal; plain lines everywhere else. */
import { describe, expect, it } from "vitest";
import { ListrView, PlainRenderer, createRenderer } from "../../../src/ui/index.js";

const plan = { steps: [], sourceRelease: "victoria", targetRelease: "zed" };
const tty = (columns: number) => ({ columns, isTTY: true }) as unknown as NodeJS.WriteStream;
const base = { plan, plain: false, isTTY: true, env: {}, writeLine: () => undefined, tty: tty(120) };

describe("createRenderer", () => {
  it("uses listr2 on a terminal", () => {
    expect(createRenderer(base)).toBeInstanceOf(ListrView);
  });
  it("uses plain lines with --plain, without a TTY, in CI, with TERM=dumb, or when the terminal reports no width", () => {
    expect(createRenderer({ ...base, plain: true })).toBeInstanceOf(PlainRenderer);
    expect(createRenderer({ ...base, isTTY: false })).toBeInstanceOf(PlainRenderer);
    expect(createRenderer({ ...base, env: { CI: "true" } })).toBeInstanceOf(PlainRenderer);
    expect(createRenderer({ ...base, env: { TERM: "dumb" } })).toBeInstanceOf(PlainRenderer);
    expect(createRenderer({ ...base, tty: tty(0) })).toBeInstanceOf(PlainRenderer);
  });
});
