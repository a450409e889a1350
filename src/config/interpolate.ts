/**
 * `${VAR}` interpolation over the parsed YAML tree, not the raw text: a value containing YAML syntax
 * (a colon, a quote) can then never change the document's structure. A scalar that is exactly one
 * reference takes the variable's YAML type, so `port: ${PORT}` yields a number. `$${X}` is a literal `${X}`.
 */
import { parse as parseYamlScalar } from 'yaml';

export interface InterpolationProblem {
  path: (string | number)[];
  message: string;
}

/** Where a whole `${VAR}` became a number or boolean, with the text it came from (see load.ts). */
export interface TypedSubstitution {
  path: (string | number)[];
  text: string;
}

const reference = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: InterpolationProblem[],
  typed: TypedSubstitution[] = [],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, problems, typed, path);
  if (Array.isArray(value))
    return value.map((item, i) => interpolate(item, env, problems, typed, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, problems, typed, [...path, k]);
    return out;
  }
  return value;
}

function interpolateString(
  text: string,
  env: Record<string, string | undefined>,
  problems: InterpolationProblem[],
  typed: TypedSubstitution[],
  path: (string | number)[],
): unknown {
  if (!text.includes('$')) return text;
  const single = whole.exec(text);
  if (single) {
    const name = single[1] as string;
    const found = env[name];
    if (found === undefined) {
      problems.push({ path, message: `environment variable ${name} is not set` });
      return text;
    }
    const scalar: unknown = safeScalar(found);
    if (typeof scalar !== 'number' && typeof scalar !== 'boolean') return found;
    typed.push({ path, text: found });
    return scalar;
  }
  return text.replace(reference, (match, name: string | undefined) => {
    if (name === undefined) return '${';
    const found = env[name];
    if (found === undefined) {
      problems.push({ path, message: `environment variable ${name} is not set` });
      return match;
    }
    return found;
  });
}

function safeScalar(text: string): unknown {
  try {
    return parseYamlScalar(text);
  } catch {
    return text;
  }
}
