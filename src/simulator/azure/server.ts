// The simulator's Azure OpenAI paths, served with --format openai (Azure speaks OpenAI's wire format):
// - POST /openai/deployments/{deployment}/chat/completions|embeddings?api-version=V (the deployment is the
//   model when the body names none, as Azure ignores the body's model on these paths);
// - POST /openai/v1/chat/completions|embeddings (the v1 API: the deployment name is the body's `model`).
// Auth is the `api-key` header; Azure's own errors (401, a missing api-version, an unknown path) use its
// `{"error":{"code","message"}}` envelope, everything past routing is the OpenAI handlers' answers.
import { randomUUID } from 'node:crypto';
import type { SimulatorContext } from '../context.js';
import { handleChat } from '../chat.js';
import { handleEmbeddings } from '../embeddings.js';
import { invalidJson, invalidMethod } from '../errors.js';
import type { Exchange, VendorHeaders } from '../exchange.js';
import type { FormatRequest, FormatServer } from '../formats.js';
import { isObject } from '../request.js';

type Handler = (ex: Exchange, body: unknown, ctx: SimulatorContext) => void;

const handlers: Record<string, Handler> = { 'chat/completions': handleChat, embeddings: handleEmbeddings };

const deploymentPath = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/;
const v1Path = /^\/openai\/v1\/(chat\/completions|embeddings)$/;

function azureError(ex: Exchange, status: number, code: string, message: string): void {
  ex.sendJson(status, JSON.stringify({ error: { code, message } }));
}

const accessDenied =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key ' +
  'for an active subscription and use a correct regional API endpoint for your resource.';

/**
 * Azure's API Management front: `apim-request-id` (the correlation id of Azure's logs) and the service's own
 * `x-request-id`, both UUIDs, the region, and the processing time of the OpenAI service behind it.
 */
const azureHeaders: VendorHeaders = (ex, headers) => {
  headers.push(
    'apim-request-id',
    randomUUID(),
    'x-request-id',
    randomUUID(),
    'x-ms-region',
    'East US',
    'openai-processing-ms',
    String(ex.elapsedMs()),
  );
};

export const azureFormat: FormatServer = {
  format: 'openai',
  vendorHeaders: azureHeaders,
  serve(ex: Exchange, request: FormatRequest, ctx: SimulatorContext): boolean {
    const path = request.path;
    if (!path.startsWith('/openai/')) return false;
    const deployment = deploymentPath.exec(path);
    const v1 = deployment === null ? v1Path.exec(path) : null;
    const endpoint = deployment?.[2] ?? v1?.[1];
    if (endpoint === undefined) {
      request.record();
      azureError(ex, 404, '404', 'Resource not found');
      return true;
    }
    if (request.method !== 'POST') {
      request.record();
      ex.sendError(invalidMethod(request.method, path), ['allow', 'POST']);
      return true;
    }
    const handler = handlers[endpoint] as Handler;
    const name = deployment === null ? undefined : decodeURIComponent(deployment[1] as string);
    request.readBody((text) => {
      // Azure routes on the api-version before it looks at the key: a deployment path without one is no route.
      const version = request.query.get('api-version');
      if (name !== undefined && (version === null || version === '')) {
        return azureError(ex, 404, '404', 'Resource not found');
      }
      const key = ex.req.headers['api-key'];
      if (request.apiKey !== undefined && key !== request.apiKey) {
        return azureError(ex, 401, '401', accessDenied);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return ex.sendError(invalidJson());
      }
      if (name !== undefined && isObject(body) && (body['model'] === undefined || body['model'] === null)) {
        body = { ...body, model: name };
      }
      handler(ex, body, ctx);
    });
    return true;
  },
};
