/**
 * Saved facts (`handover plan --save-facts FILE`, read back with `--facts FILE`) for offline review and tests.
 * The file is JSON of the Facts type; reading it validates the shape, so a hand-edited or stale file fails with
 * the field that is wrong rather than somewhere inside the planner.
 */
import { z } from "zod";
import { UserError } from "../lib/errors.js";
import { SERVICE_NAMES } from "../plan/catalog.js";
import type { Facts } from "../plan/facts.js";

const count = z.number().int().nonnegative();
const service = z.enum(SERVICE_NAMES);

const controller = z.object({
  hostname: z.string(),
  os: z.object({ id: z.string(), versionId: z.string(), codename: z.string() }),
  release: z.string().optional(),
  packages: z.record(z.string(), z.string()),
  services: z.array(service),
  units: z.array(z.object({ name: z.string(), active: z.boolean() })),
  databases: z.array(
    z.object({ name: z.string(), sizeBytes: count, tables: count, nonUtf8Tables: z.array(z.string()) }),
  ),
  disk: z.array(z.object({ path: z.string(), freeBytes: count, totalBytes: count })),
  rabbitmq: z.boolean(),
  mysqlVersion: z.string().optional(),
  interfaces: z.array(z.object({ name: z.string(), addresses: z.array(z.string()) })),
});

export const FactsSchema = z.object({
  collectedAt: z.string(),
  controllers: z.object({ old: controller, new: controller }),
  nova: z
    .object({
      cells: z.array(z.object({ uuid: z.string(), name: z.string() })),
      computes: z.array(
        z.object({
          host: z.string(),
          version: z.number().int(),
          release: z.string().optional(),
          disabled: z.boolean(),
          forcedDown: z.boolean(),
          lastSeen: z.string().nullable(),
        }),
      ),
      controlServices: z.array(
        z.object({ host: z.string(), binary: z.string(), lastSeen: z.string().nullable() }),
      ),
      instances: count,
      iscsiAttachments: count,
    })
    .optional(),
  cinder: z
    .object({
      backend: z.enum(["lvm", "file", "other"]),
      location: z.string().optional(),
      volumes: z.array(z.object({ id: z.string(), sizeGb: z.number().nonnegative(), status: z.string() })),
    })
    .optional(),
  glance: z
    .object({
      store: z.enum(["file", "other"]),
      imagesDir: z.string().optional(),
      images: count,
      totalBytes: count,
    })
    .optional(),
  keystoneRoles: z.array(z.string()).optional(),
  dataChecks: z.record(z.string(), count).optional(),
});

/** Parses a saved facts file's text; `file` names it in errors. */
export function parseFactsFile(text: string, file: string): Facts {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError("FACTS_INVALID", `${file} is not JSON: ${(e as Error).message}`, {
      nextSteps: ["Save facts again with `handover plan -f answers.yaml --save-facts FILE`."],
    });
  }
  // `handover plan --json` prints {facts, plan}: accept that too, so its output can be fed back.
  if (data && typeof data === "object" && "facts" in data && "plan" in data)
    data = (data as { facts: unknown }).facts;
  const result = FactsSchema.safeParse(data);
  if (!result.success) {
    const lines = result.error.issues
      .slice(0, 10)
      .map((i) => `  ${i.path.map(String).join(".") || "(top)"}: ${i.message}`);
    throw new UserError("FACTS_INVALID", `${file} does not hold handover facts:\n${lines.join("\n")}`, {
      nextSteps: ["Save facts again with `handover plan -f answers.yaml --save-facts FILE`."],
    });
  }
  return result.data;
}

/** Facts as saved: stable, indented JSON. Facts hold no secrets (no passwords, no DB URLs). */
export function serializeFacts(facts: Facts): string {
  return JSON.stringify(facts, null, 2) + "\n";
}
