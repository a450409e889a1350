/**
 * The operations kit (deploy/prometheus/alerts.yml, deploy/prometheus/alerts.test.yml, docs/runbooks/,
 * deploy/grafana/sluice-dashboard.json) against itself and against a real gateway:
 * - every alert has its labels and annotations, a runbook that exists and a dashboard panel that exists;
 * - every metric an alert or a panel reads is one the gateway exposes on /metrics, and the panels that show
 *   exemplars read histograms whose exemplars carry the trace id that the access log and the request log
 *   carry too (the way from a page to one request's trace and log lines);
 * - promtool, when installed (`.ci/run` installs Debian's `prometheus` package), checks the rules and runs
 *   their unit tests; the dashboard is validated against a schema of what Grafana needs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { startGateway, waitFor, type TestGateway } from './helpers/gateway.js';

const run = promisify(execFile);

/** The repository root: this file runs from dist/test/ (or another build directory's test/). */
const root = fileURLToPath(new URL('../../', import.meta.url));
const alertsPath = join(root, 'deploy/prometheus/alerts.yml');
const alertTestsPath = join(root, 'deploy/prometheus/alerts.test.yml');
const dashboardPath = join(root, 'deploy/grafana/sluice-dashboard.json');
const runbooksDir = join(root, 'docs/runbooks');

/** The placeholder bases docs/runbooks/README.md tells deployments to rewrite. */
const runbookBase = 'https://github.com/YOUR-ORG/sluice/blob/main/';
const dashboardBase = 'https://grafana.example.com/d/sluice-overview/';

// ---- The files, parsed ---------------------------------------------------------------------------------

const ruleSchema = z.union([
  z.object({
    alert: z.string().regex(/^Sluice[A-Za-z0-9]+$/),
    expr: z.string().min(1),
    for: z.string().regex(/^\d+[smhd]$/),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
  }),
  z.object({ record: z.string().regex(/^sluice:[a-z0-9_]+:[a-z0-9_]+$/), expr: z.string().min(1) }),
]);
const rulesFileSchema = z.object({
  groups: z.array(
    z.object({ name: z.string(), interval: z.string().optional(), rules: z.array(ruleSchema).min(1) }),
  ),
});
type Rule = z.infer<typeof ruleSchema>;
type AlertRule = Extract<Rule, { alert: string }>;
type RecordingRule = Extract<Rule, { record: string }>;

const alertTestsSchema = z.object({
  rule_files: z.array(z.string()),
  tests: z.array(
    z.object({
      name: z.string(),
      input_series: z.array(z.object({ series: z.string(), values: z.string() })),
      alert_rule_test: z.array(
        z.object({ eval_time: z.string(), alertname: z.string(), exp_alerts: z.array(z.unknown()) }),
      ),
    }),
  ),
});

const rules: Rule[] = rulesFileSchema
  .parse(parse(readFileSync(alertsPath, 'utf8')))
  .groups.flatMap((g) => g.rules);
const alerts = rules.filter((r): r is AlertRule => 'alert' in r);
const recordings = rules.filter((r): r is RecordingRule => 'record' in r);
const recorded = new Set(recordings.map((r) => r.record));

// ---- The dashboard's schema: what Grafana needs to import it, and what links from the alerts rely on ----

const datasourceRef = z.object({ type: z.literal('prometheus'), uid: z.literal('${datasource}') });
const gridPos = z
  .object({
    h: z.number().int().positive(),
    w: z.number().int().min(1).max(24),
    x: z.number().int().min(0).max(23),
    y: z.number().int().min(0),
  })
  .refine((g) => g.x + g.w <= 24, 'a panel must fit the 24-column grid');
