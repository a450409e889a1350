// Crude JSON Schema satisfaction, for tool-call arguments and json_schema responses: enough that a client's
// validator accepts the value, nowhere near a full JSON Schema implementation.
import { randomWord } from './engine.js';
import type { Random } from './random.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Schema = Record<string, unknown>;

const MAX_DEPTH = 8;

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function resolveRef(ref: string, root: unknown): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(1).split('/')) {
    if (part === '') continue;
    if (!isSchema(node)) return undefined;
    node = node[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return node;
}

function schemaType(schema: Schema): string | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const concrete = type.find((t) => t !== 'null');
    return typeof concrete === 'string' ? concrete : type.length > 0 ? 'null' : undefined;
  }
  if (isSchema(schema['properties'])) return 'object';
  if (schema['items'] !== undefined || schema['prefixItems'] !== undefined) return 'array';
  return undefined;
}

function sampleString(schema: Schema, rng: Random): string {
  switch (schema['format']) {
    case 'date-time':
      return '2024-01-01T00:00:00Z';
    case 'date':
      return '2024-01-01';
    case 'time':
      return '00:00:00Z';
    case 'email':
      return 'user@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
  }
  let text = randomWord(rng);
  const minLength = schema['minLength'];
  if (typeof minLength === 'number') while (text.length < minLength) text += ' ' + randomWord(rng);
  const maxLength = schema['maxLength'];
  if (typeof maxLength === 'number' && text.length > maxLength) text = text.slice(0, Math.max(0, maxLength));
  return text;
}

function sampleNumber(schema: Schema, integer: boolean): number {
  const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : undefined;
  const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : undefined;
  let value = integer ? 1 : 1.5;
  if (min !== undefined && value < min) value = integer ? Math.ceil(min) : min;
  if (max !== undefined && value > max) value = integer ? Math.floor(max) : max;
  return value;
}

/** A value that satisfies `schema` crudely: required properties of the declared types, enums' first values. */
export function sampleSchema(schema: unknown, rng: Random, root: unknown = schema, depth = 0): JsonValue {
  if (!isSchema(schema) || depth > MAX_DEPTH) return depth > MAX_DEPTH ? null : randomWord(rng);
  if (typeof schema['$ref'] === 'string') {
    return sampleSchema(resolveRef(schema['$ref'], root), rng, root, depth + 1);
  }
  if ('const' in schema) return schema['const'] as JsonValue;
  const choices = schema['enum'];
  if (Array.isArray(choices) && choices.length > 0) return choices[0] as JsonValue;
  for (const combinator of ['anyOf', 'oneOf', 'allOf']) {
    const options = schema[combinator];
    if (Array.isArray(options) && options.length > 0) {
      const pick = options.find((o) => !(isSchema(o) && o['type'] === 'null')) ?? options[0];
      return sampleSchema(pick, rng, root, depth + 1);
    }
  }
  switch (schemaType(schema)) {
    case 'object': {
      const properties = isSchema(schema['properties']) ? schema['properties'] : {};
      const required = Array.isArray(schema['required'])
        ? schema['required'].filter((k): k is string => typeof k === 'string')
        : Object.keys(properties);
      const value: { [key: string]: JsonValue } = {};
      for (const key of required) value[key] = sampleSchema(properties[key], rng, root, depth + 1);
      return value;
    }
    case 'array': {
      if (schema['maxItems'] === 0) return [];
      const minItems = typeof schema['minItems'] === 'number' ? Math.min(schema['minItems'], 16) : 1;
      const prefix = Array.isArray(schema['prefixItems']) ? schema['prefixItems'] : [];
      const items: JsonValue[] = [];
      for (let i = 0; i < Math.max(1, minItems, prefix.length); i++) {
        items.push(sampleSchema(prefix[i] ?? schema['items'] ?? { type: 'string' }, rng, root, depth + 1));
      }
      return items;
    }
    case 'string':
      return sampleString(schema, rng);
    case 'integer':
      return sampleNumber(schema, true);
    case 'number':
      return sampleNumber(schema, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return randomWord(rng);
  }
}
