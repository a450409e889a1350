import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compose } from './compose.js';
import type { RequestContext, Stage } from './context.js';

test('stages run as an onion, in order before next() and in reverse after', async () => {
  const trace: string[] = [];
  const stage =
    (name: string): Stage =>
    async (_ctx, next) => {
      trace.push(`${name}>`);
      await next();
      trace.push(`<${name}`);
    };
  await compose([stage('a'), stage('b'), stage('c')])({} as RequestContext);
  assert.deepEqual(trace, ['a>', 'b>', 'c>', '<c', '<b', '<a']);
});

test('a stage that throws rejects to the stage around it; next() twice is an error', async () => {
  const boom: Stage = async () => {
    throw new Error('boom');
  };
  let caught: unknown;
  const outer: Stage = async (_ctx, next) => {
    try {
      await next();
    } catch (error) {
      caught = error;
    }
  };
  await compose([outer, boom])({} as RequestContext);
  assert.equal((caught as Error).message, 'boom');
  const twice: Stage = async (_ctx, next) => {
    await next();
    await next();
  };
  await assert.rejects(compose([twice])({} as RequestContext), /next\(\) called twice/);
});

test('a subscriber that throws never reaches the publisher', async () => {
  const { publish, requestEnd, subscribe } = await import('../observability/events.js');
  const seen: unknown[] = [];
  const offBroken = subscribe(requestEnd, () => {
    throw new Error('broken subscriber');
  });
  const offGood = subscribe(requestEnd, (message) => seen.push(message));
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.message);
  };
  process.on('warning', onWarning);
  try {
    assert.doesNotThrow(() => publish(requestEnd, 'one'));
    publish(requestEnd, 'two');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['one', 'two']);
    assert.equal(warnings.filter((w) => w.includes('broken subscriber')).length, 1, 'warned once');
  } finally {
    process.off('warning', onWarning);
    offBroken();
    offGood();
  }
});
