/** Writes schema/sluice.config.schema.json from the zod schema (`npm run schema`). A test keeps it in sync. */
import { writeFile } from 'node:fs/promises';
import { configJsonSchema, configJsonSchemaPath } from '../src/config/json-schema.js';

await writeFile(configJsonSchemaPath, JSON.stringify(configJsonSchema(), null, 2) + '\n');
console.log(`wrote ${configJsonSchemaPath}`);