const queryTarget = z.object({
  datasource: datasourceRef,
  refId: z.string().regex(/^[A-Z]+$/),
  expr: z.string().min(1),
  legendFormat: z.string().optional(),
  exemplar: z.boolean().optional(),
  format: z.enum(['time_series', 'table', 'heatmap']).optional(),
  instant: z.boolean().optional(),
  range: z.boolean().optional(),
});
const rowPanel = z.object({
  id: z.number().int().positive(),
  type: z.literal('row'),
  title: z.string().min(1),
  gridPos,
  collapsed: z.boolean(),
  panels: z.array(z.unknown()),
});
const queryPanel = z.object({
  id: z.number().int().positive(),
  type: z.enum(['timeseries', 'heatmap', 'stat', 'gauge', 'bargauge', 'table', 'state-timeline']),
  title: z.string().min(1),
  description: z.string().optional(),
  datasource: datasourceRef,
  gridPos,
  targets: z.array(queryTarget).min(1),
  fieldConfig: z.object({ defaults: z.record(z.string(), z.unknown()), overrides: z.array(z.unknown()) }),
  options: z.record(z.string(), z.unknown()),
});
const templateVariable = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('datasource'),
    name: z.literal('datasource'),
    query: z.literal('prometheus'),
  }),
  z.object({
    type: z.literal('query'),
    name: z.string().regex(/^[a-z_]+$/),
    datasource: datasourceRef,
    definition: z.string().min(1),
    query: z.union([z.string().min(1), z.object({ query: z.string().min(1) })]),
    refresh: z.union([z.literal(1), z.literal(2)]),
    includeAll: z.boolean(),
    multi: z.boolean(),
    allValue: z.string().optional(),
  }),
]);
const dashboardSchema = z.object({
  uid: z.literal('sluice-overview'),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(39),
  time: z.object({ from: z.string(), to: z.string() }),
  templating: z.object({ list: z.array(templateVariable) }),
  panels: z.array(z.union([rowPanel, queryPanel])).min(1),
});
type Dashboard = z.infer<typeof dashboardSchema>;
type QueryPanel = z.infer<typeof queryPanel>;

const dashboardJson: unknown = JSON.parse(readFileSync(dashboardPath, 'utf8'));

function queryPanels(dashboard: Dashboard): QueryPanel[] {
  return dashboard.panels.filter((p): p is QueryPanel => p.type !== 'row');
}

// ---- Metric names in PromQL --------------------------------------------------------------------------

const promqlKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool']);
const promqlKeywordsAnyCase = new Set(['and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
 * grouping lists, Grafana variables, function calls and keywords are taken out. Good enough for the
 * expressions here (the test below proves it on the constructs they use); not a PromQL parser.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const word = match[1] as string;
    if (match[2] !== undefined) continue;
    if (promqlKeywords.has(word) || promqlKeywordsAnyCase.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** label_values(metric{...}, label) → the metric's expression; other variable queries as they are. */
function variableExpr(query: string): string {
  const m = /^\s*label_values\(\s*(.+),\s*\w+\s*\)\s*$/s.exec(query);
  return m === null ? query : (m[1] as string);
}

/** Names that may appear in a query from a `# TYPE` exposition line. */
function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m === null) continue;
    const [, name = '', type] = m;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
    // OpenMetrics names a counter without its _total suffix; its samples carry it.
    if (type === 'counter' && !name.endsWith('_total')) names.add(`${name}_total`);
  }
  return names;
}

const runbookOf = (rule: AlertRule): string => rule.annotations['runbook_url'] ?? '';

// ---- (a) the alerts, their runbooks and their panels ---------------------------------------------------

