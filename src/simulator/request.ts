// Reading fields of a parsed JSON request body, with OpenAI's rejections.
import { invalidType, missingParameter } from './errors.js';

export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const isAbsent = (value: unknown): value is null | undefined => value === undefined || value === null;

export function requireModel(body: JsonObject): string {
  const model = body['model'];
  if (isAbsent(model) || model === '') throw missingParameter('model');
  if (typeof model !== 'string') throw invalidType('model', 'a string', model);
  return model;
}
