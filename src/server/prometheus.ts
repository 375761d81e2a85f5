/**
 * The few Prometheus metric kinds the service exposes, in the text exposition format (0.0.4):
 * counters, gauges read at scrape time, and histograms. Nothing runs between scrapes: no timer,
 * no observer, no sampling — what a metric shows is computed when /metrics is asked.
 */

export type Labels = Readonly<Record<string, string | number>>;

/** `a="x",b="y"` with the format's escapes (backslash, double quote, line feed). */
function labelText(labels: Labels, names: readonly string[]): string {
  return names.map((n) => `${n}="${String(labels[n] ?? '').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

/** A float as Prometheus writes it. */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Metric {
  readonly name: string;
  render(): string;
}

export interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

abstract class Labelled<L extends string> implements Metric {
  readonly name: string;
  protected readonly help: string;
  protected readonly labelNames: readonly L[];
  /** Series by their label text. */
  protected readonly series = new Map<string, number>();

  constructor(opts: MetricOptions<L>, private readonly type: 'counter' | 'gauge', registry: Registry) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    registry.add(this);
  }

  protected key(labels: Partial<Record<L, string | number>> | undefined): string {
    return labelText((labels ?? {}) as Labels, this.labelNames);
  }

  protected add(labels: Partial<Record<L, string | number>> | undefined, by: number): void {
    const k = this.key(labels);
    this.series.set(k, (this.series.get(k) ?? 0) + by);
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} ${this.type}\n`;
    // An unlabelled metric is always there (0 until something happens), as client libraries do.
    if (this.labelNames.length === 0 && this.series.size === 0) out += `${this.name} 0\n`;
    for (const [k, v] of this.series) out += `${this.name}${k === '' ? '' : `{${k}}`} ${num(v)}\n`;
    return out;
  }
}

export class Counter<L extends string = never> extends Labelled<L> {
  constructor(opts: MetricOptions<L>, registry: Registry) {
    super(opts, 'counter', registry);
  }

  /** `inc()`, `inc(2)`, `inc({ result: 'changed' })`, `inc({ result: 'changed' }, 2)`; never down. */
  inc(labelsOrValue?: Partial<Record<L, string | number>> | number, value = 1): void {
    const [labels, by] = typeof labelsOrValue === 'number' ? [undefined, labelsOrValue] : [labelsOrValue, value];
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up (got ${by})`);
    this.add(labels, by);
  }
}

/** A gauge whose series are set from the service's state at each scrape. */
export class Gauge<L extends string = never> extends Labelled<L> {
  constructor(opts: MetricOptions<L> & { readonly collect: (g: Gauge<L>) => void }, registry: Registry) {
    super(opts, 'gauge', registry);
    this.collect = opts.collect;
  }

  private readonly collect: (g: Gauge<L>) => void;

  /** `set(3)` on an unlabelled gauge, `set({ state: 'eligible' }, 3)` on a labelled one. */
  set(labelsOrValue: Partial<Record<L, string | number>> | number, value?: number): void {
    if (typeof labelsOrValue === 'number') this.series.set(this.key(undefined), labelsOrValue);
    else this.series.set(this.key(labelsOrValue), value ?? 0);
  }

  inc(labels: Partial<Record<L, string | number>>, by = 1): void {
    this.add(labels, by);
  }

  /** Forgets every series (labels that no longer apply disappear). */
  reset(): void {
    this.series.clear();
  }

  override render(): string {
    this.collect(this);
    return super.render();
  }
}

/** One unlabelled value read at scrape time (a process figure); a counter when it only goes up. */
export class Sampled implements Metric {
  readonly name: string;

  constructor(private readonly opts: { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge'; readonly value: () => number }, registry: Registry) {
    this.name = opts.name;
    registry.add(this);
  }

  render(): string {
    return `# HELP ${this.name} ${this.opts.help}\n# TYPE ${this.name} ${this.opts.type}\n${this.name} ${num(this.opts.value())}\n`;
  }
}

export class Histogram implements Metric {
  readonly name: string;
  private readonly help: string;
  private readonly buckets: readonly number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(opts: { readonly name: string; readonly help: string; readonly buckets: readonly number[] }, registry: Registry) {
    this.name = opts.name;
    this.help = opts.help;
    this.buckets = [...opts.buckets].sort((a, b) => a - b);
    this.counts = this.buckets.map(() => 0);
    registry.add(this);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) this.counts[i] = (this.counts[i] ?? 0) + 1;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += this.counts[i] ?? 0;
      out += `${this.name}_bucket{le="${num(b)}"} ${cumulative}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${num(this.sum)}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly all: Metric[] = [];

  add(metric: Metric): void {
    if (this.all.some((m) => m.name === metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.all.push(metric);
  }

  /** The exposition text, every metric computed now. */
  async metrics(): Promise<string> {
    return this.all.map((m) => m.render()).join('\n');
  }
}
