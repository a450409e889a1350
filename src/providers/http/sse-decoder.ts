/**
 * Incremental server-sent-events decoding for the translating adapters, on eventsource-parser (the parser
 * the Vercel AI SDK and the official SDKs' ecosystem use). Bytes are decoded as a UTF-8 stream, so a
 * character split across two network reads is joined, never replaced with U+FFFD.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { StreamPart } from '../../canonical/chat.js';
import type { StreamDecoder } from './translated-stream.js';

/** Handles one event; pushes the parts it completes onto `out`. Throws a GatewayError for an error event. */
export type SseEventHandler = (event: EventSourceMessage, out: StreamPart[]) => void;

export interface SseTranslator {
  onEvent: SseEventHandler;
  /** Called when the body ends: push closing parts, or throw when the stream ended before its last event. */
  onEnd(out: StreamPart[]): void;
}

export function sseDecoder(translator: SseTranslator): StreamDecoder {
  const text = new TextDecoder('utf-8');
  let out: StreamPart[] = [];
  let failure: unknown;
  const parser = createParser({
    onEvent(event) {
      if (failure !== undefined) return;
      try {
        translator.onEvent(event, out);
      } catch (error) {
        failure = error;
      }
    },
  });
  const take = (): StreamPart[] => {
    if (failure !== undefined) throw failure;
    const parts = out;
    out = [];
    return parts;
  };
  return {
    push(chunk) {
      parser.feed(text.decode(chunk, { stream: true }));
      return take();
    },
    end() {
      parser.feed(text.decode());
      // A last event without its blank line still counts, as browsers' EventSource does not, but SDKs do.
      parser.feed('\n\n');
      const parts = take();
      translator.onEnd(parts);
      return parts;
    },
  };
}
