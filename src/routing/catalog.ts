/**
 * The models clients may name and the targets behind each, resolved once from the config to adapters.
 * Picking among several targets is weighted random for now; routing strategies, fallbacks and breakers
 * (docs/routing.md) replace `pickTarget` without touching the stages around it.
 */
import type { ModelConfig, Timeouts } from '../config/schema.js';
import type { ProviderAdapter } from '../providers/provider.js';

export interface Target {
  provider: ProviderAdapter;
  /** The model name sent upstream. */
  model: string;
  weight: number;
  timeouts: Timeouts;
}

export interface ModelRoute {
  name: string;
  targets: Target[];
  totalWeight: number;
  created: number;
}

export class Catalog {
  private readonly byName = new Map<string, ModelRoute>();

  constructor(
    models: readonly ModelConfig[],
    providers: ReadonlyMap<string, { adapter: ProviderAdapter; timeouts: Timeouts }>,
    created: number,
  ) {
    for (const m of models) {
      const targets = m.targets.map((t) => {
        const provider = providers.get(t.provider);
        if (provider === undefined) throw new Error(`model ${m.name}: unknown provider ${t.provider}`);
        return { provider: provider.adapter, model: t.model, weight: t.weight, timeouts: provider.timeouts };
      });
      this.byName.set(m.name, {
        name: m.name,
        targets,
        totalWeight: targets.reduce((sum, t) => sum + t.weight, 0),
        created,
      });
    }
  }

  get(name: string): ModelRoute | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<ModelRoute> {
    return this.byName.values();
  }
}

export function pickTarget(route: ModelRoute, random: () => number = Math.random): Target {
  const targets = route.targets;
  if (targets.length === 1) return targets[0] as Target;
  let point = random() * route.totalWeight;
  for (const target of targets) {
    point -= target.weight;
    if (point < 0) return target;
  }
  return targets[targets.length - 1] as Target;
}
