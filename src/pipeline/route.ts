/**
 * Resolves the requested model to its route and picks the target. A model the key may not use answers
 * exactly like an unknown one (404 model_not_found, as OpenAI does), so keys cannot probe the catalog.
 */
import { GatewayError } from '../errors/gateway-error.js';
import { pickTarget, type Catalog } from '../routing/catalog.js';
import type { Stage } from './context.js';

export function route(catalog: Catalog): Stage {
  return async (ctx, next) => {
    const name = ctx.requestedModel as string;
    const model = catalog.get(name);
    const allowed = ctx.key?.models;
    if (model === undefined || (allowed !== undefined && !allowed.has(name))) {
      throw new GatewayError(
        'model_not_found',
        `The model \`${name.slice(0, 200)}\` does not exist or this key does not have access to it.`,
        {
          param: 'model',
        },
      );
    }
    ctx.model = model;
    ctx.target = pickTarget(model);
    return next();
  };
}
