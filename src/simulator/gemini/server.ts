// The simulator's gemini wire format: placeholder until it lands (claims no path).
import type { FormatServer } from '../formats.js';

export const geminiFormat: FormatServer = {
  format: 'gemini',
  serve: () => false,
};
