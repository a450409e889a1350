// The simulator's cohere wire format: placeholder until it lands (claims no path).
import type { FormatServer } from '../formats.js';

export const cohereFormat: FormatServer = {
  format: 'cohere',
  serve: () => false,
};
