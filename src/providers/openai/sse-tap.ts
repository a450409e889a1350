/**
 * Watches OpenAI SSE bytes as they pass through, without re-framing them: it notices the first token and
 * picks up the usage chunk. Decoding is latin1 (one char per byte, the cheapest) because only ASCII markers
 * and the ASCII usage object are read; text content is never interpreted here.
 */
import { usageFromOpenAI, type Usage } from '../../canonical/usage.js';

const usageMarker = '"usage":{';
// Markers of a chunk that carries output, as opposed to the role-only opening chunk.
const tokenMarkers = [/"content":"[^"]/, /"tool_calls":\[/, /"refusal":"[^"]/, /"reasoning(_content)?":"[^"]/, /"finish_reason":"/];

export class OpenAISseTap {
  usage: Usage | undefined;
  /** True once `data: [DONE]` passed: a stream that ends without it was cut. */
  done = false;
  private sawToken = false;
  private carry = '';

  /** Returns true for the chunk that carried the first token. */
  observe(chunk: Buffer): boolean {
    const text = this.carry + chunk.toString('latin1');
    let first = false;
    if (!this.sawToken && tokenMarkers.some((marker) => marker.test(text))) {
      this.sawToken = true;
      first = true;
    }
    if (!this.done && text.includes('[DONE]')) this.done = true;
    this.carry = this.scanUsage(text);
    return first;
  }

  private scanUsage(text: string): string {
    let from = 0;
    let at = text.indexOf(usageMarker);
    while (at !== -1) {
      const end = text.indexOf('\n', at);
      const start = text.lastIndexOf('data:', at);
      if (end === -1) return start === -1 ? '' : text.slice(start);
      if (start !== -1) {
        try {
          const parsed = JSON.parse(text.slice(start + 5, end)) as { usage?: unknown };
          this.usage = usageFromOpenAI(parsed.usage) ?? this.usage;
        } catch {
          // A marker inside content text, not a usage object: ignore it.
        }
      }
      from = end;
      at = text.indexOf(usageMarker, end);
    }
    // Keep enough of the end to catch a marker split across two chunks.
    return text.length - from > usageMarker.length ? text.slice(text.length - usageMarker.length) : text.slice(from);
  }
}
