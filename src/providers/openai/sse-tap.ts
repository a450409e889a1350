/**
 * Watches OpenAI SSE bytes as they pass through, without re-framing them: it notices the first token and
 * picks up the usage chunk. Decoding is latin1 (one char per byte, the cheapest) because only ASCII markers
 * and the ASCII usage object are read; text content is never interpreted here.
 */
import { usageFromOpenAIText, type Usage } from '../../canonical/usage.js';
import { GatewayError } from '../../errors/gateway-error.js';

const usageMarker = '"usage":{';
// Markers of a chunk that carries output, as opposed to the role-only opening chunk.
const tokenMarkers = [
  /"content":"[^"]/,
  /"tool_calls":\[/,
  /"refusal":"[^"]/,
  /"reasoning(_content)?":"[^"]/,
  /"finish_reason":"/,
];
// An incomplete line longer than this is content, never a usage line: stop carrying it.
const maxCarry = 256 * 1024;

export class OpenAISseTap {
  usage: Usage | undefined;
  /** True once `data: [DONE]` passed: a stream that ends without it was cut. */
  done = false;
  /** Set when the upstream sent its own error frame (`data: {"error":...}`), which the client then has. */
  private error: GatewayError | undefined;

  constructor(private readonly providerName = 'upstream') {}

  failure(): GatewayError | undefined {
    return this.error;
  }
  private sawToken = false;
  /** The incomplete last line of the previous chunk, so markers split across reads are still seen. */
  private carry = '';

  /** Returns true for the chunk that carried the first token. */
  observe(chunk: Buffer): boolean {
    const text = this.carry === '' ? chunk.toString('latin1') : this.carry + chunk.toString('latin1');
    let first = false;
    if (!this.sawToken && tokenMarkers.some((marker) => marker.test(text))) {
      this.sawToken = true;
      first = true;
    }
    if (!this.done && text.includes('data: [DONE]')) this.done = true;
    if (this.error === undefined && text.includes('data: {"error"')) {
      this.error = new GatewayError(
        'upstream_error',
        `provider ${this.providerName} reported an error inside the stream`,
      );
    }
    let at = text.indexOf(usageMarker);
    while (at !== -1) {
      const end = text.indexOf('\n', at);
      if (end === -1) break;
      const line = text.slice(text.lastIndexOf('\n', at) + 1, end);
      if (line.startsWith('data:')) this.readUsage(line.slice(5));
      at = text.indexOf(usageMarker, end);
    }
    const lastNewline = text.lastIndexOf('\n');
    this.carry = lastNewline === text.length - 1 ? '' : text.slice(lastNewline + 1);
    if (this.carry.length > maxCarry) this.carry = '';
    return first;
  }

  private readUsage(line: string): void {
    // Only the text after the real (unescaped) key counts; an escaped one inside content never matches.
    const at = line.indexOf(usageMarker);
    this.usage = usageFromOpenAIText(line.slice(at)) ?? this.usage;
  }
}
