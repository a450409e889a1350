// The simulator's bedrock wire format: placeholder until it lands (claims no path).
import type { FormatServer } from '../formats.js';

export const bedrockFormat: FormatServer = {
  format: 'bedrock',
  serve: () => false,
};
