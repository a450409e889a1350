/**
 * `azure` provider: Azure OpenAI. The wire format is OpenAI's (so OpenAI clients get the answer as bytes and
 * other inbound formats are translated by the shared OpenAI wire adapter); only the URLs and the auth differ:
 *
 * - deployment API (default): {base_url}/openai/deployments/{deployment}/chat/completions?api-version=V, where
 *   the deployment is the target's `model` and V is `api_version` (default 2024-10-21, the latest GA);
 * - v1 API (`api_version: v1`): {base_url}/openai/v1/chat/completions with the deployment name as `model` in
 *   the body and no api-version (https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle).
 *
 * Auth is the resource key in an `api-key` header, never `Authorization`. Content filtering needs no code:
 * `finish_reason: "content_filter"` is an OpenAI value and passes through; a prompt blocked by the filter is
 * a 400 with code `content_filter`, whose message the shared error mapping keeps.
 */
import type { ProviderConfig } from '../../config/schema.js';
import { createOpenAIWireAdapter } from '../openai/adapter.js';
import { UpstreamHttp } from '../http/upstream-http.js';
import type { ProviderAdapter } from '../provider.js';

export const defaultAzureApiVersion = '2024-10-21';

type Endpoint = '/chat/completions' | '/embeddings';

/**
 * The upstream path (after the resource endpoint) of one call. A base_url given with `/openai` or
 * `/openai/v1` already on it is tolerated: the resource endpoint is what the Azure portal shows, but SDK
 * samples often include the suffix.
 */
export function azurePathFor(apiVersion: string): (endpoint: Endpoint, deployment: string) => string {
  if (apiVersion === 'v1') return (endpoint) => `/openai/v1${endpoint}`;
  const query = `?api-version=${encodeURIComponent(apiVersion)}`;
  return (endpoint, deployment) => `/openai/deployments/${encodeURIComponent(deployment)}${endpoint}${query}`;
}

/** The resource endpoint without the `/openai` suffixes azurePathFor adds itself. */
export function azureResourceUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/openai(\/v1)?$/, '');
}

export function createAzureAdapter(config: ProviderConfig): ProviderAdapter {
  if (config.base_url === undefined) {
    throw new Error(`provider ${config.name} (azure) needs base_url: https://<resource>.openai.azure.com`);
  }
  const http = new UpstreamHttp(config, azureResourceUrl(config.base_url));
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
  if (config.api_key !== undefined && config.api_key !== '') headers['api-key'] = config.api_key;
  const pathFor = azurePathFor(config.api_version ?? defaultAzureApiVersion);
  return createOpenAIWireAdapter(config, http, pathFor, Object.entries(headers).flat());
}
