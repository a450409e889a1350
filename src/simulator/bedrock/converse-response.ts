// The two answers of a Converse plan: the ConverseResponse JSON, and the ConverseStream event stream as
// binary `application/vnd.amazon.eventstream` messages (encoded with the AWS SDK's own codec) in the order
// Bedrock sends them: messageStart, per content block its deltas (a tool use block opens with
// contentBlockStart) and contentBlockStop, then messageStop and metadata (usage, metrics).
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { generateText, nextToken, TOKENS } from '../engine.js';
import type { PacedFrames } from '../pacer.js';
import { slices, usageOf, type ConversePlan } from './converse-plan.js';
import { INTERNAL, THROTTLED, UNAVAILABLE } from './errors.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const JSON_TYPE = { type: 'string', value: 'application/json' } as const;
const ARGUMENT_SLICE = 24;

function encode(headers: Record<string, { type: 'string'; value: string }>, payload: unknown): Buffer {
  const bytes = codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function eventFrame(type: string, payload: unknown): Buffer {
  return encode(
    {
      ':event-type': { type: 'string', value: type },
      ':content-type': JSON_TYPE,
      ':message-type': { type: 'string', value: 'event' },
    },
    payload,
  );
}

export function exceptionFrame(type: string): Buffer {
  const message =
    type === 'throttlingException'
      ? THROTTLED
      : type === 'serviceUnavailableException'
        ? UNAVAILABLE
        : type === 'modelStreamErrorException'
          ? 'The model stream failed while generating the response.'
          : INTERNAL;
  const payload: Record<string, unknown> = { message };
  if (type === 'modelStreamErrorException') {
    payload['originalStatusCode'] = 500;
    payload['originalMessage'] = 'model error';
  }
  return encode(
    {
      ':exception-type': { type: 'string', value: type },
      ':content-type': JSON_TYPE,
      ':message-type': { type: 'string', value: 'exception' },
    },
    payload,
  );
}

/**
 * The delta frame of every token at a block index, encoded once per process: a streamed token then costs
 * no JSON, no CRC and no allocation. Blocks 0 and 1 are the only text positions (1 after a reasoning block).
 */
const tokenFrames = new Map<number, Buffer[]>();

function tokenFramesAt(index: number): Buffer[] {
  let frames = tokenFrames.get(index);
  if (frames === undefined) {
    frames = TOKENS.map((text) =>
      eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { text } }),
    );
    tokenFrames.set(index, frames);
  }
  return frames;
}

const textDelta = (index: number, text: string): Buffer =>
  eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { text } });
const blockStop = (index: number): Buffer => eventFrame('contentBlockStop', { contentBlockIndex: index });

export function converseBody(plan: ConversePlan, latencyMs: number): string {
  const content: unknown[] = [];
  if (plan.reasoning !== undefined) content.push({ reasoningContent: { reasoningText: plan.reasoning } });
  switch (plan.content.kind) {
    case 'words':
      content.push({ text: generateText(plan.content.rng, plan.content.tokens) });
      break;
    case 'pieces':
      content.push({ text: plan.content.pieces.join('') });
      break;
    case 'tools':
      for (const call of plan.content.calls) {
        content.push({ toolUse: { toolUseId: call.id, name: call.name, input: call.input } });
      }
  }
  return JSON.stringify({
    output: { message: { role: 'assistant', content } },
    stopReason: plan.stopReason,
    usage: usageOf(plan),
    metrics: { latencyMs },
  });
}

/** The stream's steps: precomputed frames first (start, reasoning, JSON or tool blocks), then drawn words. */
export class ConverseFrames implements PacedFrames {
  readonly steps: number;
  private readonly head: Buffer[] = [eventFrame('messageStart', { role: 'assistant' })];
  private readonly words:
    { frames: Buffer[]; plan: ConversePlan & { content: { kind: 'words' } } } | undefined;
  /** Index of the block the ending closes, or -1 when every block is already closed. */
  private readonly openBlock: number;
  /** Steps after which the stream ends with the exception frame instead, or Infinity. */
  private readonly exceptionAt: number;

  constructor(
    private readonly plan: ConversePlan,
    private readonly latencyMs: () => number,
  ) {
    let index = 0;
    if (plan.reasoning !== undefined) {
      for (const piece of slices(plan.reasoning.text, 24)) {
        this.head.push(
          eventFrame('contentBlockDelta', {
            contentBlockIndex: 0,
            delta: { reasoningContent: { text: piece } },
          }),
        );
      }
      this.head.push(
        eventFrame('contentBlockDelta', {
          contentBlockIndex: 0,
          delta: { reasoningContent: { signature: plan.reasoning.signature } },
        }),
        blockStop(0),
      );
      index = 1;
    }
    const content = plan.content;
    let wordSteps = 0;
    this.openBlock = -1;
    switch (content.kind) {
      case 'tools':
        content.calls.forEach((call, i) => {
          const at = index + i;
          this.head.push(
            eventFrame('contentBlockStart', {
              contentBlockIndex: at,
              start: { toolUse: { toolUseId: call.id, name: call.name } },
            }),
          );
          for (const piece of slices(call.inputText, ARGUMENT_SLICE)) {
            this.head.push(
              eventFrame('contentBlockDelta', {
                contentBlockIndex: at,
                delta: { toolUse: { input: piece } },
              }),
            );
          }
          this.head.push(blockStop(at));
        });
        break;
      case 'pieces':
        for (const piece of content.pieces) this.head.push(textDelta(index, piece));
        if (content.pieces.length > 0) this.openBlock = index;
        break;
      case 'words':
        wordSteps = content.tokens;
        this.openBlock = index;
    }
    this.words =
      content.kind === 'words'
        ? { frames: tokenFramesAt(index), plan: plan as ConversePlan & { content: { kind: 'words' } } }
        : undefined;
    const total = this.head.length + wordSteps;
    this.exceptionAt = plan.streamException === undefined ? Infinity : Math.max(1, Math.floor(total / 2));
    this.steps = Math.min(total, this.exceptionAt);
  }

  frame(step: number): Buffer {
    const frame =
      step < this.head.length
        ? (this.head[step] as Buffer)
        : (this.words?.frames[nextToken(this.words.plan.content.rng)] as Buffer);
    if (step + 1 === this.exceptionAt) {
      return Buffer.concat([frame, exceptionFrame(this.plan.streamException as string)]);
    }
    return frame;
  }

  ending(): Buffer {
    if (this.exceptionAt !== Infinity) return Buffer.alloc(0);
    const frames: Buffer[] = [];
    if (this.openBlock !== -1) frames.push(blockStop(this.openBlock));
    frames.push(
      eventFrame('messageStop', { stopReason: this.plan.stopReason }),
      eventFrame('metadata', { usage: usageOf(this.plan), metrics: { latencyMs: this.latencyMs() } }),
    );
    return Buffer.concat(frames);
  }
}
