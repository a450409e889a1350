/**
 * Where and how a Gemini call goes: the Gemini API (`/v1beta/models/{m}:method`, key in `x-goog-api-key`)
 * or, with `vertex` configured, Vertex AI
 * (`/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:method`, an OAuth access token as Bearer).
 * `base_url` overrides the origin either way (a proxy, or the simulator in tests).
 */
import type { ProviderConfig } from '../../config/schema.js';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'batchEmbedContents' | 'predict';

export interface GeminiEndpoint {
  readonly vertex: boolean;
  readonly baseUrl: string;
  /** Path (relative to the base URL's own path) of `method` on `model`. */
  path(model: string, method: GeminiMethod): string;
  /** Flat [name, value, ...] list of the headers every call carries. */
  readonly headers: readonly string[];
}

/** "models/gemini-2.5-flash", "publishers/google/models/gemini-2.5-flash" → "gemini-2.5-flash". */
export function normaliseModel(model: string): string {
  const at = model.lastIndexOf('models/');
  return at === -1 ? model : model.slice(at + 'models/'.length);
}

export function geminiEndpoint(config: ProviderConfig): GeminiEndpoint {
  const vertex = config.vertex;
  const baseUrl =
    config.base_url ??
    (vertex === undefined
      ? 'https://generativelanguage.googleapis.com'
      : `https://${vertex.location === 'global' ? '' : `${vertex.location}-`}aiplatform.googleapis.com`);
  // A base_url that already names the API version ("https://host/v1beta") is not given a second one.
  const givenPath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
  const key = config.api_key;
  if (key !== undefined && key !== '') {
    if (vertex === undefined) headers['x-goog-api-key'] = key;
    else headers['authorization'] = `Bearer ${key}`;
  }
  const headerList = Object.entries(headers).flat();
  const query = (method: GeminiMethod): string => (method === 'streamGenerateContent' ? '?alt=sse' : '');
  if (vertex === undefined) {
    const version = /\/v1(beta)?$/.test(givenPath) ? '' : '/v1beta';
    return {
      vertex: false,
      baseUrl,
      headers: headerList,
      path: (model, method) =>
        `${version}/models/${encodeURIComponent(normaliseModel(model))}:${method}${query(method)}`,
    };
  }
  const version = /\/v1(beta1)?$/.test(givenPath) ? '' : '/v1';
  const prefix =
    `${version}/projects/${encodeURIComponent(vertex.project)}/locations/${encodeURIComponent(vertex.location)}` +
    '/publishers/google/models/';
  return {
    vertex: true,
    baseUrl,
    headers: headerList,
    path: (model, method) =>
      `${prefix}${encodeURIComponent(normaliseModel(model))}:${method}${query(method)}`,
  };
}
