/** Writes the flags-as-code file's JSON Schema to `docs/flags-as-code.schema.json` (`bun run flags-schema`). */
import { resolve } from "node:path";
import { SCHEMA_PATH, fileJsonSchema } from "../services/flags/domain/flags-as-code/file-format.ts";

await Bun.write(resolve(import.meta.dir, "..", SCHEMA_PATH), `${JSON.stringify(fileJsonSchema(), null, 2)}\n`);
console.log(`wrote ${SCHEMA_PATH}`);
