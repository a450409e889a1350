// The simulator's azure wire format: placeholder until it lands (claims no path).
import type { FormatServer } from '../formats.js';

export const azureFormat: FormatServer = {
  format: 'openai',
  serve: () => false,
};
