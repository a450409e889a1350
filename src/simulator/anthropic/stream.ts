// Streamed Messages: the full event sequence Anthropic sends (message_start, then per block
// content_block_start / content_block_delta* / content_block_stop, ping after the first block start,
// message_delta with the stop reason and usage, message_stop), paced and possibly cut by the pacer.
// One step per delta; a block's start rides with its first delta and its stop with the next block's.
import { TOKENS, nextToken } from '../engine.js';
import type { Exchange } from '../exchange.js';
import type { SimulatorOptions } from '../options.js';
import { paceStream, type PacedFrames } from '../pacer.js';
import type { Random } from '../random.js';
import { usageObject } from './message.js';
import { slices, type BlockPlan, type MessagePlan } from './plan.js';

const ARGUMENT_SLICE = 8;
const PING = 'event: ping\ndata: {"type":"ping"}\n\n';
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

const event = (name: string, data: string): string => `event: ${name}\ndata: ${data}\n\n`;

/** Deltas of a text token, built once per token so a text step is two concatenations. */
const TEXT_DELTAS: readonly string[] = TOKENS.map((t) => `{"type":"text_delta","text":${JSON.stringify(t)}}`);

interface BlockFrames {
  start: string;
  /** Delta payloads known in advance; undefined for drawn text. */
  deltas: string[] | undefined;
  rng: Random | undefined;
  count: number;
}

function framesOf(block: BlockPlan): BlockFrames {
  switch (block.kind) {
    case 'text':
      return {
        start: '{"type":"text","text":""}',
        deltas: undefined,
        rng: block.rng,
        count: Math.max(1, block.tokens),
      };
    case 'fixed-text': {
      const deltas = block.pieces.map((text) => JSON.stringify({ type: 'text_delta', text }));
      return {
        start: '{"type":"text","text":""}',
        deltas: deltas.length > 0 ? deltas : ['{"type":"text_delta","text":""}'],
        rng: undefined,
        count: Math.max(1, deltas.length),
      };
    }
    case 'thinking': {
      const deltas = block.pieces.map((thinking) => JSON.stringify({ type: 'thinking_delta', thinking }));
      deltas.push(JSON.stringify({ type: 'signature_delta', signature: block.signature }));
      return {
        start: '{"type":"thinking","thinking":"","signature":""}',
        deltas,
        rng: undefined,
        count: deltas.length,
      };
    }
    case 'tool': {
      // The first input_json_delta is empty, as the API sends it, then the input in small pieces.
      const deltas = ['', ...slices(block.input, ARGUMENT_SLICE)].map((partial_json) =>
        JSON.stringify({ type: 'input_json_delta', partial_json }),
      );
      const start = JSON.stringify({ type: 'tool_use', id: block.id, name: block.name, input: {} });
      return { start, deltas, rng: undefined, count: deltas.length };
    }
  }
}

class MessageFrames implements PacedFrames {
  readonly steps: number;
  private readonly blocks: BlockFrames[];
  /** Step → the block it belongs to, and its delta index within it (steps are asked for in order). */
  private block = 0;
  private delta = 0;

  constructor(private readonly plan: MessagePlan) {
    this.blocks = plan.blocks.map(framesOf);
    this.steps = this.blocks.reduce((sum, b) => sum + b.count, 0);
  }

  private messageStart(): string {
    const message = {
      id: this.plan.id,
      type: 'message',
      role: 'assistant',
      model: this.plan.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usageObject(this.plan, Math.min(1, this.plan.usage.outputTokens)),
    };
    return event('message_start', `{"type":"message_start","message":${JSON.stringify(message)}}`);
  }

  frame(step: number): string {
    let out = step === 0 ? this.messageStart() : '';
    const index = this.block;
    const block = this.blocks[index] as BlockFrames;
    if (this.delta === 0) {
      if (index > 0) out += event('content_block_stop', `{"type":"content_block_stop","index":${index - 1}}`);
      out += event(
        'content_block_start',
        `{"type":"content_block_start","index":${index},"content_block":${block.start}}`,
      );
      if (step === 0) out += PING;
    }
    const delta =
      block.rng === undefined ? (block.deltas as string[])[this.delta] : TEXT_DELTAS[nextToken(block.rng)];
    out += event('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":${delta}}`);
    if (++this.delta === block.count) {
      this.block++;
      this.delta = 0;
    }
    return out;
  }

  ending(): string {
    const plan = this.plan;
    const last = this.blocks.length - 1;
    const delta = {
      type: 'message_delta',
      delta: { stop_reason: plan.stopReason, stop_sequence: plan.stopSequence },
      // Cumulative, as the API reports it at the end; input fields repeat message_start's.
      usage: {
        input_tokens: plan.usage.inputTokens,
        cache_creation_input_tokens: plan.usage.cacheWriteTokens,
        cache_read_input_tokens: plan.usage.cacheReadTokens,
        output_tokens: plan.usage.outputTokens,
      },
    };
    // Without blocks (max_tokens 0) no step ran, so the message starts here.
    const opening = last === -1 ? this.messageStart() + PING : '';
    return (
      opening +
      (last === -1 ? '' : event('content_block_stop', `{"type":"content_block_stop","index":${last}}`)) +
      event('message_delta', JSON.stringify(delta)) +
      MESSAGE_STOP
    );
  }
}

export function streamMessage(
  ex: Exchange,
  plan: MessagePlan,
  options: SimulatorOptions,
  faults: Random,
): void {
  paceStream(
    ex,
    new MessageFrames(plan),
    ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache'],
    options,
    faults,
  );
}
