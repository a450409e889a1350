/**
 * Routing and resilience end to end (issue 5): real simulators (one per target, so one can fail), real
 * Sluice, fetch as the client. Every scenario here runs on each state backend (routing.test.ts: memory,
 * routing-redis.test.ts: Redis); the load-heavy shared cases are in routing-cases.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.js';
import { upstream, waitFor, type TestGateway } from './gateway.js';
import {
  chat,
  completeStream,
  completionJson,
  load,
  type Backend,
  metric,
  percentile,
  sleep,
  startStub,
  type Reply,
  type Stub,
} from './routing.js';

const model = 'gpt-4o-mini';

export function routingScenarios(makeBackend: () => Backend): void {
  const label = makeBackend().name;

  /** Simulators and gateways of one describe block, closed after it. */
  function fixtures(): {
    sim: (options: Parameters<typeof startSimulator>[0]) => Promise<SimulatorHandle>;
    gateway: (config: Record<string, unknown>) => Promise<TestGateway>;
  } {
    // A backend of its own per describe block: with Redis, a prefix of its own, so cooldowns of one block
    // never reach another.
    const backend = makeBackend();
    const closers: (() => Promise<void>)[] = [() => backend.cleanup()];
    after(async () => {
      for (const close of closers) await close();
    });
    return {
      sim: async (options) => {
        const handle = await startSimulator({ port: 0, ...options });
        closers.push(() => handle.close());
        return handle;
      },
      gateway: async (config) => {
        const gw = await backend.gateway({ logging: { level: 'warn' }, ...config });
        closers.unshift(() => gw.close());
        return gw;
      },
    };
  }

  describe(`${label}: a hanging target: the TTFT timeout fires and the fallback answers`, () => {
    const { sim, gateway } = fixtures();

    test('streams are answered by the fallback within ttft_ms + margin', async () => {
      const hanging = await sim({ ttftMs: 5_000 });
      const fallback = await sim({});
      const gw = await gateway({
        // The breaker out of the way: what is tested is where the request goes after its timeout.
        routing: { max_attempts: 3, retry: { backoff_base_ms: 1 }, breaker: { consecutive_failures: 100 } },
        providers: [
          upstream('hang', hanging.url, { timeouts: { ttft_ms: 200, total_ms: 10_000 } }),
          upstream('fb', fallback.url),
        ],
        models: [
          { name: 'm', targets: [{ provider: 'hang', model }], fallbacks: ['m-fb'] },
          { name: 'm-fb', targets: [{ provider: 'fb', model }] },
        ],
      });
      const replies: Reply[] = [];
      await load(5, 5, async () => {
        replies.push(await chat(gw, 'm', { stream: true }));
      });
      for (const reply of replies) {
        assert.ok(completeStream(reply), reply.text.slice(-300));
        assert.equal(reply.headers.get('x-sluice-provider'), 'fb');
        assert.equal(reply.headers.get('x-sluice-route'), `hang/${model}:upstream_timeout, fb/${model}:ok`);
        // Far below the 5 s the hanging target would take; a second try of it is ruled out by the route
        // and the request count. The margin is wide: a loaded 2-core CI machine took 492 ms.
        assert.ok(reply.ms >= 190 && reply.ms < 200 + 1_000, `answered in ${reply.ms.toFixed(0)} ms`);
      }
      assert.equal(hanging.stats.requests, 5, 'the hanging target is not retried when a fallback exists');
    });
  });

  describe(`${label}: circuit breaker: opens, probes, closes`, () => {
    const { sim, gateway } = fixtures();
    let sick: SimulatorHandle;
    let other: SimulatorHandle;
    let lonely: SimulatorHandle;
    let gw: TestGateway;
    const openMs = 300;
    const gauge = (provider: string): Promise<number | undefined> =>
      metric(gw, 'sluice_breaker_state', { provider, target_model: model });

    before(async () => {
      sick = await sim({ errorRate: 1 });
      other = await sim({});
      lonely = await sim({ errorRate: 1 });
      gw = await gateway({
        routing: {
          max_attempts: 3,
          retry: { backoff_base_ms: 1 },
          breaker: { consecutive_failures: 2, open_ms: openMs },
        },
        providers: [upstream('sick', sick.url), upstream('other', other.url), upstream('lonely', lonely.url)],
        models: [
          {
            // The cost order tries the sick target first every time: with weights of 1,000 to 1 the other
            // went first one request in a thousand, whose route then skipped nothing (a full run hit it).
            name: 'pair',
            strategy: 'cost',
            targets: [
              { provider: 'sick', model, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
              { provider: 'other', model, price: { input_per_mtok: 10, output_per_mtok: 30 } },
            ],
          },
          { name: 'alone', targets: [{ provider: 'lonely', model }] },
        ],
      });
    });

    test('with another target: it opens, the other serves, a probe after open_ms closes it', async () => {
      for (let i = 0; i < 2; i++) assert.equal((await chat(gw, 'pair')).status, 200);
      assert.equal(await gauge('sick'), 2, 'open after 2 consecutive failures');
      const seen = sick.stats.requests;
      for (let i = 0; i < 10; i++) {
        const reply = await chat(gw, 'pair');
        assert.equal(reply.status, 200);
        assert.equal(reply.headers.get('x-sluice-provider'), 'other');
        assert.match(reply.headers.get('x-sluice-route') ?? '', /sick\/gpt-4o-mini:skipped\(breaker-open\)/);
      }
      assert.equal(sick.stats.requests, seen, 'no upstream request while open');
      sick.setOptions({ errorRate: 0 });
      await sleep(openMs + 20);
      assert.equal(await gauge('sick'), 1, 'half-open after open_ms');
      const probe = await chat(gw, 'pair');
      assert.equal(probe.status, 200);
      assert.equal(probe.headers.get('x-sluice-provider'), 'sick', 'the trial went to the recovering target');
      assert.equal(sick.stats.requests, seen + 1);
      assert.equal(await gauge('sick'), 0, 'closed after a good trial');
    });

    test('alone: open means 503 without calling upstream; a failed probe reopens; a good one closes', async () => {
      assert.equal((await chat(gw, 'alone')).status, 502); // two attempts: the try and its retry
      assert.equal(await gauge('lonely'), 2);
      const seen = lonely.stats.requests;
      const closed = await chat(gw, 'alone');
      assert.equal(closed.status, 503);
      assert.match(closed.text, /no_available_target/);
      assert.match(closed.headers.get('x-sluice-route') ?? '', /lonely\/gpt-4o-mini:skipped\(breaker-open\)/);
      assert.equal(lonely.stats.requests, seen);
      await sleep(openMs + 20);
      assert.equal((await chat(gw, 'alone')).status, 502, 'the probe failed');
      assert.equal(lonely.stats.requests, seen + 1, 'one trial only');
      assert.equal(await gauge('lonely'), 2, 'reopened');
      lonely.setOptions({ errorRate: 0 });
      await sleep(openMs + 20);
      assert.equal((await chat(gw, 'alone')).status, 200);
      assert.equal(await gauge('lonely'), 0);
    });
  });

  describe(`${label}: hedging cuts the tail`, () => {
    const { sim, gateway } = fixtures();

    test('the tail (p97) with hedging is far below the tail without; the loser is aborted', async () => {
      const fast = await sim({ latencyMs: 10, latencyJitterMs: 10, seed: 5 });
      const slow = await sim({ latencyMs: 400, seed: 6 });
      const config = (hedging: boolean): Record<string, unknown> => ({
        routing: { max_attempts: 2 },
        providers: [upstream('fast', fast.url), upstream('slow', slow.url)],
        models: [
          {
            name: 'm',
            // One request in ten lands on the slow target first: the tail.
            targets: [
              { provider: 'fast', model, weight: 9 },
              { provider: 'slow', model, weight: 1 },
            ],
            ...(hedging ? { hedging: { enabled: true, threshold_ms: 60 } } : {}),
          },
        ],
      });
      const run = async (gw: TestGateway): Promise<number[]> => {
        const times: number[] = [];
        await load(300, 10, async () => {
          const reply = await chat(gw, 'm');
          assert.equal(reply.status, 200);
          times.push(reply.ms);
        });
        return times;
      };
      const plain = await run(await gateway(config(false)));
      const abortedBefore = slow.stats.aborted;
      const hedgedGw = await gateway(config(true));
      const hedged = await run(hedgedGw);
      // The 97th percentile of 300: about 30 requests start on the slow target, so it is one of them
      // without hedging, while one or two hiccups of a loaded machine cannot decide it with hedging.
      const tailPlain = percentile(plain, 97);
      const tailHedged = percentile(hedged, 97);
      const hedges = await metric(hedgedGw, 'sluice_route_decisions_total', { decision: 'hedge' });
      console.log(
        `hedging: p97 ${tailPlain.toFixed(0)} ms without, ${tailHedged.toFixed(0)} ms with (p50 ${percentile(plain, 50).toFixed(0)} / ${percentile(hedged, 50).toFixed(0)}), ${hedges} hedges, ${slow.stats.aborted - abortedBefore} losers aborted`,
      );
      assert.ok(tailPlain >= 390, `the tail is there without hedging: ${tailPlain}`);
      assert.ok(tailHedged < tailPlain / 2, `p97 ${tailHedged} with hedging vs ${tailPlain}`);
      assert.ok((hedges ?? 0) > 0);
      await waitFor(() => slow.stats.aborted > abortedBefore, 1_000, 'the slow loser to be aborted');
    });
  });

  describe(`${label}: client deadline x-sluice-timeout-ms`, () => {
    const { sim, gateway } = fixtures();
    let slow: SimulatorHandle;
    let steady: SimulatorHandle;
    let gw: TestGateway;

    before(async () => {
      slow = await sim({ latencyMs: 500 });
      steady = await sim({ latencyMs: 250 });
      gw = await gateway({
        routing: { max_attempts: 3, retry: { backoff_base_ms: 1 } },
        providers: [upstream('slow', slow.url), upstream('steady', steady.url)],
        models: [
          { name: 'slow', targets: [{ provider: 'slow', model }] },
          { name: 'steady', targets: [{ provider: 'steady', model }] },
        ],
      });
    });

    test('a slow upstream with a 100 ms deadline: 504 well before the upstream answers', async () => {
      const reply = await chat(gw, 'slow', { headers: { 'x-sluice-timeout-ms': '100' } });
      assert.equal(reply.status, 504);
      // Below the 500 ms the upstream would take to answer, with room for a loaded machine.
      assert.ok(reply.ms >= 95 && reply.ms < 450, `${reply.ms} ms`);
    });

    test('a retry that cannot fit the remaining deadline is skipped', async () => {
      for (let i = 0; i < 2; i++) assert.equal((await chat(gw, 'steady')).status, 200); // learns ~250 ms
      steady.setOptions({ errorRate: 1 });
      const seen = steady.stats.requests;
      const reply = await chat(gw, 'steady', { headers: { 'x-sluice-timeout-ms': '400' } });
      assert.equal(reply.status, 502, 'the failure itself, not a timeout of a hopeless retry');
      assert.match(reply.headers.get('x-sluice-route') ?? '', /steady\/gpt-4o-mini:skipped\(deadline\)/);
      assert.equal(steady.stats.requests, seen + 1);
      assert.ok(reply.ms < 350, `gave up at once: ${reply.ms} ms`);
    });

    test('an invalid header value is a 400', async () => {
      for (const value of ['soon', '0', '-5', '1.5']) {
        const reply = await chat(gw, 'slow', { headers: { 'x-sluice-timeout-ms': value } });
        assert.equal(reply.status, 400, value);
        assert.match(reply.text, /x-sluice-timeout-ms/);
      }
    });
  });

  describe(`${label}: fallback lists`, () => {
    const { gateway } = fixtures();
    let stub: Stub;
    let gw: TestGateway;
    const error400 = (code: string | null, message: string): string =>
      JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });

    after(() => stub.close());

    before(async () => {
      stub = await startStub((name, res) => {
        const json = { 'content-type': 'application/json' };
        if (name === 'boom')
          res.writeHead(500, json).end('{"error":{"message":"boom","type":"server_error"}}');
        else if (name === 'bad')
          res.writeHead(400, json).end(error400(null, "Invalid 'temperature': too high."));
        else if (name === 'long')
          res
            .writeHead(400, json)
            .end(error400('context_length_exceeded', "This model's maximum context length is 4097 tokens."));
        else if (name === 'filtered')
          res.writeHead(400, json).end(error400('content_filter', 'The prompt was filtered.'));
        else res.writeHead(200, json).end(completionJson(name));
      });
      const m = (
        name: string,
        target: string,
        lists: Record<string, string[]> = {},
      ): Record<string, unknown> => ({
        name,
        targets: [{ provider: 'stub', model: target }],
        ...lists,
      });
      gw = await gateway({
        routing: { max_attempts: 3, retry: { backoff_base_ms: 1 } },
        providers: [upstream('stub', stub.url)],
        models: [
          m('m-5xx', 'boom', {
            fallbacks: ['m-good'],
            context_fallbacks: ['m-wrong'],
            policy_fallbacks: ['m-wrong'],
          }),
          m('m-bad', 'bad', {
            fallbacks: ['m-good'],
            context_fallbacks: ['m-good'],
            policy_fallbacks: ['m-good'],
          }),
          m('m-ctx', 'long', {
            fallbacks: ['m-wrong'],
            context_fallbacks: ['m-large'],
            policy_fallbacks: ['m-wrong'],
          }),
          m('m-policy', 'filtered', {
            fallbacks: ['m-wrong'],
            context_fallbacks: ['m-wrong'],
            policy_fallbacks: ['m-alt'],
          }),
          m('m-good', 'good'),
          m('m-large', 'large'),
          m('m-alt', 'alt'),
          m('m-wrong', 'wrong'),
        ],
      });
    });

    test('a classified failure (5xx) takes `fallbacks`', async () => {
      const reply = await chat(gw, 'm-5xx');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('x-sluice-model'), 'good');
      assert.equal(stub.count('good'), 1);
    });

    test('a 400 client error never falls back: one upstream request', async () => {
      const reply = await chat(gw, 'm-bad');
      assert.equal(reply.status, 400);
      assert.equal(stub.count('bad'), 1);
      assert.equal(stub.count('good'), 1, 'unchanged');
    });

    test('a context-window error takes context_fallbacks', async () => {
      const reply = await chat(gw, 'm-ctx');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('x-sluice-model'), 'large');
      assert.equal(stub.count('long'), 1, 'not retried: the prompt is as long the second time');
    });

    test('a content-policy refusal takes policy_fallbacks', async () => {
      const reply = await chat(gw, 'm-policy');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('x-sluice-model'), 'alt');
      assert.equal(stub.count('filtered'), 1);
      assert.equal(stub.count('wrong'), 0, 'no other list was taken');
    });
  });

  describe(`${label}: stream failover`, () => {
    const { sim, gateway } = fixtures();

    test('before the first byte: transparent; after it: an error frame and no retry', async () => {
      const dead = await sim({ errorRate: 1 });
      const live = await sim({});
      const cut = await sim({ streamCutRate: 1, outputTokens: 20 });
      const gw = await gateway({
        routing: { max_attempts: 3, retry: { backoff_base_ms: 1 } },
        providers: [upstream('dead', dead.url), upstream('live', live.url), upstream('cut', cut.url)],
        models: [
          {
            name: 'sf',
            // The dead target first every time (the cost order), not 1,000 times in 1,001 (weights).
            strategy: 'cost',
            targets: [
              { provider: 'dead', model, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
              { provider: 'live', model, price: { input_per_mtok: 10, output_per_mtok: 30 } },
            ],
          },
          { name: 'cut', targets: [{ provider: 'cut', model }], fallbacks: ['live'] },
          { name: 'live', targets: [{ provider: 'live', model }] },
        ],
      });
      const over = await chat(gw, 'sf', { stream: true });
      assert.ok(completeStream(over), over.text.slice(-300));
      assert.equal(over.headers.get('x-sluice-route'), `dead/${model}:500, live/${model}:ok`);
      assert.equal(dead.stats.requests, 1);

      const liveBefore = live.stats.requests;
      const broken = await chat(gw, 'cut', { stream: true });
      assert.equal(broken.status, 200);
      assert.ok(broken.text.includes('"content"'), 'some tokens came first');
      assert.match(broken.text, /data: \{"error":/);
      assert.ok(!broken.text.includes('[DONE]'));
      assert.equal(cut.stats.requests, 1, 'not retried after the first byte');
      assert.equal(cut.stats.streamsCut, 1);
      assert.equal(live.stats.requests, liveBefore, 'no fallback spliced in');
    });
  });

  describe(`${label}: balancing strategies`, () => {
    const { sim, gateway } = fixtures();

    test('least-busy sends new requests away from a target holding slow streams', async () => {
      const busy = await sim({ tokensPerSecond: 10, outputTokens: 10 }); // 1 s streams
      const quick = await sim({});
      const gw = await gateway({
        routing: { max_attempts: 1 },
        providers: [upstream('busy', busy.url), upstream('quick', quick.url)],
        models: [
          {
            name: 'm',
            strategy: 'least-busy',
            targets: [
              { provider: 'busy', model },
              { provider: 'quick', model },
            ],
          },
        ],
      });
      const pending: Promise<Reply>[] = [];
      for (let i = 0; i < 20; i++) {
        pending.push(chat(gw, 'm', { stream: true }));
        await sleep(25);
      }
      const replies = await Promise.all(pending);
      assert.ok(replies.every(completeStream));
      assert.ok(busy.stats.requests <= 3, `the busy target got ${busy.stats.requests} of 20`);
    });

    test('latency prefers the faster target and ejects a 3x-slower outlier', async () => {
      // Wide gaps: the simulators share the test's event loop, so a busy CI machine adds lag to every sample.
      const fast = await sim({ latencyMs: 5 });
      const medium = await sim({ latencyMs: 100 });
      const slow = await sim({ latencyMs: 600 });
      const gw = await gateway({
        routing: { max_attempts: 1 },
        providers: [upstream('fast', fast.url), upstream('medium', medium.url), upstream('slow', slow.url)],
        models: [
          {
            name: 'm',
            strategy: 'latency',
            targets: ['fast', 'medium', 'slow'].map((provider) => ({ provider, model })),
          },
        ],
      });
      // Warm-up all at once: unmeasured targets go first, so each gets samples (outliers are judged from 5).
      await load(45, 45, async () => {
        assert.equal((await chat(gw, 'm')).status, 200);
      });
      // Then a few one at a time: 45 at once on a loaded machine lag the fast targets' samples too, which
      // can hide the slow one's outlier ratio; these bring the fast EWMAs back to what the targets do.
      for (let i = 0; i < 15; i++) assert.equal((await chat(gw, 'm')).status, 200);
      const before = { fast: fast.stats.requests, medium: medium.stats.requests, slow: slow.stats.requests };
      assert.ok(before.slow >= 5, `the slow one was measured: ${before.slow}`);
      for (let i = 0; i < 40; i++) assert.equal((await chat(gw, 'm')).status, 200);
      assert.equal(slow.stats.requests, before.slow, 'ejected: no traffic');
      const fastShare = (fast.stats.requests - before.fast) / 40;
      assert.ok(fastShare >= 0.75, `the fastest got ${fastShare * 100}%`);
    });

    test('cost prefers the cheaper target', async () => {
      const pricey = await sim({});
      const cheap = await sim({});
      const gw = await gateway({
        routing: { max_attempts: 1 },
        providers: [upstream('pricey', pricey.url), upstream('cheap', cheap.url)],
        models: [
          {
            name: 'm',
            strategy: 'cost',
            targets: [
              { provider: 'pricey', model, weight: 10, price: { input_per_mtok: 10, output_per_mtok: 30 } },
              { provider: 'cheap', model, price: { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
            ],
          },
        ],
      });
      await load(20, 5, async () => {
        assert.equal((await chat(gw, 'm')).status, 200);
      });
      assert.equal(cheap.stats.requests, 20);
      assert.equal(pricey.stats.requests, 0);
    });

    test('a target at its concurrency limit is skipped while full', async () => {
      const limited = await sim({ latencyMs: 300 });
      const spare = await sim({});
      const gw = await gateway({
        routing: { max_attempts: 2 },
        providers: [upstream('limited', limited.url), upstream('spare', spare.url)],
        models: [
          {
            // The cost order puts the limited target first every time (weights of 1,000 to 1 still
            // picked the spare first one request in a thousand, which then skipped nothing).
            name: 'm',
            strategy: 'cost',
            targets: [
              {
                provider: 'limited',
                model,
                limits: { concurrency: 1 },
                price: { input_per_mtok: 0.15, output_per_mtok: 0.6 },
              },
              { provider: 'spare', model, price: { input_per_mtok: 10, output_per_mtok: 30 } },
            ],
          },
        ],
      });
      const first = chat(gw, 'm');
      await waitFor(() => limited.stats.inFlight === 1, 1_000, 'the slow request to be in flight');
      const others = await Promise.all(Array.from({ length: 5 }, () => chat(gw, 'm')));
      for (const reply of others) {
        assert.equal(reply.status, 200);
        assert.equal(reply.headers.get('x-sluice-provider'), 'spare');
        assert.match(reply.headers.get('x-sluice-route') ?? '', /limited\/gpt-4o-mini:skipped\(at-limit\)/);
      }
      assert.equal((await first).headers.get('x-sluice-provider'), 'limited');
      assert.equal(limited.stats.requests, 1);
      // The client can have the whole answer a moment before the gateway settles the slot: wait for it.
      for (let i = 0; i < 50; i++) {
        const busy = await metric(gw, 'sluice_target_in_flight', {
          provider: 'limited',
          target_model: model,
        });
        if (busy === 0) break;
        await sleep(10);
      }
      assert.equal((await chat(gw, 'm')).headers.get('x-sluice-provider'), 'limited', 'free again');
    });
  });
}
