// Reads the recorded Bedrock fixtures (test/fixtures/bedrock/) for the unit tests, from dist/ or src/ alike.
import { readFileSync } from 'node:fs';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const root = new URL('../../../../test/fixtures/bedrock/', import.meta.url);

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, root), 'utf8')) as T;
}

interface TranscriptMessage {
  event?: string;
  exception?: string;
  payload: unknown;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** A stream transcript fixture as the event stream bytes Bedrock sends. */
export function transcriptBytes(name: string): Buffer {
  const { messages } = fixture<{ messages: TranscriptMessage[] }>(name);
  const frames = messages.map((message) => {
    const headers: MessageHeaders =
      message.exception === undefined
        ? {
            ':event-type': { type: 'string' as const, value: message.event as string },
            ':message-type': { type: 'string' as const, value: 'event' },
          }
        : {
            ':exception-type': { type: 'string' as const, value: message.exception },
            ':message-type': { type: 'string' as const, value: 'exception' },
          };
    const bytes = codec.encode({
      headers: {
        ...headers,
        ':content-type': { type: 'string', value: 'application/json' },
      } as MessageHeaders,
      body: fromUtf8(JSON.stringify(message.payload)),
    });
    return Buffer.from(bytes);
  });
  return Buffer.concat(frames);
}
