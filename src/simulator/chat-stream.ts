// Streamed chat completions: `chat.completion.chunk` server-sent events, paced by ttft and tokens per second,
// optionally cut midway. Hot path: a token chunk is two concatenations of strings built before the stream.
import { SYSTEM_FINGERPRINT, slices, usageOf } from './chat-plan.js';
import type { ChatPlan, ChoicePlan, ToolCall } from './chat-plan.js';
import { TOKEN_DELTAS, nextToken } from './engine.js';
import type { Exchange } from './exchange.js';
import type { SimulatorOptions } from './options.js';
import type { Random } from './random.js';

const ROLE_DELTA = '{"role":"assistant","content":"","refusal":null}';
const DONE = 'data: [DONE]\n\n';
const ARGUMENT_SLICE = 8;
/** Flush a batch at this size, so an unpaced long stream still yields to backpressure. */
const BATCH_CHARS = 64 * 1024;

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

class ChatStream {
  /** Per choice, the chunk up to its delta: `data: {"id":…,"choices":[{"index":i,"delta":`. */
  private readonly heads: string[] = [];
  /** What follows a delta in every chunk but the finishing ones. */
  private readonly tail: string;
  private readonly usageNull: string;
  private readonly deltas: (string[] | undefined)[];
  private readonly rngs: (Random | undefined)[];
  private readonly stepCounts: number[];
  private readonly steps: number;
  /** Steps written before the socket is destroyed; beyond `steps` when the stream is not cut. */
  private readonly cutAt: number;
  private readonly interval: number;
  private step = 0;
  private startedAt = 0;

  constructor(
    private readonly ex: Exchange,
    private readonly plan: ChatPlan,
    private readonly ttftMs: number,
    tokensPerSecond: number,
    cut: boolean,
  ) {
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
    this.cutAt = cut ? Math.min(this.steps, Math.max(2, Math.floor(this.steps / 2) + 1)) : Infinity;
    this.interval = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;
  }

  start(): void {
    this.ex.writeHead(200, ['content-type', 'text/event-stream; charset=utf-8', 'cache-control', 'no-cache']);
    this.startedAt = performance.now();
    if (this.ttftMs > 0) {
      // The client should see the headers now and the first token only after ttft.
      this.ex.res.flushHeaders();
      this.ex.timer = setTimeout(this.pump, this.ttftMs);
    } else {
      this.pump();
    }
  }

  /** The role chunk goes out with the first token at ttft; each later token one interval after the last. */
  private dueAt(step: number): number {
    return step <= 1 ? this.ttftMs : this.ttftMs + (step - 1) * this.interval;
  }

  /**
   * Writes every step that is due, then waits for the next one (or for the socket to drain). Due chunks go out
   * in one write: without pacing a whole stream is one write, where a write per chunk would cost a chunked-
   * encoding frame and an iovec each.
   */
  private readonly pump = (): void => {
    const ex = this.ex;
    ex.timer = undefined;
    if (ex.closed) return;
    const res = ex.res;
    // 1 ms of slack: timers fire on whole milliseconds, and a step due a fraction later is not worth a timer.
    const now = performance.now() - this.startedAt + 1;
    let data = '';
    let writable = true;
    while (this.step < this.steps && this.dueAt(this.step) <= now) {
      data += this.chunksOf(this.step++);
      if (this.step === this.cutAt) {
        ex.cut = true;
        // Destroy only once the half already produced is on the wire, so the client sees a torn stream.
        res.write(data, () => res.destroy());
        return;
      }
      if (data.length >= BATCH_CHARS) {
        writable = res.write(data);
        data = '';
        if (!writable) break;
      }
    }
    if (this.step >= this.steps) {
      res.end(data + this.ending());
      return;
    }
    if (data !== '') writable = res.write(data);
    if (!writable) res.once('drain', this.pump);
    else ex.timer = setTimeout(this.pump, this.dueAt(this.step) - (performance.now() - this.startedAt));
  };

  private chunksOf(step: number): string {
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
  private ending(): string {
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

/** Draws whether this stream is cut, then streams `plan`. */
export function streamChat(ex: Exchange, plan: ChatPlan, options: SimulatorOptions, faults: Random): void {
  const cut = options.streamCutRate > 0 && faults.next() < options.streamCutRate;
  new ChatStream(ex, plan, options.ttftMs, options.tokensPerSecond, cut).start();
}
