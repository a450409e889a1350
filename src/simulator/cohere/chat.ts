// Cohere v2 chat answers: the JSON body and the SSE stream of a plan (chat-plan.ts), in the shapes of
// https://docs.cohere.com/v2/reference/chat and https://docs.cohere.com/v2/docs/streaming. Every stream event
// is `event: <type>` plus `data: <json with the same type>`; the stream ends with message-end, then [DONE].
import { TOKENS, generateText, nextToken } from '../engine.js';
import type { Exchange } from '../exchange.js';
import type { SimulatorOptions } from '../options.js';
import { paceStream, type PacedFrames } from '../pacer.js';
import type { Random } from '../random.js';
import { cohereUsage, type CohereChatPlan } from './chat-plan.js';

function contentOf(plan: CohereChatPlan): object[] {
  const content: object[] = [];
  if (plan.thinking !== undefined) content.push({ type: 'thinking', thinking: plan.thinking });
  const answer = plan.answer;
  if (answer.kind === 'text') content.push({ type: 'text', text: generateText(answer.rng, answer.tokens) });
  else if (answer.kind === 'json') content.push({ type: 'text', text: answer.pieces.join('') });
  return content;
}

export function cohereChatBody(plan: CohereChatPlan): string {
  const answer = plan.answer;
  const message: Record<string, unknown> = { role: 'assistant' };
  if (answer.kind === 'tools') {
    message['tool_plan'] = answer.plan;
    message['tool_calls'] = answer.calls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
    if (plan.thinking !== undefined) message['content'] = contentOf(plan);
  } else {
    message['content'] = contentOf(plan);
  }
  return JSON.stringify({
    id: plan.id,
    message,
    finish_reason: plan.finish,
    usage: cohereUsage(plan),
  });
}

const event = (type: string, data: string): string => `event: ${type}\ndata: ${data}\n\n`;

/** Each token's content-delta event, built once per block index (0, or 1 after a thinking block). */
const tokenEventsAt = (index: number): readonly string[] =>
  TOKENS.map((token) =>
    event(
      'content-delta',
      `{"type":"content-delta","index":${index},"delta":{"message":{"content":{"text":${JSON.stringify(token)}}}}}`,
    ),
  );
const TOKEN_EVENTS = [tokenEventsAt(0), tokenEventsAt(1)] as const;

/**
 * The stream's steps: message-start with the first block's opening, one step per thinking word, text token,
 * JSON slice or tool-call fragment; block openings and endings ride along with their neighbours so the step
 * count stays about the token count the pacer paces by.
 */
class CohereFrames implements PacedFrames {
  readonly steps: number;
  private readonly frames: (string | undefined)[];
  /** Text tokens are drawn as they go out: steps from `textFrom` on are tokens of the text block. */
  private readonly textFrom: number;
  private readonly tokenEvents: readonly string[];
  private readonly rng: Random | undefined;
  private readonly closing: string;

  constructor(private readonly plan: CohereChatPlan) {
    const frames: (string | undefined)[] = [];
    let head = event(
      'message-start',
      JSON.stringify({
        id: plan.id,
        type: 'message-start',
        delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } },
      }),
    );
    let index = 0;
    let closing = '';
    if (plan.thinking !== undefined) {
      head += this.start(index, 'thinking');
      for (const word of plan.thinking.match(/ \S+/g) ?? []) {
        frames.push(head + this.delta(index, { thinking: word }));
        head = '';
      }
      head = event('content-end', `{"type":"content-end","index":${index}}`);
      index++;
    }
    const answer = plan.answer;
    if (answer.kind === 'tools') {
      frames.push(
        head +
          event(
            'tool-plan-delta',
            JSON.stringify({ type: 'tool-plan-delta', delta: { message: { tool_plan: answer.plan } } }),
          ),
      );
      answer.calls.forEach((call, i) => {
        const start = {
          type: 'tool-call-start',
          index: i,
          delta: {
            message: {
              tool_calls: { id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
            },
          },
        };
        let frame = event('tool-call-start', JSON.stringify(start));
        for (let at = 0; at < call.arguments.length; at += 8) {
          const fragment = call.arguments.slice(at, at + 8);
          const delta = {
            type: 'tool-call-delta',
            index: i,
            delta: { message: { tool_calls: { function: { arguments: fragment } } } },
          };
          frames.push(frame + event('tool-call-delta', JSON.stringify(delta)));
          frame = '';
        }
        if (frame !== '') frames.push(frame);
        frames.push(event('tool-call-end', `{"type":"tool-call-end","index":${i}}`));
      });
      this.textFrom = Infinity;
      this.rng = undefined;
    } else if (answer.kind === 'json') {
      head += this.start(index, 'text');
      for (const piece of answer.pieces) {
        frames.push(head + this.delta(index, { text: piece }));
        head = '';
      }
      closing = event('content-end', `{"type":"content-end","index":${index}}`);
      this.textFrom = Infinity;
      this.rng = undefined;
    } else {
      // The first text step carries whatever opened before it; the rest are pre-built token events.
      frames.push(head + this.start(index, 'text'));
      this.textFrom = frames.length;
      for (let i = 0; i < answer.tokens; i++) frames.push(undefined);
      closing = event('content-end', `{"type":"content-end","index":${index}}`);
      this.rng = answer.rng;
    }
    this.tokenEvents = TOKEN_EVENTS[index === 0 ? 0 : 1];
    this.frames = frames;
    this.steps = frames.length;
    this.closing = closing;
  }

  private start(index: number, type: 'text' | 'thinking'): string {
    const content = type === 'text' ? { type, text: '' } : { type, thinking: '' };
    return event(
      'content-start',
      JSON.stringify({ type: 'content-start', index, delta: { message: { content } } }),
    );
  }

  private delta(index: number, content: object): string {
    return event(
      'content-delta',
      JSON.stringify({ type: 'content-delta', index, delta: { message: { content } } }),
    );
  }

  frame(step: number): string {
    if (step >= this.textFrom) return this.tokenEvents[nextToken(this.rng as Random)] as string;
    return this.frames[step] as string;
  }

  ending(): string {
    const end = {
      type: 'message-end',
      delta: { finish_reason: this.plan.finish, usage: cohereUsage(this.plan) },
    };
    return this.closing + event('message-end', JSON.stringify(end)) + 'data: [DONE]\n\n';
  }
}

export function streamCohereChat(
  ex: Exchange,
  plan: CohereChatPlan,
  options: SimulatorOptions,
  faults: Random,
): void {
  paceStream(
    ex,
    new CohereFrames(plan),
    ['content-type', 'text/event-stream', 'cache-control', 'no-cache'],
    options,
    faults,
  );
}
