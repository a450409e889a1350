/**
 * Provider kind → adapter factory. Adding a provider is one folder and one line here.
 *
 * Adapters other than the OpenAI wire format and the in-process simulator are loaded on demand: a
 * gateway that serves only OpenAI-compatible upstreams never loads the AWS signing and event-stream
 * libraries or the other translators, which would cost tens of megabytes of resident memory for nothing.
 */
import type { ProviderConfig } from '../config/schema.js';
import { createOpenAIAdapter } from './openai/adapter.js';
import type { ProviderAdapter } from './provider.js';
import { createSimulatorAdapter } from './simulator/adapter.js';

type Factory = (config: ProviderConfig) => ProviderAdapter;

const factories: Record<string, () => Promise<Factory>> = {
  openai: () => Promise.resolve(createOpenAIAdapter),
  'openai-compatible': () => Promise.resolve(createOpenAIAdapter),
  simulator: () => Promise.resolve(createSimulatorAdapter),
  azure: async () => (await import('./azure/adapter.js')).createAzureAdapter,
  anthropic: async () => (await import('./anthropic/adapter.js')).createAnthropicAdapter,
  gemini: async () => (await import('./gemini/adapter.js')).createGeminiAdapter,
  bedrock: async () => (await import('./bedrock/adapter.js')).createBedrockAdapter,
  cohere: async () => (await import('./cohere/adapter.js')).createCohereAdapter,
  mistral: async () => (await import('./mistral/adapter.js')).createMistralAdapter,
};

export async function createProvider(config: ProviderConfig): Promise<ProviderAdapter> {
  const load = factories[config.kind];
  if (load === undefined) throw new Error(`no adapter for provider kind ${config.kind}`);
  return (await load())(config);
}

/** Every configured provider's adapter, by name. */
export async function createProviders(
  configs: readonly ProviderConfig[],
): Promise<Map<string, ProviderAdapter>> {
  const adapters = new Map<string, ProviderAdapter>();
  for (const config of configs) adapters.set(config.name, await createProvider(config));
  return adapters;
}
