/** `GET /v1/models` and `/v1/models/{id}`: only the models the caller's key may use. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { openAIErrorBody } from '../formats/openai-error.js';
import { specOf } from '../errors/error-table.js';
import type { VirtualKey } from '../auth/virtual-keys.js';
import type { Stage } from '../pipeline/context.js';
import { RequestContext } from '../pipeline/context.js';
import type { Catalog, ModelRoute } from '../routing/catalog.js';

function modelObject(route: ModelRoute): Record<string, unknown> {
  return { id: route.name, object: 'model', created: route.created, owned_by: 'sluice' };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function fail(res: ServerResponse, error: GatewayError): void {
  res.writeHead(specOf(error.kind).status, { 'content-type': 'application/json' });
  res.end(openAIErrorBody(error));
}

export function listModels(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  auth: Stage,
  catalog: Catalog,
): void {
  // Reuse the authenticate stage as is, on a context of its own.
  const ctx = new RequestContext({}, '', 'chat', undefined, req, res, 0);
  let key: VirtualKey | undefined;
  auth(ctx, async () => {
    key = ctx.key;
  }).then(
    () => {
      const allowed = key?.models;
      const visible = (name: string): boolean => allowed === undefined || allowed.has(name);
      if (path.startsWith('/v1/models/')) {
        const id = safeDecode(path.slice('/v1/models/'.length));
        const model = catalog.get(id);
        if (model === undefined || !visible(id)) {
          fail(
            res,
            new GatewayError(
              'model_not_found',
              `The model \`${id.slice(0, 200)}\` does not exist or this key does not have access to it.`,
              { param: 'model' },
            ),
          );
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(modelObject(model)));
        return;
      }
      const data = [...catalog.all()].filter((m) => visible(m.name)).map(modelObject);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data }));
    },
    (error: unknown) =>
      fail(res, error instanceof GatewayError ? error : new GatewayError('internal', 'internal error')),
  );
}