describe('ops kit: alerts, runbooks and dashboard links', () => {
  const dashboard = dashboardSchema.parse(dashboardJson);
  const panelsById = new Map(dashboard.panels.map((p) => [p.id, p]));
  const variables = new Set(dashboard.templating.list.map((v) => v.name));

  test('the rules file has the alerts the issue asks for', () => {
    const names = new Set(alerts.map((a) => a.alert));
    for (const name of [
      'SluiceHighErrorRate',
      'SluiceHighLatencyP99',
      'SluiceSlowTimeToFirstToken',
      'SluiceLoadShedding',
      'SluiceBudgetBurn',
      'SluiceBudgetExhausted',
      'SluiceCircuitBreakerOpen',
      'SluiceStateBackendDegraded',
      'SluiceLedgerNotCommitting',
      'SluiceLedgerRowsDropped',
    ])
      assert.ok(names.has(name), `alerts.yml has no ${name}`);
  });

  test('every alert has service, severity and team labels and the four annotations', () => {
    // Recording rules that give their series a `team` label (label_replace onto "team").
    const teamRecordings = recordings.filter((r) => /label_replace\([^]*?"team"/.test(r.expr));
    for (const rule of alerts) {
      const what = `${rule.alert} (severity ${rule.labels['severity']})`;
      assert.equal(rule.labels['service'], 'sluice', `${what}: service label`);
      assert.ok(['page', 'ticket'].includes(rule.labels['severity'] ?? ''), `${what}: severity page|ticket`);
      if (rule.labels['team'] === undefined) {
        // Allowed only when the expression itself routes the alert: its series carry `team`.
        const routed =
          /label_replace\([^]*?"team"/.test(rule.expr) ||
          teamRecordings.some((r) => metricNames(rule.expr).includes(r.record));
        assert.ok(routed, `${what}: no team label, and the expression does not set one`);
      } else {
        assert.equal(rule.labels['team'], 'platform', `${what}: team`);
      }
      for (const name of ['summary', 'description', 'runbook_url', 'dashboard_url'])
        assert.ok((rule.annotations[name] ?? '').trim() !== '', `${what}: annotation ${name}`);
      // The description names what it is about, from the series' own labels or value.
      assert.match(rule.annotations['description'] ?? '', /\$labels\.|\$value/, `${what}: templated`);
    }
  });

  test('every runbook_url points to a runbook under docs/runbooks/, one per alert, all indexed', () => {
    const byAlert = new Map<string, Set<string>>();
    for (const rule of alerts) {
      const url = runbookOf(rule);
      assert.ok(url.startsWith(runbookBase), `${rule.alert}: runbook_url ${url} is not under ${runbookBase}`);
      const path = url.slice(runbookBase.length);
      assert.match(path, /^docs\/runbooks\/[a-z0-9-]+\.md$/, `${rule.alert}: runbook path ${path}`);
      assert.ok(existsSync(join(root, path)), `${rule.alert}: ${path} does not exist`);
      byAlert.set(rule.alert, (byAlert.get(rule.alert) ?? new Set()).add(path));
    }
    for (const [alert, paths] of byAlert) assert.equal(paths.size, 1, `${alert} has one runbook`);
    const used = new Set([...byAlert.values()].flatMap((paths) => [...paths]));
    const files = readdirSync(runbooksDir).filter((f) => f.endsWith('.md') && f !== 'README.md');
    assert.deepEqual(
      files.map((f) => `docs/runbooks/${f}`).sort(),
      [...used].sort(),
      'every runbook belongs to an alert',
    );
    const index = readFileSync(join(runbooksDir, 'README.md'), 'utf8');
    for (const file of files) assert.ok(index.includes(`(${file})`), `README.md links ${file}`);
    for (const alert of byAlert.keys()) assert.ok(index.includes(alert), `README.md names ${alert}`);
  });

  test('every dashboard_url opens a panel of the dashboard, with variables it has', () => {
    for (const rule of alerts) {
      const url = rule.annotations['dashboard_url'] ?? '';
      assert.ok(
        url.startsWith(dashboardBase),
        `${rule.alert}: dashboard_url ${url} is not under ${dashboardBase}`,
      );
      const query = new URLSearchParams(url.slice(url.indexOf('?') + 1));
      const viewPanel = /^(?:panel-)?(\d+)$/.exec(query.get('viewPanel') ?? '');
      assert.ok(viewPanel !== null, `${rule.alert}: dashboard_url has no viewPanel=<id>`);
      const panel = panelsById.get(Number(viewPanel[1]));
      assert.ok(panel !== undefined, `${rule.alert}: panel ${viewPanel[1]} is not in the dashboard`);
      assert.notEqual(panel.type, 'row', `${rule.alert}: panel ${viewPanel[1]} is a row`);
      for (const name of query.keys())
        if (name.startsWith('var-'))
          assert.ok(variables.has(name.slice(4)), `${rule.alert}: the dashboard has no variable ${name}`);
    }
  });

  test('every alert is shown firing and quiet by the promtool unit tests', () => {
    const suite = alertTestsSchema.parse(parse(readFileSync(alertTestsPath, 'utf8')));
    assert.deepEqual(suite.rule_files, ['alerts.yml']);
    const cases = suite.tests.flatMap((t) => t.alert_rule_test);
    for (const name of new Set(alerts.map((a) => a.alert))) {
      assert.ok(
        cases.some((c) => c.alertname === name && c.exp_alerts.length > 0),
        `${name}: no test case where it fires`,
      );
      assert.ok(
        cases.some((c) => c.alertname === name && c.exp_alerts.length === 0),
        `${name}: no test case where it stays quiet`,
      );
    }
    for (const rule of alerts) {
      const severity = rule.labels['severity'];
      const fires = cases.some(
        (c) =>
          c.alertname === rule.alert &&
          c.exp_alerts.some((a) => {
            const labels = (a as { exp_labels?: Record<string, unknown> }).exp_labels ?? {};
            return labels['severity'] === severity;
          }),
      );
      assert.ok(fires, `${rule.alert} (severity ${severity}): no test case where this rule fires`);
    }
  });
});

// ---- (c) promtool and the dashboard's schema ---------------------------------------------------------

async function havePromtool(): Promise<boolean> {
  try {
    await run('promtool', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('ops kit: promtool and the dashboard schema', () => {
  test('promtool check rules deploy/prometheus/alerts.yml', async (t) => {
    if (!(await havePromtool())) {
      t.skip('promtool is not on PATH (apt-get install prometheus)');
      return;
    }
    const { stdout } = await run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml'], {
      cwd: root,
    });
    assert.match(stdout, /SUCCESS: \d+ rules found/);
  });

  test('promtool test rules deploy/prometheus/alerts.test.yml', async (t) => {
    if (!(await havePromtool())) {
      t.skip('promtool is not on PATH (apt-get install prometheus)');
      return;
    }
    try {
      const { stdout } = await run('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml'], {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      });
      assert.match(stdout, /SUCCESS/);
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      assert.fail(`promtool test rules failed:\n${stdout}${stderr}`);
    }
  });

  test('the dashboard has what Grafana needs: uid, title, panels with id, type, gridPos and targets', () => {
    const result = dashboardSchema.safeParse(dashboardJson);
    assert.ok(result.success, result.success ? '' : z.prettifyError(result.error));
    const dashboard = result.data;
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    // No two panels overlap on the grid.
    const cells = new Map<string, number>();
    for (const p of dashboard.panels)
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const other = cells.get(`${x},${y}`);
          assert.equal(other, undefined, `panels ${other} and ${p.id} overlap at ${x},${y}`);
          cells.set(`${x},${y}`, p.id);
        }
    const variables = dashboard.templating.list.map((v) => v.name);
    for (const name of ['datasource', 'model', 'provider', 'target', 'team'])
      assert.ok(variables.includes(name), `templating variable ${name}`);
    for (const panel of queryPanels(dashboard)) {
      const refIds = panel.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel ${panel.id}: refIds are unique`);
      for (const target of panel.targets)
        for (const m of target.expr.matchAll(/\$(\w+)/g))
          if (!(m[1] as string).startsWith('__'))
            assert.ok(variables.includes(m[1] as string), `panel ${panel.id} uses $${m[1]}, not a variable`);
    }
  });

  test('latency and TTFT panels show exemplars; every area of the issue has a panel', () => {
    const dashboard = dashboardSchema.parse(dashboardJson);
    const targets = queryPanels(dashboard).flatMap((p) => p.targets.map((t) => ({ panel: p, target: t })));
    for (const histogram of [
      'sluice_request_duration_seconds_bucket',
      'sluice_time_to_first_token_seconds_bucket',
    ]) {
      const reading = targets.filter(({ target }) => metricNames(target.expr).includes(histogram));
      assert.ok(reading.length > 0, `a panel reads ${histogram}`);
      for (const { panel, target } of reading)
        assert.equal(target.exemplar, true, `panel ${panel.id} ${target.refId}: exemplar: true`);
      assert.ok(
        reading.some(({ panel }) => panel.type === 'heatmap'),
        `a heatmap shows ${histogram}'s buckets`,
      );
    }
    const used = new Set(targets.flatMap(({ target }) => metricNames(target.expr)));
    for (const metric of [
      'sluice_requests_total',
      'sluice_requests_in_flight',
      'sluice_time_per_output_token_seconds_bucket',
      'sluice_output_tokens_per_second_bucket',
      'sluice_tokens_total',
      'sluice_cost_usd_total',
      'sluice_admission_decisions_total',
      'sluice_admission_queue_length',
      'sluice_admission_queue_wait_seconds_bucket',
      'sluice_adaptive_concurrency_limit',
      'sluice_route_decisions_total',
      'sluice_upstream_attempts_total',
      'sluice_breaker_state',
      'sluice_budget_spent_usd',
      'sluice_budget_limit_usd',
      'sluice_cache_results_total',
      'sluice_state_degraded',
    ])
      assert.ok(used.has(metric), `no panel shows ${metric}`);
  });
});

