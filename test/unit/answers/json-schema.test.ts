import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { answersJsonSchema, SERVICES } from "../../../src/answers/schema.js";
import { RELEASES } from "../../../src/answers/releases.js";
import { answersJsonSchemaText } from "../../../src/cli/commands/schema.js";

const committed = fileURLToPath(new URL("../../../templates/answers.schema.json", import.meta.url));

type JsonObject = { [k: string]: unknown };

function walkObjects(node: unknown, visit: (o: JsonObject, path: string) => void, path = "#"): void {
  if (Array.isArray(node)) node.forEach((n, i) => walkObjects(n, visit, `${path}/${i}`));
  else if (node !== null && typeof node === "object") {
    visit(node as JsonObject, path);
    for (const [k, v] of Object.entries(node)) walkObjects(v, visit, `${path}/${k}`);
  }
}

describe("JSON Schema of the answer file", () => {
  // To regenerate: npm run -s handover -- schema > templates/answers.schema.json && npx prettier --write templates/answers.schema.json
  // (compared as JSON, so prettier's layout does not matter).
  it("templates/answers.schema.json is up to date with the zod schema", () => {
    expect(JSON.parse(readFileSync(committed, "utf8"))).toEqual(answersJsonSchema());
    expect(JSON.parse(answersJsonSchemaText())).toEqual(answersJsonSchema());
  });

  it("rejects unknown keys in every object, as the loader does", () => {
    const objects: string[] = [];
    walkObjects(answersJsonSchema(), (o, path) => {
      if (o.type === "object") {
        objects.push(path);
        expect(o.additionalProperties, path).toBe(false);
      }
    });
    expect(objects.length).toBeGreaterThan(10);
  });

  it("marks only fields without defaults as required", () => {
    const schema = answersJsonSchema() as JsonObject;
    expect(schema.required).toEqual(
      expect.arrayContaining([
        "version",
        "source_release",
        "target_release",
        "controllers",
        "computes",
        "services",
        "networks",
        "packages",
      ]),
    );
    expect(schema.required).not.toContain("options");
    expect(schema.required).not.toContain("state_dir");
    const props = schema.properties as Record<string, JsonObject>;
    const ssh = (
      (props.controllers?.properties as Record<string, JsonObject>).old?.properties as Record<
        string,
        JsonObject
      >
    ).ssh!;
    expect(ssh.required).toEqual(["address"]);
    expect((ssh.properties as Record<string, JsonObject>).port).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 65535,
      default: 22,
    });
  });

  it("lists the releases and services for editor completion", () => {
    const props = (answersJsonSchema() as JsonObject).properties as Record<string, JsonObject>;
    expect(props.source_release?.enum).toEqual([...RELEASES]);
    expect((props.services?.items as JsonObject).enum).toEqual([...SERVICES]);
  });
});
