/**
 * ConverseStream's body: binary `application/vnd.amazon.eventstream` messages
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html gives the framing: a
 * 12-byte prelude of total length, headers length and prelude CRC32, then headers, payload and a message
 * CRC32), decoded as the bytes arrive into canonical parts.
 *
 * EventStreamCodec checks and parses one whole message; the framer in front of it cuts the byte stream into
 * messages, wherever the network split them, using the total length in each prelude.
 */
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { FinishReason, StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { StreamDecoder } from '../http/translated-stream.js';
import { finishOf, isObject, usageFromConverse } from './response.js';
import { type Json } from '../../canonical/json.js';

/** Smallest message: prelude plus the message CRC, no headers and no payload. */
const minimumMessageBytes = 16;
/** The event stream format caps a message at 16 MiB; a larger length is a corrupt prelude, not a big event. */
const maximumMessageBytes = 16 * 1024 * 1024;

/**
 * Cuts a byte stream into whole event stream messages. Chunks are kept as received until a message is
 * complete, then copied once: a message split over many small reads is never re-concatenated per read.
 */
export class EventStreamFramer {
  private pieces: Buffer[] = [];
  private buffered = 0;

  /** The whole messages `chunk` completes, as views of the received bytes where possible. */
  push(chunk: Buffer): Buffer[] {
    const messages: Buffer[] = [];
    let data: Buffer;
    if (this.buffered === 0) {
      data = chunk;
    } else {
      this.pieces.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < 4 || this.buffered < this.lengthOfPending()) return messages;
      data = Buffer.concat(this.pieces, this.buffered);
      this.pieces = [];
      this.buffered = 0;
    }
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32BE(offset);
      checkLength(length);
      if (data.length - offset < length) break;
      messages.push(data.subarray(offset, offset + length));
      offset += length;
    }
    if (offset < data.length) {
      this.pieces.push(data.subarray(offset));
      this.buffered = data.length - offset;
    }
    return messages;
  }

  /** Bytes of an incomplete message left over. */
  get pending(): number {
    return this.buffered;
  }

  private lengthOfPending(): number {
    const first = this.pieces[0] as Buffer;
    const head = first.length >= 4 ? first : Buffer.concat(this.pieces, this.buffered).subarray(0, 4);
    const length = head.readUInt32BE(0);
    checkLength(length);
    return length;
  }
}

