/**
 * What the OpenTelemetry GenAI semantic conventions call each upstream
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): `gen_ai.provider.name` names the
 * telemetry flavour of the API spoken, so every OpenAI-wire provider is `openai` and the model and
 * `server.address` tell them apart. Worked out once per configured provider, never per request.
 */
import type { ProviderConfig } from '../../config/schema.js';

export interface UpstreamIdentity {
  /** gen_ai.provider.name (and the older gen_ai.system, which many backends still read). */
  genAiProvider: string;
  /** server.address / server.port; undefined for the in-process simulator. */
  address: string | undefined;
  port: number | undefined;
}

/** The conventions' well-known values; `simulator` is ours (an in-process fake, never on the network). */
const genAiProviders: Record<string, string> = {
  openai: 'openai',
  'openai-compatible': 'openai',
  azure: 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  bedrock: 'aws.bedrock',
  cohere: 'cohere',
  mistral: 'mistral_ai',
  simulator: 'sluice.simulator',
};

/** The host an adapter talks to when the config gives no base_url (the adapters' own defaults). */
function defaultBaseUrl(config: ProviderConfig): string | undefined {
  switch (config.kind) {
    case 'openai':
      return 'https://api.openai.com';
    case 'anthropic':
      return 'https://api.anthropic.com';
    case 'cohere':
      return 'https://api.cohere.com';
    case 'mistral':
      return 'https://api.mistral.ai';
    case 'gemini':
      return config.vertex === undefined ? 'https://generativelanguage.googleapis.com' : undefined;
    case 'bedrock':
      return config.region === undefined
        ? undefined
        : `https://bedrock-runtime.${config.region}.amazonaws.com`;
    default:
      return undefined;
  }
}

export function upstreamIdentity(config: ProviderConfig): UpstreamIdentity {
  const genAiProvider = genAiProviders[config.kind] ?? config.kind;
  const base = config.kind === 'simulator' ? undefined : (config.base_url ?? defaultBaseUrl(config));
  if (base === undefined) return { genAiProvider, address: undefined, port: undefined };
  const url = new URL(base);
  const port = url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port);
  return { genAiProvider, address: url.hostname, port };
}
