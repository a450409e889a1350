/**
 * Rules between parts of the config (a target's provider exists, names are unique, ...). They run on the
 * interpolated tree even when the schema found problems elsewhere, so one `sluice check` reports every
 * problem at once; hence the defensive reading of a tree that may not match the schema.
 */
import { providerKinds } from './schema.js';

export interface Problem {
  path: (string | number)[];
  message: string;
}

type Node = Record<string, unknown>;

function list(value: unknown): Node[] {
  return Array.isArray(value)
    ? value.map((item) => (item !== null && typeof item === 'object' ? (item as Node) : {}))
    : [];
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function crossReferenceProblems(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  if (raw === null || typeof raw !== 'object') return problems;
  const root = raw as Node;
  const providers = list(root['providers']);
  const models = list(root['models']);
  const keys = list(root['keys']);
  const teams = list(root['teams']);

  const unique = (items: Node[], where: string): Set<string> => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const name = str(item['name']);
      if (name === undefined) return;
      if (seen.has(name)) problems.push({ path: [where, i, 'name'], message: `duplicate name "${name}"` });
      seen.add(name);
    });
    return seen;
  };
  const providerNames = unique(providers, 'providers');
  const modelNames = unique(models, 'models');
  unique(keys, 'keys');
  const teamNames = unique(teams, 'teams');

  const known = new Set<string>(providerKinds);
  providers.forEach((p, i) => {
    const kind = str(p['kind']);
    if (kind === undefined) return;
    if (!known.has(kind)) {
      problems.push({
        path: ['providers', i, 'kind'],
        message: `unknown provider kind "${kind}" (expected one of: ${providerKinds.join(', ')})`,
      });
    } else if ((kind === 'openai-compatible' || kind === 'azure') && p['base_url'] === undefined) {
      problems.push({ path: ['providers', i, 'base_url'], message: `required for kind "${kind}"` });
    }
  });

  models.forEach((m, i) => {
    list(m['targets']).forEach((t, j) => {
      const provider = str(t['provider']);
      if (provider !== undefined && !providerNames.has(provider)) {
        problems.push({
          path: ['models', i, 'targets', j, 'provider'],
          message: `unknown provider "${provider}"`,
        });
      }
    });
    for (const field of ['fallbacks', 'context_fallbacks', 'policy_fallbacks']) {
      names(m[field]).forEach((name, j) => {
        if (!modelNames.has(name))
          problems.push({ path: ['models', i, field, j], message: `unknown model "${name}"` });
        else if (name === m['name'])
          problems.push({ path: ['models', i, field, j], message: 'a model cannot fall back to itself' });
      });
    }
  });

  const secrets = new Set<string>();
  keys.forEach((k, i) => {
    names(k['models']).forEach((name, j) => {
      if (!modelNames.has(name))
        problems.push({ path: ['keys', i, 'models', j], message: `unknown model "${name}"` });
    });
    const team = str(k['team']);
    if (team !== undefined && teams.length > 0 && !teamNames.has(team)) {
      problems.push({ path: ['keys', i, 'team'], message: `unknown team "${team}"` });
    }
    const secret = str(k['key']);
    if (secret === undefined) return;
    // Two keys with one secret would make authentication ambiguous.
    if (secrets.has(secret))
      problems.push({ path: ['keys', i, 'key'], message: 'the same secret is used by another key' });
    secrets.add(secret);
  });
  return problems;
}
