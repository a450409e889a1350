/**
 * An Anthropic stream passed to an Anthropic client as the upstream's bytes (providers/http/raw-stream.ts),
 * watched by AnthropicSseTap for the first token, usage, a cut (no message_stop) and an in-stream error.
 */
import type { Dispatcher } from 'undici';
import type { AttemptDeadline } from '../http/attempt-deadline.js';
import { openRawStream as openBytes } from '../http/raw-stream.js';
import type { RawStream, UpstreamCall } from '../provider.js';
import { streamErrorOf } from './errors.js';
import { AnthropicSseTap } from './sse-tap.js';

export function openRawStream(
  response: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  call: UpstreamCall<unknown>,
  providerName: string,
): Promise<RawStream> {
  const tap = new AnthropicSseTap();
  return openBytes(response, deadline, call, providerName, {
    observe: (chunk) => tap.observe(chunk),
    get done() {
      return tap.done;
    },
    get usage() {
      return tap.usage;
    },
    failure: () => (tap.error === undefined ? undefined : streamErrorOf(tap.error, providerName)),
  });
}
