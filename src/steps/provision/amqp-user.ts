/**
 * amqp.user: the RabbitMQ user and vhost the old transport_url names (credentials: keep), or a generated user
 * kept 0600 in `secretFile` on new (credentials: new), with full permissions on the vhost. The password is never
 * in an argv: `rabbitmqctl add_user <name>`, `change_password <name>` and `authenticate_user <name>` read it from
 * stdin when it is not given (each command calls RabbitMQ.CLI.Core.Input.infer_password; checked in the
 * escript of bookworm's rabbitmq-server 3.10.8). Undo deletes what this step created.
 */
import type { JsonObject, StepContext, StepImpl } from "../../engine/step.js";
import type { Host } from "../../hosts/host.js";
import { tail } from "../../hosts/errors.js";
import { UserError } from "../../lib/errors.js";
import { redact } from "../../lib/redact.js";
import type { Credentials } from "../credentials.js";
import { readSecretFile, readTransportCredentials, writeSecretFile } from "../credentials.js";
import type { StepDeps } from "../deps.js";
import { Params } from "../params.js";

interface AmqpParams {
  credentials: "keep" | "new";
  fromConfig: string;
  secretFile: string;
}

function read(raw: JsonObject): AmqpParams {
  const p = new Params("amqp.user", raw);
  return {
    credentials: p.str("credentials", "keep") === "new" ? "new" : "keep",
    fromConfig: p.str("fromConfig", ""),
    secretFile: p.str("secretFile", ""),
  };
}

function checkName(what: string, v: string): string {
  // rabbitmqctl would take a leading dash for an option; such a name cannot come from a sane transport_url.
  if (v === "" || v.startsWith("-") || /[\n\r]/.test(v)) {
    throw new UserError("AMQP_USER", `refusing the RabbitMQ ${what} ${JSON.stringify(v)}`, {
      nextSteps: ["Check transport_url in the old controller's config."],
    });
  }
  return v;
}

async function wanted(
  deps: StepDeps,
  ctx: StepContext,
  p: AmqpParams,
): Promise<Credentials & { vhost: string }> {
  if (p.credentials === "keep") {
    const c = await readTransportCredentials(ctx.host("old"), p.fromConfig);
    return { user: checkName("user", c.user), password: c.password, vhost: checkName("vhost", c.vhost) };
  }
  const neu = ctx.host("new");
  let c = await readSecretFile(neu, p.secretFile);
  if (!c) {
    c = { user: "openstack", password: deps.generatePassword() };
    await writeSecretFile(neu, p.secretFile, c);
  }
  return { ...c, vhost: "/" };
}

async function ctl(
  host: Host,
  args: string[],
  secrets: readonly string[],
  stdin?: string,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return host.exec(["rabbitmqctl", ...args], {
    timeoutMs: 120_000,
    secretsToRedact: secrets,
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

async function mustCtl(
  host: Host,
  args: string[],
  secrets: readonly string[],
  stdin?: string,
): Promise<string> {
  const r = await ctl(host, args, secrets, stdin);
  if (r.exitCode !== 0) {
    throw new UserError(
      "AMQP_USER",
      redact(
        `on ${host.name}: rabbitmqctl ${args[0] ?? ""} exited with ${r.exitCode}: ${tail(`${r.stderr}\n${r.stdout}`.trim(), 1200)}`,
        secrets,
      ),
      { nextSteps: [`Check that RabbitMQ runs on ${host.name} (rabbitmqctl status), then re-run.`] },
    );
  }
  return r.stdout;
}

/** First column of `rabbitmqctl -q list_*` output (tab-separated; the header line is absent with -q --no-table-headers). */
function names(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.split("\t")[0]?.trim() ?? "")
    .filter(Boolean);
}

async function authenticates(host: Host, c: Credentials): Promise<boolean> {
  return (await ctl(host, ["authenticate_user", c.user], [c.password], `${c.password}\n`)).exitCode === 0;
}

export function amqpUserStep(deps: StepDeps): StepImpl {
  return {
    kind: "amqp.user",
    async run(ctx, raw) {
      const p = read(raw);
      const c = await wanted(deps, ctx, p);
      const host = ctx.host("new");
      const secrets = [c.password];
      const users = names(await mustCtl(host, ["-q", "list_users", "--no-table-headers"], secrets));
      const vhosts = names(await mustCtl(host, ["-q", "list_vhosts", "--no-table-headers"], secrets));
      const prev = ctx.previousUndoData;
      const undo: JsonObject = {
        user: c.user,
        vhost: c.vhost,
        createdUser: prev?.createdUser === true || !users.includes(c.user),
        createdVhost: prev?.createdVhost === true || !vhosts.includes(c.vhost),
        secretFile: p.credentials === "new" ? p.secretFile : "",
      };
      ctx.checkpoint?.(undo);
      if (!vhosts.includes(c.vhost)) await mustCtl(host, ["add_vhost", c.vhost], secrets);
      if (!users.includes(c.user)) {
        await mustCtl(host, ["add_user", c.user], secrets, `${c.password}\n`);
      } else if (!(await authenticates(host, c))) {
        await mustCtl(host, ["change_password", c.user], secrets, `${c.password}\n`);
      }
      await mustCtl(host, ["set_permissions", "-p", c.vhost, c.user, ".*", ".*", ".*"], secrets);
      return undo;
    },
    async verify(ctx, raw) {
      const p = read(raw);
      const c = await wanted(deps, ctx, p);
      const host = ctx.host("new");
      if (!(await authenticates(host, c)))
        return { ok: false, detail: `RabbitMQ on new refuses ${c.user}'s password` };
      const perms = await ctl(
        host,
        ["-q", "list_user_permissions", "--no-table-headers", c.user],
        [c.password],
      );
      const ok =
        perms.exitCode === 0 && perms.stdout.split("\n").some((l) => l.split("\t")[0]?.trim() === c.vhost);
      return ok
        ? { ok: true, detail: `RabbitMQ user ${c.user} logs in and has permissions on vhost ${c.vhost}` }
        : { ok: false, detail: `${c.user} has no permissions on vhost ${c.vhost}` };
    },
    async undo(ctx, _raw, undoData) {
      const host = ctx.host("new");
      const user = typeof undoData.user === "string" ? undoData.user : "";
      const vhost = typeof undoData.vhost === "string" ? undoData.vhost : "";
      if (undoData.createdUser === true && user) await ctl(host, ["delete_user", user], []);
      if (undoData.createdVhost === true && vhost && vhost !== "/")
        await ctl(host, ["delete_vhost", vhost], []);
      if (typeof undoData.secretFile === "string" && undoData.secretFile !== "")
        await host.removeFile(undoData.secretFile);
    },
  };
}
