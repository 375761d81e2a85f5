/**
 * `helm template` for charts/epictetus: with the real helm when it is installed (tools.ts), else
 * with helm-lite plus Ajv for values.schema.json, as Helm validates values before rendering.
 * The tests compare the two wherever helm is there.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument, stringify as toYaml } from 'yaml';
import { renderFiles, TemplateFailure, type RenderContext } from './helm-lite.js';
import { helm, ROOT } from './tools.js';

export const CHART = join(ROOT, 'charts/epictetus');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(path: string): Obj {
  const doc = parseDocument(readFileSync(path, 'utf8'));
  if (doc.errors.length > 0) throw doc.errors[0];
  const v = doc.toJS() as unknown;
  if (!isObj(v)) throw new Error(`${path}: not a mapping`);
  return v;
}

export const chartYaml = (): Obj => readYaml(join(CHART, 'Chart.yaml'));
export const defaultValues = (): Obj => readYaml(join(CHART, 'values.yaml'));
export const valuesSchema = (): Obj => JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Obj;

/** Helm's coalescing of user values over the chart's: maps merge, null deletes a key, anything else replaces. */
export function mergeValues(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = isObj(v) && isObj(base[k]) ? mergeValues(base[k], v) : v;
  }
  return out;
}

export interface Release {
  readonly name?: string;
  readonly namespace?: string;
}

export interface RenderOptions {
  /** helm: the real binary (fails when it is missing); lite: helm-lite; default: helm when installed. */
  readonly engine?: 'helm' | 'lite';
  /** As `helm template --skip-schema-validation`. */
  readonly skipSchema?: boolean;
}

/** One rendered template file: its path under the chart (templates/x.yaml) and its text. */
export interface Rendered {
  readonly source: string;
  readonly text: string;
}

/** Values refused by values.schema.json, or a template's `fail`/`required`: the message names the problem. */
export class ChartError extends Error {}

const ajv = new Ajv({ strict: false, allErrors: true });
let compiled: { text: string; validate: ReturnType<Ajv['compile']> } | undefined;

/** The schema's verdict on merged values: the instance paths of the errors (empty: valid). */
export function schemaErrors(values: Obj): ErrorObject[] {
  const text = readFileSync(join(CHART, 'values.schema.json'), 'utf8');
  if (compiled?.text !== text) compiled = { text, validate: ajv.compile(JSON.parse(text) as Obj) };
  return compiled.validate(values) ? [] : [...(compiled.validate.errors ?? [])];
}

function releaseOf(r: Release): { name: string; namespace: string } {
  return { name: r.name ?? 'epictetus', namespace: r.namespace ?? 'dns-system' };
}

function renderLite(overrides: Obj, release: Release, opts: RenderOptions): Rendered[] {
  const values = mergeValues(defaultValues(), overrides);
  if (!opts.skipSchema) {
    const errors = schemaErrors(values);
    if (errors.length > 0) throw new ChartError(`values don't meet the specifications of the schema: ${errors.map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`).join('; ')}`);
  }
  const chart = chartYaml();
  const { name, namespace } = releaseOf(release);
  const ctx: RenderContext = {
    Values: values,
    Release: { Name: name, Namespace: namespace, Service: 'Helm' },
    Chart: { Name: String(chart.name), Version: String(chart.version), AppVersion: String(chart.appVersion) },
  };
  const dir = join(CHART, 'templates');
  const files = Object.fromEntries(readdirSync(dir).sort().map((f) => [`templates/${f}`, readFileSync(join(dir, f), 'utf8')]));
  let out: Record<string, string>;
  try {
    out = renderFiles(files, ctx, toYaml);
  } catch (err) {
    if (err instanceof TemplateFailure) throw new ChartError(err.message);
    throw err;
  }
  return Object.entries(out).filter(([f]) => f !== 'templates/NOTES.txt').map(([source, text]) => ({ source, text }));
}

function renderHelm(binary: string, overrides: Obj, release: Release, opts: RenderOptions): Rendered[] {
  const { name, namespace } = releaseOf(release);
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-helm-'));
  try {
    // JSON is YAML: the overrides reach helm exactly, nulls included.
    writeFileSync(join(dir, 'values.yaml'), JSON.stringify(overrides));
    let stdout: string;
    try {
      stdout = execFileSync(binary, ['template', name, CHART, '--namespace', namespace, '--values', join(dir, 'values.yaml'),
        ...(opts.skipSchema ? ['--skip-schema-validation'] : [])], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000,
        // No cluster, no repositories, no plugins: nothing of the machine's Helm setup.
        env: { PATH: process.env.PATH ?? '', HOME: dir, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir },
      });
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '');
      if (stderr.trim() === '') throw err;
      throw new ChartError(stderr.trim());
    }
    // helm prints each template after a `# Source: epictetus/templates/x.yaml` line.
    const parts: Rendered[] = [];
    for (const doc of stdout.split(/^---\s*$/m)) {
      const m = /^# Source: [^/\n]+\/(\S+)$/m.exec(doc);
      if (m) parts.push({ source: m[1]!, text: doc });
    }
    return parts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart with `overrides` over values.yaml; throws ChartError when Helm would refuse. */
export function renderChart(overrides: Obj, release: Release = {}, opts: RenderOptions = {}): Rendered[] {
  const binary = helm().path;
  const engine = opts.engine ?? (binary ? 'helm' : 'lite');
  if (engine === 'lite') return renderLite(overrides, release, opts);
  if (!binary) throw new Error(helm().missing);
  return renderHelm(binary, overrides, release, opts);
}

/** NOTES.txt as Helm prints it after an install (helm-lite: helm template does not render it). */
export function renderNotes(overrides: Obj, release: Release = {}): string {
  const chart = chartYaml();
  const { name, namespace } = releaseOf(release);
  const dir = join(CHART, 'templates');
  const files = Object.fromEntries(readdirSync(dir).filter((f) => f.startsWith('_') || f === 'NOTES.txt')
    .map((f) => [`templates/${f}`, readFileSync(join(dir, f), 'utf8')]));
  return renderFiles(files, {
    Values: mergeValues(defaultValues(), overrides),
    Release: { Name: name, Namespace: namespace, Service: 'Helm' },
    Chart: { Name: String(chart.name), Version: String(chart.version), AppVersion: String(chart.appVersion) },
  }, toYaml)['templates/NOTES.txt']!;
}
