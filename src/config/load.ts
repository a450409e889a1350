/**
 * Loading a config: YAML → ${ENV} interpolation → schema validation. Every problem comes back with its
 * path (`models[1].targets[0].provider: unknown provider "x"`); nothing below config/ reads process.env or
 * raw YAML.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { configSchema, type Config } from './schema.js';
import { crossReferenceProblems } from './cross-references.js';
import { interpolate, type InterpolationProblem, type TypedSubstitution } from './interpolate.js';

export { ConfigError, demoConfigPath } from './config-error.js';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown field`);
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [`${formatPath(issue.path)}: required`];
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

/** Parses and validates config text. Throws ConfigError listing every problem. */
export function parseConfig(
  text: string,
  env: Record<string, string | undefined>,
  source = '<inline>',
): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    // The first errors locate the fault; the rest are usually its echoes.
    throw new ConfigError(
      source,
      doc.errors.slice(0, 3).map((e) => `yaml: ${e.message.split('\n')[0] ?? e.message}`),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['(root): expected a mapping']);
  }
  return validateConfig(raw, env, source);
}

/** Validates an already-parsed config tree (interpolating ${ENV} first). Throws ConfigError. */
export function validateConfig(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  source = '<inline>',
): Config {
  const envProblems: InterpolationProblem[] = [];
  const typed: TypedSubstitution[] = [];
  const interpolated = interpolate(raw, env, envProblems, typed);
  let result = configSchema.safeParse(interpolated, { reportInput: true });
  // A whole `${VAR}` takes the variable's YAML type so `port: ${PORT}` is a number; where the schema wants a
  // string (a numeric secret, say), the variable's text is what was meant.
  if (!result.success && typed.length > 0) {
    let retyped = false;
    for (const issue of result.error.issues) {
      if (issue.code !== 'invalid_type' || issue.expected !== 'string') continue;
      const hit = typed.find(
        (t) => t.path.length === issue.path.length && t.path.every((p, i) => p === issue.path[i]),
      );
      if (hit !== undefined) retyped = setAt(interpolated, hit.path, hit.text) || retyped;
    }
    if (retyped) result = configSchema.safeParse(interpolated, { reportInput: true });
  }
  const problems = envProblems.map((p) => `${formatPath(p.path)}: ${p.message}`);
  if (!result.success) problems.push(...result.error.issues.flatMap(formatIssue));
  for (const p of crossReferenceProblems(interpolated)) problems.push(`${formatPath(p.path)}: ${p.message}`);
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

function setAt(tree: unknown, path: (string | number)[], value: unknown): boolean {
  let node = tree as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object') return false;
    node = next as Record<string | number, unknown>;
  }
  node[path[path.length - 1] as string | number] = value;
  return true;
}

export async function loadConfigFile(path: string, env: Record<string, string | undefined>): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(path, [`(file): ${reason}`]);
  }
  return parseConfig(text, env, path);
}
