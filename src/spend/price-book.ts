/**
 * The prices of the configured targets, resolved once at start: a target's own `price`, else its model's,
 * else the maintained table's entry for the upstream model id (prices.ts). A target with none of these
 * costs nothing to budgets, and the gateway says so at start (`unpriced`).
 *
 * The worst case of a model is taken over every target a request to it may reach: its own and those of
 * its fallbacks (all three lists, transitively), at the highest input and the highest output price among
 * them, so a reservation covers whichever target ends up answering.
 */
import type { Usage } from '../canonical/usage.js';
import type { Config } from '../config/schema.js';
import {
  costUsd,
  highestInputPerMtok,
  lookupPrice,
  priceFromConfig,
  worstCaseCostUsd,
  type Price,
} from './prices.js';

export class PriceBook {
  /**
   * By model name, then target id: two lookups with the strings the request already holds (whose hashes
   * V8 keeps) rather than one with a key concatenated per request, which had to be built and hashed anew.
   */
  private readonly byTarget = new Map<string, Map<string, Price | undefined>>();
  /** By target id alone, for an answer from a fallback model's target (the first model's price wins). */
  private readonly byId = new Map<string, Price>();
  private readonly worst = new Map<string, Price>();
  /** `model: provider/upstream-model` of targets whose price is unknown. */
  readonly unpriced: string[] = [];

  constructor(models: Config['models']) {
    const byName = new Map(models.map((m) => [m.name, m]));
    for (const m of models) {
      for (const t of m.targets) {
        const price =
          t.price !== undefined
            ? priceFromConfig(t.price)
            : m.price !== undefined
              ? priceFromConfig(m.price)
              : lookupPrice(t.model);
        const id = `${t.provider}/${t.model}`;
        let targets = this.byTarget.get(m.name);
        if (targets === undefined) this.byTarget.set(m.name, (targets = new Map()));
        targets.set(id, price);
        if (price !== undefined && !this.byId.has(id)) this.byId.set(id, price);
        if (price === undefined) this.unpriced.push(`${m.name}: ${id}`);
      }
    }
    for (const m of models) {
      const seen = new Set<string>();
      const pending = [m.name];
      const top: Price = { inputPerMtok: 0, outputPerMtok: 0 };
      while (pending.length > 0) {
        const name = pending.pop() as string;
        if (seen.has(name)) continue;
        seen.add(name);
        const model = byName.get(name);
        if (model === undefined) continue;
        for (const t of model.targets) {
          const price = this.byTarget.get(name)?.get(`${t.provider}/${t.model}`);
          if (price === undefined) continue;
          // Cache writes may cost more than plain input: the worst case prices every input token at the
          // highest of the target's input rates.
          top.inputPerMtok = Math.max(top.inputPerMtok, highestInputPerMtok(price));
          top.outputPerMtok = Math.max(top.outputPerMtok, price.outputPerMtok);
        }
        pending.push(...model.fallbacks, ...model.context_fallbacks, ...model.policy_fallbacks);
      }
      this.worst.set(m.name, top);
    }
  }

  /** The most a request of these tokens to this model may cost, whichever target answers. */
  worstCaseUsd(model: string, inputTokens: number, maxOutputTokens: number): number {
    const price = this.worst.get(model);
    return price === undefined ? 0 : worstCaseCostUsd(price, inputTokens, maxOutputTokens);
  }

  /** What an answer cost: `targetId` is `provider/upstream-model` (Target.id) of the model it served. */
  costUsd(model: string, targetId: string, usage: Usage): number {
    const price = this.byTarget.get(model)?.get(targetId) ?? this.byId.get(targetId);
    return price === undefined ? 0 : costUsd(price, usage);
  }
}
