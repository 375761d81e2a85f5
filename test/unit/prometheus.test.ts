import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, Registry, Sampled } from '../../src/server/prometheus.js';

describe('Prometheus text format', () => {
  it('writes counters with and without labels, HELP and TYPE first, label values escaped', async () => {
    const r = new Registry();
    const plain = new Counter({ name: 'x_total', help: 'Plain' }, r);
    const labelled = new Counter({ name: 'y_total', help: 'Labelled', labelNames: ['method', 'status'] }, r);
    expect(await r.metrics()).toBe('# HELP x_total Plain\n# TYPE x_total counter\nx_total 0\n\n# HELP y_total Labelled\n# TYPE y_total counter\n');
    plain.inc();
    plain.inc(2.5);
    labelled.inc({ method: 'GET', status: '200' });
    labelled.inc({ method: 'GET', status: '200' }, 2);
    labelled.inc({ method: 'a"b\\c\nd', status: 0 });
    expect(await r.metrics()).toBe([
      '# HELP x_total Plain', '# TYPE x_total counter', 'x_total 3.5', '',
      '# HELP y_total Labelled', '# TYPE y_total counter', 'y_total{method="GET",status="200"} 3', 'y_total{method="a\\"b\\\\c\\nd",status="0"} 1', '',
    ].join('\n'));
    expect(() => plain.inc(-1)).toThrow(/only goes up/);
  });

  it('reads gauges at scrape time; reset drops series that no longer apply', async () => {
    const r = new Registry();
    let states: Record<string, number> = { eligible: 2, excluded: 1 };
    let leader = 1;
    new Gauge({ name: 'nodes', help: 'Nodes', labelNames: ['state'], collect(g) { g.reset(); for (const [state, n] of Object.entries(states)) g.set({ state }, n); } }, r);
    new Gauge({ name: 'leader', help: 'Leader', collect(g) { g.set(leader); } }, r);
    expect(await r.metrics()).toContain('nodes{state="eligible"} 2\nnodes{state="excluded"} 1\n');
    states = { eligible: 3 };
    leader = 0;
    const text = await r.metrics();
    expect(text).toContain('# TYPE nodes gauge\nnodes{state="eligible"} 3\n\n');
    expect(text).toContain('leader 0\n');
  });

  it('writes histograms with cumulative buckets, +Inf, sum and count', async () => {
    const r = new Registry();
    const h = new Histogram({ name: 'lat_seconds', help: 'Latency', buckets: [1, 0.1] }, r);
    for (const v of [0.05, 0.1, 0.5, 7, Number.NaN]) h.observe(v);
    expect(await r.metrics()).toBe([
      '# HELP lat_seconds Latency', '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{le="0.1"} 2', 'lat_seconds_bucket{le="1"} 3', 'lat_seconds_bucket{le="+Inf"} 4',
      'lat_seconds_sum 7.65', 'lat_seconds_count 4', '',
    ].join('\n'));
  });

  it('samples process figures when asked, and refuses a name twice', async () => {
    const r = new Registry();
    let n = 1;
    new Sampled({ name: 'cpu_seconds_total', help: 'CPU', type: 'counter', value: () => n++ }, r);
    expect(await r.metrics()).toBe('# HELP cpu_seconds_total CPU\n# TYPE cpu_seconds_total counter\ncpu_seconds_total 1\n');
    expect(await r.metrics()).toContain('cpu_seconds_total 2\n');
    expect(() => new Counter({ name: 'cpu_seconds_total', help: 'again' }, r)).toThrow(/registered twice/);
  });
});
