// Paces a streamed answer in any wire format: the first step at ttft, each later one a token interval after
// the last, an optional cut after about half, and backpressure respected. A format supplies only its frames
// (PacedFrames); OpenAI, Anthropic, Gemini SSE and Bedrock's binary event stream all go through here.
import type { Exchange } from './exchange.js';
import type { SimulatorOptions } from './options.js';
import type { Random } from './random.js';

/** Flush a batch at this size, so an unpaced long stream still yields to backpressure. */
const BATCH_BYTES = 64 * 1024;

export interface PacedFrames {
  /** Steps of the stream (roughly one per output token); step 0 is sent with the first token. */
  readonly steps: number;
  /** The bytes of one step (may be '' for a step that sends nothing). */
  frame(step: number): string | Buffer;
  /** What follows the last step (finish, usage, the end marker). */
  ending(): string | Buffer;
}

class Pacer {
  private readonly cutAt: number;
  private readonly interval: number;
  private step = 0;
  private startedAt = 0;
  private readonly binary: boolean;

  constructor(
    private readonly ex: Exchange,
    private readonly frames: PacedFrames,
    private readonly ttftMs: number,
    tokensPerSecond: number,
    cut: boolean,
    binary: boolean,
  ) {
    const steps = frames.steps;
    this.cutAt = cut ? Math.min(steps, Math.max(2, Math.floor(steps / 2) + 1)) : Infinity;
    this.interval = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;
    this.binary = binary;
  }

  start(headers: string[]): void {
    this.ex.writeHead(200, headers);
    this.startedAt = performance.now();
    if (this.ttftMs > 0) {
      // The client should see the headers now and the first token only after ttft.
      this.ex.res.flushHeaders();
      this.ex.timer = setTimeout(this.pump, this.ttftMs);
    } else {
      this.pump();
    }
  }

  /** The first step goes out at ttft; each later one an interval after the last. */
  private dueAt(step: number): number {
    return step <= 1 ? this.ttftMs : this.ttftMs + (step - 1) * this.interval;
  }

  /**
   * Writes every step that is due, then waits for the next one (or for the socket to drain). Due steps go out
   * in one write: without pacing a whole stream is one write, where a write per chunk would cost a chunked-
   * encoding frame and an iovec each.
   */
  private readonly pump = (): void => {
    const ex = this.ex;
    ex.timer = undefined;
    if (ex.closed) return;
    const res = ex.res;
    const frames = this.frames;
    // 1 ms of slack: timers fire on whole milliseconds, and a step due a fraction later is not worth a timer.
    const now = performance.now() - this.startedAt + 1;
    let text = '';
    const buffers: Buffer[] = [];
    let size = 0;
    const take = (): string | Buffer => {
      const out = this.binary ? Buffer.concat(buffers, size) : text;
      text = '';
      buffers.length = 0;
      size = 0;
      return out;
    };
    let writable = true;
    while (this.step < frames.steps && this.dueAt(this.step) <= now) {
      const frame = frames.frame(this.step++);
      if (typeof frame === 'string') {
        if (this.binary) {
          const bytes = Buffer.from(frame);
          buffers.push(bytes);
          size += bytes.length;
        } else {
          text += frame;
          size += frame.length;
        }
      } else {
        buffers.push(frame);
        size += frame.length;
      }
      if (this.step === this.cutAt) {
        ex.cut = true;
        // Destroy only once the half already produced is on the wire, so the client sees a torn stream.
        res.write(take(), () => res.destroy());
        return;
      }
      if (size >= BATCH_BYTES) {
        writable = res.write(take());
        if (!writable) break;
      }
    }
    if (this.step >= frames.steps) {
      const ending = frames.ending();
      if (this.binary) {
        buffers.push(typeof ending === 'string' ? Buffer.from(ending) : ending);
        res.end(Buffer.concat(buffers));
      } else {
        res.end(text + (typeof ending === 'string' ? ending : ending.toString()));
      }
      return;
    }
    if (size > 0) writable = res.write(take());
    if (!writable) res.once('drain', this.pump);
    else ex.timer = setTimeout(this.pump, this.dueAt(this.step) - (performance.now() - this.startedAt));
  };
}

/**
 * Draws whether this stream is cut, then sends `frames` with `headers` (a flat name, value list), paced by
 * the options. `binary` frames are concatenated as bytes (Bedrock), others as text.
 */
export function paceStream(
  ex: Exchange,
  frames: PacedFrames,
  headers: string[],
  options: SimulatorOptions,
  faults: Random,
  binary = false,
): void {
  const cut = options.streamCutRate > 0 && faults.next() < options.streamCutRate;
  new Pacer(ex, frames, options.ttftMs, options.tokensPerSecond, cut, binary).start(headers);
}