// ---- (b) the metrics the kit reads are the gateway's --------------------------------------------------

describe('ops kit: every metric it reads is one the gateway exposes', () => {
  let gateway: TestGateway;
  let degraded: TestGateway;
  const traceId = randomBytes(16).toString('hex');
  const adminKey = 'sk-ops-kit-admin-000001';
  const key = 'sk-ops-kit-app-0000001';

  before(async () => {
    gateway = await startGateway({
      server: { admin_key: adminKey },
      providers: [{ name: 'sim', kind: 'simulator', simulator: { ttft_ms: 5, output_tokens: 8 } }],
      models: [
        {
          name: 'm',
          targets: [{ provider: 'sim', model: 'sim-model' }],
          price: { input_per_mtok: 1, output_per_mtok: 2 },
        },
      ],
      // The queue and its adaptive limit exist only with adaptive concurrency on.
      admission: { adaptive_concurrency: { enabled: true } },
      // The budget gauges report keys' and teams' budgets; limits bring the limits stage.
      teams: [{ name: 'ops', limits: { rpm: 10_000 }, budget: { usd: 100, period: 'monthly' } }],
      keys: [
        {
          name: 'ops-app',
          key,
          team: 'ops',
          limits: { rpm: 10_000 },
          budget: { usd: 10, period: 'daily' },
        },
      ],
    });
    // The state backend's gauges exist with Redis as the backend: an address where nothing answers starts
    // the gateway degraded (state.on_error: open), which is what they are there to show.
    degraded = await startGateway({
      state: {
        backend: 'redis',
        redis_url: 'redis://127.0.0.1:9/0',
        on_error: 'open',
        key_prefix: '{sluice-ops-kit}:',
        replicas: 1,
      },
      providers: [{ name: 'sim', kind: 'simulator' }],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'sim-model' }] }],
      keys: [{ name: 'limited', key: 'sk-ops-kit-limited-01', limits: { rpm: 100 } }],
    });
    // One streamed request in a sampled trace, so the histograms have observations and exemplars.
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: JSON.stringify({
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    assert.equal(response.status, 200);
    await response.text();
  });

  after(async () => {
    await gateway?.close();
    await degraded?.close();
  });

  async function scrape(gw: TestGateway, accept?: string): Promise<string> {
    const response = await fetch(`${gw.url}/metrics`, accept === undefined ? {} : { headers: { accept } });
    assert.equal(response.status, 200);
    return response.text();
  }

  test('the PromQL name extractor finds metrics and nothing else', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (le, model) (rate(a_bucket{route!="x", model=~"$model"}[$__rate_interval])))' +
          ' / on (model) group_left b_total offset 5m > 1e3 and c:recorded:ratio unless vector(0)' +
          ' or label_replace(d, "team", "$1", "name", "(.*)") > bool 2',
      ),
      ['a_bucket', 'b_total', 'c:recorded:ratio', 'd'],
    );
    assert.equal(
      variableExpr('label_values(sluice_requests_total{route="chat"}, model)'),
      'sluice_requests_total{route="chat"}',
    );
  });

  test("alert expressions read only exposed metrics (or the rules file's own recordings)", async () => {
    const exposed = new Set([
      ...exposedNames(await scrape(gateway)),
      ...exposedNames(await scrape(degraded)),
    ]);
    const missing: string[] = [];
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      const what = 'alert' in rule ? `alert ${rule.alert}` : `recording ${rule.record}`;
      assert.ok(names.length > 0, `${what}: no metric found in its expression`);
      for (const name of names)
        if (!exposed.has(name) && !recorded.has(name)) missing.push(`${what}: ${name}`);
    }
    assert.deepEqual(missing, [], `metrics the gateway does not expose:\n${missing.join('\n')}`);
  });

  test('dashboard queries and variables read only exposed metrics', async () => {
    const exposed = new Set([
      ...exposedNames(await scrape(gateway)),
      ...exposedNames(await scrape(degraded)),
    ]);
    const dashboard = dashboardSchema.parse(dashboardJson);
    const missing: string[] = [];
    for (const panel of queryPanels(dashboard))
      for (const target of panel.targets) {
        const names = metricNames(target.expr);
        assert.ok(names.length > 0, `panel ${panel.id} ${target.refId}: no metric found`);
        for (const name of names)
          if (!exposed.has(name)) missing.push(`panel ${panel.id} "${panel.title}": ${name}`);
      }
    for (const variable of dashboard.templating.list) {
      if (variable.type !== 'query') continue;
      for (const name of metricNames(variableExpr(variable.definition)))
        if (!exposed.has(name)) missing.push(`variable ${variable.name}: ${name}`);
    }
    assert.deepEqual(missing, [], `metrics the gateway does not expose:\n${missing.join('\n')}`);
  });

  test('from an exemplar to the trace and the log lines: one trace_id all the way', async () => {
    const dashboard = dashboardSchema.parse(dashboardJson);
    const withExemplars = new Set(
      queryPanels(dashboard).flatMap((p) =>
        p.targets.filter((t) => t.exemplar === true).flatMap((t) => metricNames(t.expr)),
      ),
    );
    assert.ok(withExemplars.size > 0);
    const openMetrics = await scrape(gateway, 'application/openmetrics-text; version=1.0.0');
    for (const name of withExemplars) {
      const lines = openMetrics.split('\n').filter((l) => l.startsWith(`${name}{`));
      assert.ok(
        lines.some((l) => l.includes(`# {trace_id="${traceId}"}`)),
        `${name}: no bucket carries the request's trace_id as its exemplar`,
      );
    }
    // The access log line carries the same trace id, and the request id that names it everywhere else.
    await waitFor(() => gateway.logs.some((l) => l['msg'] === 'request'), 2_000, 'the access log line');
    const line = gateway.logs.find((l) => l['msg'] === 'request' && l['trace_id'] === traceId);
    assert.ok(line !== undefined, 'an access log line with the trace_id');
    assert.match(String(line['request_id']), /\S/);
    // The request log finds it by trace id (the ledger writes in batches: wait for the row).
    let rows: Record<string, unknown>[] = [];
    const deadline = Date.now() + 10_000;
    while (rows.length === 0 && Date.now() < deadline) {
      const response = await fetch(`${gateway.url}/admin/requests?trace_id=${traceId}`, {
        headers: { authorization: `Bearer ${adminKey}` },
      });
      assert.equal(response.status, 200);
      rows = ((await response.json()) as { data: Record<string, unknown>[] }).data;
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(rows.length, 1, `/admin/requests?trace_id=${traceId} finds the request`);
    assert.equal(rows[0]?.['request_id'], line['request_id']);
    assert.equal(rows[0]?.['model'], 'm');
  });
});
