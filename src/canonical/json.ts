/** The one shape test every translator needs: a parsed JSON object (not null, not an array). */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
