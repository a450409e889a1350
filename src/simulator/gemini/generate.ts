// generateContent answers: the whole GenerateContentResponse, and streamGenerateContent as server-sent
// events (alt=sse) or, without alt=sse, as one JSON array whose elements arrive as they are generated.
// As the real API does, every stream chunk is a whole GenerateContentResponse with the candidates' next
// parts; the last one carries each candidate's last part, its finishReason and the final usageMetadata
// (earlier ones a running prompt-only total). Thought signatures sit on the first function call, or on the
// last text part.
import { generateText, TOKENS } from '../engine.js';
import type { Exchange } from '../exchange.js';
import type { SimulatorOptions } from '../options.js';
import { paceStream, type PacedFrames } from '../pacer.js';
import type { Random } from '../random.js';
import type { JsonObject as Json } from '../request.js';
import { drawToken, TOKEN_PARTS, usageMetadata, type CandidatePlan, type GeminiPlan } from './plan.js';

function thoughtPart(text: string): Json {
  return { text, thought: true };
}

function partsOf(candidate: CandidatePlan, signature: string | undefined): Json[] {
  const parts: Json[] = candidate.thought === undefined ? [] : [thoughtPart(candidate.thought)];
  switch (candidate.kind) {
    case 'text':
      parts.push({ text: generateText(candidate.rng, candidate.tokens) });
      break;
    case 'json':
      parts.push({ text: candidate.pieces.join('') });
      break;
    case 'calls':
      candidate.calls.forEach((call, i) => {
        const part: Json = { functionCall: { name: call.name, args: call.args } };
        if (i === 0 && signature !== undefined) part['thoughtSignature'] = signature;
        parts.push(part);
      });
      return parts;
  }
  if (signature !== undefined) (parts[parts.length - 1] as Json)['thoughtSignature'] = signature;
  return parts;
}

function envelope(plan: GeminiPlan, candidates: Json[], usage: Json): Json {
  const body: Json = {
    candidates,
    usageMetadata: usage,
    modelVersion: plan.model,
    responseId: plan.responseId,
  };
  if (plan.vertex) body['createTime'] = new Date().toISOString();
  return body;
}

export function generateContentBody(plan: GeminiPlan): string {
  const candidates = plan.candidates.map((candidate, index) => ({
    content: { parts: partsOf(candidate, plan.signatures[index]), role: 'model' },
    finishReason: candidate.finish,
    index,
  }));
  return JSON.stringify(envelope(plan, candidates, usageMetadata(plan)));
}

/** One candidate's stream: its parts in order, the text ones drawn as they are sent. */
class CandidateStream {
  /** Parts to send; the last one goes with the finishReason in the final chunk. */
  readonly length: number;
  private readonly thought: number;

  constructor(
    private readonly candidate: CandidatePlan,
    private readonly signature: string | undefined,
  ) {
    this.thought = candidate.thought === undefined ? 0 : 1;
    const body =
      candidate.kind === 'text'
        ? candidate.tokens
        : candidate.kind === 'json'
          ? candidate.pieces.length
          : candidate.calls.length;
    this.length = this.thought + body;
  }

  /** The JSON text of part `i`. */
  part(i: number): string {
    const candidate = this.candidate;
    if (i < this.thought) return JSON.stringify(thoughtPart(candidate.thought as string));
    const at = i - this.thought;
    const last = i === this.length - 1;
    switch (candidate.kind) {
      case 'text': {
        const token = drawToken(candidate.rng);
        return last && this.signature !== undefined
          ? JSON.stringify({ text: TOKENS[token], thoughtSignature: this.signature })
          : (TOKEN_PARTS[token] as string);
      }
      case 'json': {
        const text = candidate.pieces[at] as string;
        return last && this.signature !== undefined
          ? JSON.stringify({ text, thoughtSignature: this.signature })
          : `{"text":${JSON.stringify(text)}}`;
      }
      case 'calls': {
        const call = candidate.calls[at] as { name: string; args: unknown };
        const part: Json = { functionCall: { name: call.name, args: call.args } };
        if (at === 0 && this.signature !== undefined) part['thoughtSignature'] = this.signature;
        return JSON.stringify(part);
      }
    }
  }
}

class GeminiFrames implements PacedFrames {
  readonly steps: number;
  private readonly streams: CandidateStream[];
  /** What follows the candidates of an intermediate chunk: the running usage and the ids. */
  private readonly tail: string;
  private sent = 0;

  constructor(
    private readonly plan: GeminiPlan,
    private readonly sse: boolean,
  ) {
    this.streams = plan.candidates.map((candidate, i) => new CandidateStream(candidate, plan.signatures[i]));
    this.steps = Math.max(...this.streams.map((s) => s.length)) - 1;
    const prompt = plan.promptTokens;
    const usage = `{"promptTokenCount":${prompt},"totalTokenCount":${prompt},"promptTokensDetails":[{"modality":"TEXT","tokenCount":${prompt}}]}`;
    this.tail = `],"usageMetadata":${usage},"modelVersion":${JSON.stringify(plan.model)},"responseId":"${plan.responseId}"}`;
  }

  private chunk(json: string): string {
    const framed = this.sse ? `data: ${json}\r\n\r\n` : `${this.sent === 0 ? '[' : ',\r\n'}${json}`;
    this.sent++;
    return framed;
  }

  frame(step: number): string {
    let candidates = '';
    this.streams.forEach((stream, index) => {
      // A candidate's last part waits for the final chunk, with its finishReason.
      if (step >= stream.length - 1) return;
      if (candidates !== '') candidates += ',';
      candidates += `{"content":{"parts":[${stream.part(step)}],"role":"model"},"index":${index}}`;
    });
    return candidates === '' ? '' : this.chunk(`{"candidates":[${candidates}${this.tail}`);
  }

  ending(): string {
    const plan = this.plan;
    const candidates = this.streams.map((stream, index) => ({
      content: { parts: [JSON.parse(stream.part(stream.length - 1)) as Json], role: 'model' },
      finishReason: (plan.candidates[index] as CandidatePlan).finish,
      index,
    }));
    const last = this.chunk(JSON.stringify(envelope(plan, candidates, usageMetadata(plan))));
    return this.sse ? last : `${last}]`;
  }
}

export function streamGenerateContent(
  ex: Exchange,
  plan: GeminiPlan,
  sse: boolean,
  options: SimulatorOptions,
  faults: Random,
): void {
  const contentType = sse ? 'text/event-stream' : 'application/json; charset=UTF-8';
  paceStream(
    ex,
    new GeminiFrames(plan, sse),
    ['content-type', contentType, 'cache-control', 'no-cache'],
    options,
    faults,
  );
}