function checkLength(length: number): void {
  if (length < minimumMessageBytes || length > maximumMessageBytes) {
    throw new GatewayError('upstream_error', `event stream message with an impossible length (${length})`);
  }
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function headerString(message: Message, name: string): string | undefined {
  const header = message.headers[name];
  return header !== undefined && header.type === 'string' ? header.value : undefined;
}

/** A ConverseStream exception event → the GatewayError its kind means. */
export function streamException(type: string, payload: unknown, provider: string): GatewayError {
  const detail = isObject(payload) && typeof payload['message'] === 'string' ? `: ${payload['message']}` : '';
  const message = `provider ${provider} stream failed with ${type}${detail}`;
  switch (type) {
    case 'throttlingException':
      return new GatewayError('upstream_rate_limited', message);
    case 'serviceUnavailableException':
      return new GatewayError('upstream_overloaded', message, { retryAfterSeconds: 1 });
    case 'modelTimeoutException':
      return new GatewayError('upstream_timeout', message);
    default:
      // internalServerException, modelStreamErrorException, validationException, and newer kinds.
      return new GatewayError('upstream_error', message);
  }
}

interface BlockState {
  kind: 'text' | 'tool' | 'reasoning';
  /** For tools: the call's position among this answer's calls. */
  toolIndex: number;
  sawArguments: boolean;
  signature?: string;
  redacted?: string;
}

/**
 * ConverseStream events → canonical parts. Bedrock opens no block for text or reasoning (the first delta at
 * a new contentBlockIndex does), only for tool use (contentBlockStart carries the id and name). The answer
 * is complete at messageStop; metadata (usage) normally follows it.
 */
export function converseStreamDecoder(id: string, model: string, provider: string): StreamDecoder {
  const framer = new EventStreamFramer();
  const blocks = new Map<number, BlockState>();
  let tools = 0;
  let started = false;
  let stopped = false;

  const block = (index: number, kind: BlockState['kind']): BlockState => {
    let state = blocks.get(index);
    if (state === undefined) {
      state = { kind, toolIndex: kind === 'tool' ? tools++ : -1, sawArguments: false };
      blocks.set(index, state);
    }
    return state;
  };
  const start = (out: StreamPart[]): void => {
    if (started) return;
    started = true;
    out.push({ type: 'start', id, model, created: Math.floor(Date.now() / 1000) });
  };

  const onEvent = (type: string, event: Json, out: StreamPart[]): void => {
    switch (type) {
      case 'messageStart':
        start(out);
        return;
      case 'contentBlockStart': {
        start(out);
        const begin = event['start'];
        const use = isObject(begin) ? begin['toolUse'] : undefined;
        if (!isObject(use)) return;
        const state = block(indexOf(event), 'tool');
        out.push({
          type: 'tool-call-delta',
          choice: 0,
          index: state.toolIndex,
          id: typeof use['toolUseId'] === 'string' ? use['toolUseId'] : '',
          name: typeof use['name'] === 'string' ? use['name'] : '',
          argumentsDelta: '',
        });
        return;
      }
      case 'contentBlockDelta': {
        start(out);
        const delta = event['delta'];
        if (!isObject(delta)) return;
        const index = indexOf(event);
        if (typeof delta['text'] === 'string') {
          block(index, 'text');
          if (delta['text'] !== '') out.push({ type: 'text-delta', choice: 0, text: delta['text'] });
        } else if (isObject(delta['toolUse'])) {
          const input = delta['toolUse']['input'];
          const state = block(index, 'tool');
          if (typeof input === 'string' && input !== '') {
            state.sawArguments = true;
            out.push({ type: 'tool-call-delta', choice: 0, index: state.toolIndex, argumentsDelta: input });
          }
        } else if (isObject(delta['reasoningContent'])) {
          const reasoning = delta['reasoningContent'];
          const state = block(index, 'reasoning');
          if (typeof reasoning['text'] === 'string' && reasoning['text'] !== '') {
            out.push({ type: 'reasoning-delta', choice: 0, text: reasoning['text'] });
          }
          if (typeof reasoning['signature'] === 'string') state.signature = reasoning['signature'];
          if (typeof reasoning['redactedContent'] === 'string') state.redacted = reasoning['redactedContent'];
        }
        return;
      }
      case 'contentBlockStop': {
        const state = blocks.get(indexOf(event));
        if (state?.kind === 'reasoning') {
          out.push({
            type: 'reasoning-end',
            choice: 0,
            ...(state.signature === undefined ? {} : { signature: state.signature }),
            ...(state.redacted === undefined ? {} : { redacted: state.redacted }),
          });
        } else if (state?.kind === 'tool' && !state.sawArguments) {
          // A call without arguments streams none; OpenAI clients expect a JSON object.
          out.push({ type: 'tool-call-delta', choice: 0, index: state.toolIndex, argumentsDelta: '{}' });
        }
        return;
      }
      case 'messageStop': {
        start(out);
        stopped = true;
        const reason: FinishReason = finishOf(event['stopReason']);
        out.push({ type: 'finish', choice: 0, reason });
        return;
      }
      case 'metadata': {
        const usage = usageFromConverse(event['usage']);
        if (usage !== undefined) out.push({ type: 'usage', usage });
        return;
      }
      default:
        // Events newer than this decoder (citations, guardrail traces, ...) carry nothing it can express.
        return;
    }
  };

  const onMessage = (bytes: Buffer, out: StreamPart[]): void => {
    let message: Message;
    try {
      message = codec.decode(bytes);
    } catch (error) {
      throw new GatewayError('upstream_error', `provider ${provider} sent a corrupt event stream message`, {
        cause: error,
      });
    }
    const messageType = headerString(message, ':message-type');
    if (messageType === 'error') {
      const code = headerString(message, ':error-code') ?? 'UnknownError';
      const text = headerString(message, ':error-message');
      throw new GatewayError(
        'upstream_error',
        `provider ${provider} stream failed with ${code}${text === undefined ? '' : `: ${text}`}`,
      );
    }
    const payload = parsePayload(message.body, provider);
    if (messageType === 'exception') {
      throw streamException(headerString(message, ':exception-type') ?? 'exception', payload, provider);
    }
    if (messageType !== 'event' || !isObject(payload)) return;
    onEvent(headerString(message, ':event-type') ?? '', payload, out);
  };

  /**
   * An exception event that arrives in the same read as parts before it: those parts are delivered first
   * and the failure is thrown at the next call, so the client sees the tokens it was sent, then the error.
   */
  let failure: unknown;
  return {
    push(chunk) {
      if (failure !== undefined) throw failure;
      const out: StreamPart[] = [];
      try {
        for (const message of framer.push(chunk)) onMessage(message, out);
      } catch (error) {
        if (out.length === 0) throw error;
        failure = error;
      }
      return out;
    },
    end() {
      if (failure !== undefined) throw failure;
      if (!stopped || framer.pending > 0) {
        throw new GatewayError('upstream_stream_interrupted', `provider ${provider} ended the stream early`);
      }
      return [];
    },
  };
}

function indexOf(event: Json): number {
  const index = event['contentBlockIndex'];
  return typeof index === 'number' ? index : 0;
}

function parsePayload(body: Uint8Array, provider: string): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new GatewayError('upstream_error', `provider ${provider} sent a malformed stream event`, {
      cause: error,
    });
  }
}
