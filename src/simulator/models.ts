// GET /v1/models and GET /v1/models/{id}.
import { modelNotFound } from './errors.js';
import type { ApiError } from './errors.js';

// A fixed date, so responses are byte-for-byte reproducible.
const CREATED = 1_715_367_049;

const modelObject = (id: string): object => ({
  id,
  object: 'model',
  created: CREATED,
  owned_by: 'sluice-simulator',
});

/** Renders the list once per set of models: GET /v1/models is polled by health checks. */
export class ModelCatalog {
  private models: readonly string[] = [];
  private listBody = '';

  private refresh(models: readonly string[]): void {
    if (models === this.models) return;
    this.models = models;
    this.listBody = JSON.stringify({ object: 'list', data: models.map(modelObject) });
  }

  list(models: readonly string[]): string {
    this.refresh(models);
    return this.listBody;
  }

  /** Only listed models can be retrieved, as upstream; completions accept any model name. */
  retrieve(models: readonly string[], id: string): string | ApiError {
    return models.includes(id) ? JSON.stringify(modelObject(id)) : modelNotFound(id);
  }
}
