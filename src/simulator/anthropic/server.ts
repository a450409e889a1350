// The simulator's anthropic wire format: placeholder until it lands (claims no path).
import type { FormatServer } from '../formats.js';

export const anthropicFormat: FormatServer = {
  format: 'anthropic',
  serve: () => false,
};
