/**
 * Mistral's answers are OpenAI's shape with two departures an OpenAI client would trip on:
 * - `finish_reason: "model_length"` (the model's context window ran out; OpenAI says "length");
 * - reasoning models (Magistral) answer `content` as a list of chunks, `{"type":"thinking","thinking":[..]}`
 *   and `{"type":"text","text":".."}`, where OpenAI has a string.
 * A whole answer is checked with two byte searches and only parsed when one of them hits; a stream is
 * rewritten on the fly (the `"model_length"` token), holding back at most a few bytes across chunks.
 */
import { isObject } from '../../canonical/json.js';

// Inside a JSON string a quote is escaped, so an unescaped `"model_length"` is a value, not content text.
const modelLength = Buffer.from('"model_length"');
const openAILength = Buffer.from('"length"');
// Mistral's API writes compact JSON; the spaced form is accepted too, for proxies that re-indent.
const contentLists = [Buffer.from('"content":['), Buffer.from('"content": [')];

function chunkText(chunks: unknown[]): { text: string; thinking: string } {
  let text = '';
  let thinking = '';
  for (const chunk of chunks) {
    if (!isObject(chunk)) continue;
    if (chunk['type'] === 'text' && typeof chunk['text'] === 'string') text += chunk['text'];
    else if (chunk['type'] === 'thinking') {
      const inner = chunk['thinking'];
      if (typeof inner === 'string') thinking += inner;
      else if (Array.isArray(inner)) thinking += chunkText(inner).text;
    }
  }
  return { text, thinking };
}

/**
 * The answer in OpenAI's vocabulary: `model_length` → `length`, chunk-list content → a string, with the
 * thinking as `reasoning_content` (the field OpenAI-compatible reasoning servers use). The same buffer when
 * nothing differs.
 */
export function normaliseMistralAnswer(body: Buffer): Buffer {
  if (!body.includes(modelLength) && !contentLists.some((marker) => body.includes(marker))) return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return body; // Not JSON: the caller's parser reports it.
  }
  if (!isObject(parsed) || !Array.isArray(parsed['choices'])) return body;
  for (const choice of parsed['choices']) {
    if (!isObject(choice)) continue;
    if (choice['finish_reason'] === 'model_length') choice['finish_reason'] = 'length';
    const message = choice['message'];
    if (isObject(message) && Array.isArray(message['content'])) {
      const { text, thinking } = chunkText(message['content']);
      message['content'] = text;
      if (thinking !== '') message['reasoning_content'] = thinking;
    }
  }
  return Buffer.from(JSON.stringify(parsed));
}

/**
 * Rewrites `"model_length"` to `"length"` in a byte stream split at arbitrary points. A chunk ending in a
 * proper prefix of the token keeps that tail back until the next chunk shows whether the token completes.
 */
export class FinishReasonRewriter {
  private carry: Buffer | undefined;

  push(chunk: Buffer): Buffer {
    let data = this.carry === undefined ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = undefined;
    if (data.includes(modelLength)) data = replaceAll(data);
    const keep = partialTail(data);
    if (keep === 0) return data;
    this.carry = data.subarray(data.length - keep);
    return data.subarray(0, data.length - keep);
  }

  /** What was held back, at the end of the stream. */
  flush(): Buffer {
    const rest = this.carry ?? Buffer.alloc(0);
    this.carry = undefined;
    return rest;
  }
}

function replaceAll(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let at: number;
  while ((at = data.indexOf(modelLength, from)) !== -1) {
    parts.push(data.subarray(from, at), openAILength);
    from = at + modelLength.length;
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

/** Length of the longest proper prefix of the token that `data` ends with (0 almost always). */
function partialTail(data: Buffer): number {
  const max = Math.min(modelLength.length - 1, data.length);
  for (let size = max; size > 0; size--) {
    if (data.compare(modelLength, 0, size, data.length - size) === 0) return size;
  }
  return 0;
}
