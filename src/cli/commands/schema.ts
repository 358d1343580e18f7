/**
 * `handover schema`: prints the answer file's JSON Schema (generated from the zod schema), for editors
 * (yaml-language-server) and for templates/answers.schema.json.
 */
import { answersJsonSchema } from "../../answers/schema.js";
import { addCommand } from "../program.js";

/** The exact text of templates/answers.schema.json (a test keeps the committed file equal to it). */
export function answersJsonSchemaText(): string {
  return `${JSON.stringify(answersJsonSchema(), null, 2)}\n`;
}

addCommand((program, io) => {
  program
    .command("schema")
    .description("print the JSON Schema of the answer file")
    .action(() => {
      io.stdout(answersJsonSchemaText());
    });
});
