// Streamed chat completions: `chat.completion.chunk` server-sent events, paced by ttft and tokens per second,
// optionally cut midway (pacer.ts). Hot path: a token chunk is two concatenations of strings built before the stream.
import { SYSTEM_FINGERPRINT, slices, usageOf } from './chat-plan.js';
import type { ChatPlan, ChoicePlan, ToolCall } from './chat-plan.js';
import { TOKEN_DELTAS, nextToken } from './engine.js';
import type { Exchange } from './exchange.js';
import type { SimulatorOptions } from './options.js';
import { paceStream, type PacedFrames } from './pacer.js';
import type { Random } from './random.js';

const ROLE_DELTA = '{"role":"assistant","content":"","refusal":null}';
const DONE = 'data: [DONE]\n\n';
const ARGUMENT_SLICE = 8;

function toolDeltas(calls: readonly ToolCall[]): string[] {
  const deltas: string[] = [];
  calls.forEach((call, index) => {
    const header = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
    // The first delta of a tool-call reply carries the role, as OpenAI sends it.
    const first =
      index === 0 ? { role: 'assistant', content: null, tool_calls: [header], refusal: null } : null;
    deltas.push(JSON.stringify(first ?? { tool_calls: [header] }));
    for (const fragment of slices(call.arguments, ARGUMENT_SLICE)) {
      deltas.push(JSON.stringify({ tool_calls: [{ index, function: { arguments: fragment } }] }));
    }
  });
  return deltas;
}

/** Precomputed deltas of a choice, or undefined for text, whose tokens are drawn as they go out. */
function precomputedDeltas(choice: ChoicePlan): string[] | undefined {
  switch (choice.kind) {
    case 'text':
      return undefined;
    case 'json':
      return [ROLE_DELTA, ...choice.pieces.map((piece) => `{"content":${JSON.stringify(piece)}}`)];
    case 'tools':
      return toolDeltas(choice.calls);
  }
}

class ChatFrames implements PacedFrames {
  /** Per choice, the chunk up to its delta: `data: {"id":…,"choices":[{"index":i,"delta":`. */
  private readonly heads: string[] = [];
  /** What follows a delta in every chunk but the finishing ones. */
  private readonly tail: string;
  private readonly usageNull: string;
  private readonly deltas: (string[] | undefined)[];
  private readonly rngs: (Random | undefined)[];
  private readonly stepCounts: number[];
  readonly steps: number;

  constructor(private readonly plan: ChatPlan) {
    const prefix =
      `data: {"id":${JSON.stringify(plan.id)},"object":"chat.completion.chunk","created":${plan.created},` +
      `"model":${JSON.stringify(plan.model)},"service_tier":"default",` +
      `"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":[{"index":`;
    this.usageNull = plan.includeUsage ? ',"usage":null' : '';
    this.tail = `,"logprobs":null,"finish_reason":null}]${this.usageNull}}\n\n`;
    this.deltas = plan.choices.map(precomputedDeltas);
    this.rngs = plan.choices.map((c) => (c.kind === 'text' ? c.rng : undefined));
    this.stepCounts = plan.choices.map((c, i) =>
      c.kind === 'text' ? c.tokens + 1 : (this.deltas[i] as string[]).length,
    );
    for (let i = 0; i < plan.choices.length; i++) this.heads.push(`${prefix}${i},"delta":`);
    this.steps = Math.max(...this.stepCounts);
  }

  frame(step: number): string {
    let data = '';
    for (let i = 0; i < this.heads.length; i++) {
      if (step >= (this.stepCounts[i] as number)) continue;
      const rng = this.rngs[i];
      let delta: string;
      if (rng === undefined) delta = (this.deltas[i] as string[])[step] as string;
      else delta = step === 0 ? ROLE_DELTA : (TOKEN_DELTAS[nextToken(rng)] as string);
      data += (this.heads[i] as string) + delta + this.tail;
    }
    return data;
  }

  /** Finish chunks, the usage chunk when asked for, then [DONE]. */
  ending(): string {
    const plan = this.plan;
    let data = '';
    for (let i = 0; i < this.heads.length; i++) {
      const finish = (plan.choices[i] as ChoicePlan).finish;
      data += `${this.heads[i]}{},"logprobs":null,"finish_reason":"${finish}"}]${this.usageNull}}\n\n`;
    }
    if (plan.includeUsage) {
      const chunk = {
        id: plan.id,
        object: 'chat.completion.chunk',
        created: plan.created,
        model: plan.model,
        service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [],
        usage: usageOf(plan),
      };
      data += `data: ${JSON.stringify(chunk)}\n\n`;
    }
    return data + DONE;
  }
}

/** Streams `plan` as OpenAI chunks, paced and possibly cut (pacer.ts). */
export function streamChat(ex: Exchange, plan: ChatPlan, options: SimulatorOptions, faults: Random): void {
  paceStream(
    ex,
    new ChatFrames(plan),
    ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache'],
    options,
    faults,
  );
}
