/** Provider kind → adapter factory. Adding a provider is one folder and one line here. */
import type { ProviderConfig } from '../config/schema.js';
import { createAnthropicAdapter } from './anthropic/adapter.js';
import { createAzureAdapter } from './azure/adapter.js';
import { createBedrockAdapter } from './bedrock/adapter.js';
import { createCohereAdapter } from './cohere/adapter.js';
import { createGeminiAdapter } from './gemini/adapter.js';
import { createMistralAdapter } from './mistral/adapter.js';
import { createOpenAIAdapter } from './openai/adapter.js';
import type { ProviderAdapter } from './provider.js';
import { createSimulatorAdapter } from './simulator/adapter.js';

const factories: Record<string, (config: ProviderConfig) => ProviderAdapter> = {
  openai: createOpenAIAdapter,
  'openai-compatible': createOpenAIAdapter,
  azure: createAzureAdapter,
  anthropic: createAnthropicAdapter,
  gemini: createGeminiAdapter,
  bedrock: createBedrockAdapter,
  cohere: createCohereAdapter,
  mistral: createMistralAdapter,
  simulator: createSimulatorAdapter,
};

export function createProvider(config: ProviderConfig): ProviderAdapter {
  const factory = factories[config.kind];
  if (factory === undefined) throw new Error(`no adapter for provider kind ${config.kind}`);
  return factory(config);
}
