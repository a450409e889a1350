/**
 * A histogram whose series the request path adds to in plain numbers, rendered by prom-client's Registry.
 *
 * Why not prom-client's Histogram: its observe() (even on a bound child) rebuilds a label/value pair,
 * validates the labels, hashes them and looks the series up in an object on every call, about 1-2 µs,
 * and a request observes three or four histograms. Here a series is an object the caller keeps: an
 * observation finds its bucket among a dozen bounds and adds to two numbers. The Registry needs only
 * what it reads from any metric (name, help, type, aggregator, get/getForPromString, reset), so the
 * exposition, Prometheus text and OpenMetrics with exemplars alike, stays prom-client's.
 */
import type { Registry, RegistryContentType } from 'prom-client';

/** A bucket's most recent exemplar, in the shape prom-client's exposition reads. */
interface Exemplar {
  labelSet: Record<string, string>;
  value: number;
  /** Seconds since the epoch, as OpenMetrics writes it. */
  timestamp: number;
}

/** One label set's buckets. `observe` is the request path's whole cost. */
export class HistogramSeries {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** Per bucket, made on the first exemplar only: histograms without exemplars carry none. */
  exemplars: (Exemplar | undefined)[] | undefined;

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    this.add(value);
  }

  /** Observes and keeps `traceId` as the bucket's exemplar (the latest one wins, as in prom-client). */
  observeWithTrace(value: number, traceId: string): void {
    const bucket = this.add(value);
    this.exemplars ??= new Array<Exemplar | undefined>(this.counts.length).fill(undefined);
    this.exemplars[bucket] = { labelSet: { trace_id: traceId }, value, timestamp: Date.now() / 1000 };
  }

  /** Counts `value` in its bucket and returns the bucket. */
  private add(value: number): number {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
    return i;
  }
}

export interface TalliedHistogramConfiguration {
  name: string;
  help: string;
  labelNames: readonly string[];
  buckets: readonly number[];
  registers: Registry<RegistryContentType>[];
}

/** What prom-client's Registry reads from a metric to render it. */
interface MetricData {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: ExportedValue[];
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: Exemplar | null;
}

export class TalliedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(configuration: TalliedHistogramConfiguration) {
    this.name = configuration.name;
    this.help = configuration.help;
    this.labelNames = configuration.labelNames;
    const bounds = [...configuration.buckets].sort((a, b) => a - b);
    if (bounds.length === 0 || bounds.some((b) => !Number.isFinite(b)))
      throw new TypeError(`${this.name}: buckets must be finite numbers`);
    this.bounds = bounds;
    for (const registry of configuration.registers) registry.registerMetric(this as never);
  }

  /**
   * The series of one label set, made on first use. Callers keep it (the point of this class); `labels`
   * must name exactly the configured label names.
   */
  seriesOf(labels: Record<string, string>): HistogramSeries {
    const values = this.labelNames.map((name) => {
      const value = labels[name];
      if (typeof value !== 'string') throw new TypeError(`${this.name}: label ${name} is missing`);
      return value;
    });
    if (Object.keys(labels).length !== this.labelNames.length)
      throw new TypeError(`${this.name}: labels must be exactly ${this.labelNames.join(', ')}`);
    const key = values.join('\u0000');
    let series = this.series.get(key);
    if (series === undefined) {
      series = new HistogramSeries({ ...labels }, this.bounds);
      this.series.set(key, series);
    }
    return series;
  }

  /** The exposition's values: cumulative buckets with their exemplars, +Inf, _sum and _count. */
  getForPromString(): Promise<MetricData> {
    const values: ExportedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({
          labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf' },
          sharedLabels: series.labels,
          value: cumulative,
          metricName: bucketName,
          exemplar: series.exemplars?.[i] ?? null,
        });
      }
      values.push(
        { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** The JSON form (Registry.getMetricsAsJSON): each value's labels are the series' labels plus `le`. */
  async get(): Promise<MetricData> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, ...value }) => ({
      ...value,
      labels: { ...sharedLabels, ...value.labels },
    }));
    return data;
  }

  /** Registry.resetMetrics(): every series back to zero, kept so that callers' references stay valid. */
  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
      series.exemplars = undefined;
    }
  }
}
