/** The config's JSON Schema, generated from the zod schema so the two can never disagree. */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema, providerKinds } from './schema.js';

export const configJsonSchemaPath = fileURLToPath(
  new URL('../../../schema/sluice.config.schema.json', import.meta.url),
);

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  // Cross-field rules live in superRefine, which JSON Schema cannot express; the provider kind list can be.
  const providers = (
    schema['properties'] as Record<string, { items?: { properties?: Record<string, unknown> } }>
  )['providers'];
  const kind = providers?.items?.properties;
  if (kind !== undefined)
    kind['kind'] = { type: 'string', enum: [...providerKinds], description: 'Adapter to use.' };
  return {
    title: 'Sluice gateway configuration',
    ...schema,
  };
}
