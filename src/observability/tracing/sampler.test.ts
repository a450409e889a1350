import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTraceId } from './random-ids.js';
import { createSampler } from './sampler.js';

const ids = Array.from({ length: 20_000 }, () => newTraceId());

test('traceidratio samples the ratio of random trace ids, and the same ids at any replica', () => {
  for (const ratio of [0.01, 0.1, 0.5]) {
    const sample = createSampler({ root: 'traceidratio', ratio, parentBased: false });
    const share = ids.filter((id) => sample(id, false, false)).length / ids.length;
    const sd = Math.sqrt((ratio * (1 - ratio)) / ids.length);
    assert.ok(Math.abs(share - ratio) < 5 * sd, `ratio ${ratio}: sampled ${share}`);
    const again = createSampler({ root: 'traceidratio', ratio, parentBased: false });
    assert.ok(ids.every((id) => sample(id, false, false) === again(id, false, false)));
  }
});

test('a lower ratio samples a subset of what a higher one samples (consistent sampling)', () => {
  const low = createSampler({ root: 'traceidratio', ratio: 0.1, parentBased: false });
  const high = createSampler({ root: 'traceidratio', ratio: 0.3, parentBased: false });
  assert.ok(ids.every((id) => !low(id, false, false) || high(id, false, false)));
});

test('ratio 0 and 1, always_on and always_off', () => {
  const none = createSampler({ root: 'traceidratio', ratio: 0, parentBased: false });
  const all = createSampler({ root: 'traceidratio', ratio: 1, parentBased: false });
  assert.ok(ids.every((id) => !none(id, false, false) && all(id, false, false)));
  assert.equal(
    createSampler({ root: 'always_on', ratio: 0, parentBased: false })(ids[0] as string, false, false),
    true,
  );
  assert.equal(
    createSampler({ root: 'always_off', ratio: 1, parentBased: false })(ids[0] as string, false, false),
    false,
  );
  // The largest and smallest randomness values.
  assert.equal(none('f'.repeat(32), false, false), false);
  assert.equal(all('0'.repeat(31) + '1', false, false), true);
});

test("parent-based follows the client's flag; the root sampler decides only new traces", () => {
  const sample = createSampler({ root: 'traceidratio', ratio: 0, parentBased: true });
  assert.equal(sample(ids[0] as string, true, true), true);
  assert.equal(sample(ids[0] as string, true, false), false);
  assert.equal(sample(ids[0] as string, false, false), false);
  const everything = createSampler({ root: 'always_on', ratio: 1, parentBased: true });
  assert.equal(everything(ids[0] as string, true, false), false, 'an unsampled parent is not overruled');
  const notParentBased = createSampler({ root: 'always_on', ratio: 1, parentBased: false });
  assert.equal(notParentBased(ids[0] as string, true, false), true);
});
