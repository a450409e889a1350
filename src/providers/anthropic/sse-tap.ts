/**
 * Watches Anthropic SSE bytes that pass through to an Anthropic client unchanged: it notices the first
 * token, reads usage (input and cache tokens at message_start, output tokens at message_delta), and knows
 * whether the stream ended properly (message_stop) or with an `event: error`. Text is decoded as latin1,
 * one char per byte, because only ASCII event names are matched; only the two small usage-bearing data
 * lines (message_start's content is still empty) are ever parsed.
 */
import type { Usage } from '../../canonical/usage.js';
import { usageFromAnthropic } from './response.js';
import { isObject, type Json } from '../../canonical/json.js';

// An incomplete line longer than this is content, never an event name or a usage line: stop carrying it.
const maxCarry = 256 * 1024;

export class AnthropicSseTap {
  /** True once message_stop passed: a stream that ends without it was cut. */
  done = false;
  /** The payload of an `event: error`, when the upstream failed midway. */
  error: unknown = undefined;
  private startUsage: Json | undefined;
  private finalUsage: Json | undefined;
  private sawToken = false;
  private event = '';
  /** The incomplete last line of the previous chunk. */
  private carry = '';

  get usage(): Usage | undefined {
    const merged = this.startUsage === undefined ? this.finalUsage : { ...this.startUsage };
    if (merged === undefined) return undefined;
    if (this.startUsage !== undefined && this.finalUsage !== undefined) {
      for (const [key, value] of Object.entries(this.finalUsage)) if (value !== null) merged[key] = value;
    }
    return usageFromAnthropic(merged);
  }

  /** Returns true for the chunk that carried the first token. */
  observe(chunk: Buffer): boolean {
    const text = this.carry === '' ? chunk.toString('latin1') : this.carry + chunk.toString('latin1');
    let first = false;
    let at = 0;
    for (let end = text.indexOf('\n', at); end !== -1; at = end + 1, end = text.indexOf('\n', at)) {
      if (text.startsWith('event:', at)) {
        this.event = text.slice(at + 6, end).trim();
        if (this.event === 'message_stop') this.done = true;
        else if (!this.sawToken && this.event === 'content_block_delta') {
          this.sawToken = true;
          first = true;
        }
      } else if (
        text.startsWith('data:', at) &&
        (this.event === 'message_start' || this.event === 'message_delta' || this.event === 'error')
      ) {
        this.readData(Buffer.from(text.slice(at + 5, end), 'latin1').toString('utf8'));
      }
    }
    this.carry = at === text.length || text.length - at > maxCarry ? '' : text.slice(at);
    return first;
  }

  private readData(line: string): void {
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      return;
    }
    if (!isObject(data)) return;
    if (this.event === 'error') {
      this.error = data;
    } else if (this.event === 'message_start') {
      const message = data['message'];
      if (isObject(message) && isObject(message['usage'])) this.startUsage = message['usage'];
    } else if (isObject(data['usage'])) {
      this.finalUsage = data['usage'];
    }
  }
}

const usageKey = Buffer.from('"usage"');

const isJsonSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads `usage` off a whole Message body without parsing the rest: Anthropic writes it last, so it is
 * found from the end. Inside JSON strings quotes are escaped, so an unescaped `"usage"` is a real key.
 */
export function usageOfAnthropicBody(body: Buffer): Usage | undefined {
  const at = body.lastIndexOf(usageKey);
  if (at === -1) return undefined;
  let start = at + usageKey.length;
  while (isJsonSpace(body[start])) start++;
  if (body[start++] !== 0x3a) return undefined;
  while (isJsonSpace(body[start])) start++;
  if (body[start] !== 0x7b) return undefined;
  let depth = 0;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        const usage: unknown = JSON.parse(body.toString('utf8', start, i + 1));
        return isObject(usage) ? usageFromAnthropic(usage) : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
