/** `cohere` provider: placeholder until its adapter lands. */
import type { ProviderConfig } from '../../config/schema.js';
import type { ProviderAdapter } from '../provider.js';

export function createCohereAdapter(config: ProviderConfig): ProviderAdapter {
  throw new Error(`provider kind ${config.kind} (${config.name}) is not built yet`);
}
