import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../config/load.js';
import { LedgerWriter } from '../ledger/ledger-writer.js';
import type { LedgerRow } from '../ledger/ledger.js';
import { RequestContext } from '../pipeline/context.js';
import type { ModelRoute, Target } from '../routing/catalog.js';
import { PriceBook } from '../spend/price-book.js';
import { publish, requestEnd, requestStart } from './events.js';
import { createMetrics } from './metrics.js';
import { prefersOpenMetrics } from './metrics-endpoint.js';

const config = validateConfig({
  providers: [{ name: 'p', kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', api_key: 'x' }],
  models: [
    {
      name: 'm',
      targets: [{ provider: 'p', model: 'x' }],
      price: { input_per_mtok: 1_000, output_per_mtok: 2_000, cached_input_per_mtok: 100 },
    },
  ],
});

function answered(owner: object, team: string | undefined, costUsd?: number): RequestContext {
  const ctx = new RequestContext(
    owner,
    'request-id',
    'chat',
    undefined,
    {} as IncomingMessage,
    {} as ServerResponse,
    performance.now() - 50,
  );
  ctx.key = { name: 'k', team } as RequestContext['key'];
  ctx.model = { name: 'm' } as ModelRoute;
  ctx.target = { id: 'p/x', model: 'x', provider: { name: 'p' } } as unknown as Target;
  ctx.status = 200;
  ctx.usage = { inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 10 };
  ctx.costUsd = costUsd;
  return ctx;
}

function valueOf(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('cost comes from the budget stage when it ran, else from the price book; cached input is its own type', async () => {
  const owner = {};
  const metrics = createMetrics(owner, () => [], undefined, new PriceBook(config.models));
  try {
    for (const ctx of [answered(owner, 'budgeted', 0.5), answered(owner, undefined)]) {
      publish(requestStart, ctx);
      publish(requestEnd, ctx);
    }
    const text = await metrics.render(false);
    assert.equal(valueOf(text, 'sluice_cost_usd_total{model="m",provider="p",team="budgeted"}'), 0.5);
    // 600 uncached × $1,000 + 400 cached × $100 + 10 output × $2,000, per million.
    assert.ok(
      Math.abs((valueOf(text, 'sluice_cost_usd_total{model="m",provider="p",team="none"}') ?? 0) - 0.66) <
        1e-12,
    );
    const tokens = (type: string): number | undefined =>
      valueOf(text, `sluice_tokens_total{model="m",provider="p",team="none",type="${type}"}`);
    assert.equal(tokens('input'), 1_000);
    assert.equal(tokens('cached_input'), 400);
    assert.equal(tokens('output'), 10);
  } finally {
    metrics.close();
  }
});

test("without a price book, only the budget stage's cost is counted", async () => {
  const owner = {};
  const metrics = createMetrics(owner);
  try {
    const ctx = answered(owner, 'free');
    publish(requestStart, ctx);
    publish(requestEnd, ctx);
    const text = await metrics.render(false);
    assert.equal(valueOf(text, 'sluice_cost_usd_total{'), undefined);
    assert.equal(valueOf(text, 'sluice_tokens_total{model="m",provider="p",team="free",type="output"}'), 10);
  } finally {
    metrics.close();
  }
});

test("another gateway's requests are not counted", async () => {
  const metrics = createMetrics({});
  try {
    const ctx = answered({}, 'elsewhere');
    publish(requestStart, ctx);
    publish(requestEnd, ctx);
    assert.ok(!(await metrics.render(false)).includes('elsewhere'));
  } finally {
    metrics.close();
  }
});

test('renders of both formats at once each come out whole and right', async () => {
  const owner = {};
  const metrics = createMetrics(owner);
  try {
    const ctx = answered(owner, 't');
    ctx.traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    ctx.traceSampled = true;
    publish(requestStart, ctx);
    publish(requestEnd, ctx);
    const texts = await Promise.all([true, false, true, false].map((open) => metrics.render(open)));
    for (const [i, text] of texts.entries()) {
      const open = i % 2 === 0;
      assert.equal(text.endsWith('# EOF\n'), open);
      assert.equal(text.includes('# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}'), open);
      assert.match(
        text,
        open ? /^# TYPE sluice_requests counter$/m : /^# TYPE sluice_requests_total counter$/m,
      );
      assert.match(text, /^sluice_requests_total\{/m);
    }
  } finally {
    metrics.close();
  }
});

test('OpenMetrics is served when the Accept header prefers it over the text format', () => {
  // Prometheus 2.x and 3.x defaults.
  assert.ok(
    prefersOpenMetrics(
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ),
  );
  assert.ok(
    prefersOpenMetrics(
      'application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    ),
  );
  assert.ok(prefersOpenMetrics('Application/OpenMetrics-Text'));
  assert.ok(!prefersOpenMetrics(undefined));
  assert.ok(!prefersOpenMetrics('*/*'));
  assert.ok(!prefersOpenMetrics('text/plain'));
  assert.ok(!prefersOpenMetrics('text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5'));
  assert.ok(!prefersOpenMetrics('application/openmetrics-text;q=0'));
  assert.ok(!prefersOpenMetrics('application/openmetrics-text;q=nope'));
});

test('the ledger series follow the writer: a refusing database shows as failures and a backlog, then drains', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-metrics-ledger-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  let refusing = true;
  let inserted = 0;
  const store = {
    insert: async (rows: readonly LedgerRow[]): Promise<number> => {
      if (refusing) throw new Error('database away');
      inserted += rows.length;
      return rows.length;
    },
  };
  const writer = LedgerWriter.open({
    store,
    journalDirectory: directory,
    flushIntervalMs: 5,
    retryInitialMs: 5,
    retryMaxMs: 10,
    onError: () => {},
  });
  const metrics = createMetrics({}, () => [], undefined, undefined, writer);
  try {
    for (let i = 0; i < 3; i++) {
      writer.record({
        request_id: `req-${i}`,
        ts: Date.UTC(2026, 0, 1) + i,
        key_name: 'k',
        model: 'm',
        status: 200,
        input_tokens: 1,
        output_tokens: 1,
        cost_usd: 0,
        latency_ms: 1,
        attempts: 1,
      });
    }
    while (writer.stats().failedBatches < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    let text = await metrics.render(false);
    assert.equal(valueOf(text, 'sluice_ledger_rows_total{stage="recorded"}'), 3);
    assert.equal(valueOf(text, 'sluice_ledger_rows_total{stage="acknowledged"}'), 3);
    assert.equal(valueOf(text, 'sluice_ledger_rows_total{stage="committed"}'), 0);
    assert.ok((valueOf(text, 'sluice_ledger_failed_batches_total') ?? 0) >= 2);
    assert.ok((valueOf(text, 'sluice_ledger_consecutive_failures') ?? 0) >= 2);
    assert.equal(valueOf(text, 'sluice_ledger_pending_segments'), 1);
    assert.ok((valueOf(text, 'sluice_ledger_journal_bytes') ?? 0) > 0);
    assert.equal(valueOf(text, 'sluice_ledger_rows_dropped_total'), 0);

    refusing = false;
    await writer.flush();
    text = await metrics.render(false);
    assert.equal(inserted, 3);
    assert.equal(valueOf(text, 'sluice_ledger_rows_total{stage="committed"}'), 3);
    assert.equal(valueOf(text, 'sluice_ledger_consecutive_failures'), 0);
    assert.equal(valueOf(text, 'sluice_ledger_pending_segments'), 0);

    // A closed writer refuses rows: they are counted as dropped.
    await writer.close();
    assert.equal(
      writer.record({
        request_id: 'late',
        ts: 1,
        key_name: 'k',
        model: 'm',
        status: 200,
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0,
        latency_ms: 1,
        attempts: 1,
      }),
      false,
    );
    text = await metrics.render(false);
    assert.equal(valueOf(text, 'sluice_ledger_rows_dropped_total'), 1);
  } finally {
    metrics.close();
    await writer.close();
  }
});

test('without a ledger there are no ledger series', async () => {
  const metrics = createMetrics({});
  try {
    assert.ok(!(await metrics.render(false)).includes('sluice_ledger_'));
  } finally {
    metrics.close();
  }
});
