// Reads test/fixtures/anthropic/* for the unit tests, from the source tree whether the tests run from src
// (type stripping) or from a build directory (dist*/src/...): it walks up to the folder that holds them.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'anthropic');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('test/fixtures/anthropic not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function fixture(name: string): Buffer {
  return readFileSync(join(fixturesDir(), name));
}
