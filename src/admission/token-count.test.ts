import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultOutputReservation,
  imageTokens,
  loadTokenCounter,
  promptTokens,
  reservedTokens,
} from './token-count.js';

test('o200k counts real tokens, not characters', async () => {
  const counter = await loadTokenCounter();
  assert.equal(counter.count('hello world'), 2);
  assert.equal(counter.count(''), 0);
  // Character-based guesses are far off for non-English text; a real tokenizer is not.
  const japanese = 'こんにちは世界';
  assert.ok(counter.count(japanese) < japanese.length * 2);
  assert.ok(counter.count(' the'.repeat(1000)) === 1000);
});

test('a chat request counts messages, framing, tool calls, tools and images', async () => {
  const counter = await loadTokenCounter();
  const plain = promptTokens({ messages: [{ role: 'user', content: 'hello world' }] }, counter);
  assert.equal(plain, 3 + 3 + 2);
  const withParts = promptTokens(
    {
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'hello world' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
    },
    counter,
  );
  assert.equal(withParts, 3 + (3 + counter.count('Be brief.')) + (3 + 2 + imageTokens));
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
  const withTools = promptTokens({ messages: [{ role: 'user', content: 'hello world' }], tools }, counter);
  assert.equal(withTools, plain + counter.count(JSON.stringify(tools)));
});

test('the reservation adds the output cap, or a default when the request names none', async () => {
  const counter = await loadTokenCounter();
  const messages = [{ role: 'user', content: 'hello world' }];
  assert.equal(reservedTokens({ messages, max_tokens: 100 }, counter), 8 + 100);
  assert.equal(reservedTokens({ messages, max_completion_tokens: 50, max_tokens: 100 }, counter), 8 + 50);
  assert.equal(reservedTokens({ messages }, counter), 8 + defaultOutputReservation);
  assert.equal(reservedTokens({ messages, max_tokens: -1 }, counter), 8 + defaultOutputReservation);
});
