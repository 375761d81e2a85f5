/**
 * Strict schema validation of what gets applied to a cluster: the chart rendered with its defaults
 * and with every optional feature on, `kubectl kustomize k8s/` and k8s/README.md's overlay,
 * against the Kubernetes JSON schemas of the oldest version the manifests support (Chart.yaml's
 * kubeVersion) and of the newest the validator knows. `kubernetes-validate --strict` (PyPI,
 * pinned in tools.env, offline) refuses unknown fields, as an API server with strict field
 * validation does. It has no schema for the ServiceMonitor, a custom resource: that one is
 * validated against the CRD of the prometheus-operator, vendored in test/vendor/prometheus-operator.
 *
 * Without kubernetes-validate these tests are skipped, except in CI (CI=true), where they fail.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parseDocument } from 'yaml';
import { chartYaml, renderChart } from './chart.js';
import { ALL_FEATURES, buildReadmeOverlay, KUBECTL, WITH_TOKEN } from './fixtures.js';
import { IN_CI, KUBERNETES_VALIDATE_VERSION, kubernetesValidate, ROOT } from './tools.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const docs = (text: string): Obj[] => parseAllDocuments(text).map((d) => {
  if (d.errors.length > 0) throw d.errors[0];
  return d.toJS() as unknown;
}).filter(isObj);
const id = (o: Obj): string => `${String(o.kind).toLowerCase()}/${String((o.metadata as Obj | undefined)?.name)}`;

/** What is applied, by name: the multi-document YAML text of each (built once). */
let built: Record<string, string> | undefined;
const inputs = (): Record<string, string> => (built ??= build());
function build(): Record<string, string> {
  const chart = (overrides: Obj, release = {}) => renderChart(overrides, release).map((r) => r.text).join('\n---\n');
  const out: Record<string, string> = {
    'chart-defaults': chart(WITH_TOKEN),
    'chart-all-features': chart(ALL_FEATURES, { name: 'edge', namespace: 'edge-dns' }),
  };
  if (existsSync(KUBECTL)) {
    out['kustomize-k8s'] = execFileSync(KUBECTL, ['kustomize', join(ROOT, 'k8s')], { encoding: 'utf8', timeout: 60_000 });
    out['kustomize-readme-overlay'] = buildReadmeOverlay();
  }
  return out;
}

/** Chart.yaml's `kubeVersion: ">=1.25.0-0"` -> 1.25.0. */
function oldestVersion(): string {
  const m = /^>=\s*(\d+\.\d+)\.\d+/.exec(String(chartYaml().kubeVersion));
  if (!m) throw new Error(`Chart.yaml kubeVersion ${String(chartYaml().kubeVersion)}: not ">=x.y.z"`);
  return `${m[1]}.0`;
}
/** The newest version kubernetes-validate knows: its own (1.37.0 knows 1.37). */
const newestVersion = (): string => KUBERNETES_VALIDATE_VERSION.replace(/^(\d+\.\d+)\..*$/, '$1.0');

/** A Deployment with a misspelt field: strict validation must refuse it, or the check proves nothing. */
const CONTROL = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: control
spec:
  replica: 2
  selector: {matchLabels: {app: control}}
  template:
    metadata: {labels: {app: control}}
    spec:
      containers: [{name: c, image: example/c:1}]
`;

const run = (cmd: string, args: string[]) => new Promise<{ code: number; out: string }>((resolve) => {
  execFile(cmd, args, { timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` }));
});

const VALIDATOR = kubernetesValidate();
const title = (name: string) => (VALIDATOR.path || IN_CI ? name : `${name} (skipped: ${VALIDATOR.missing})`);

describe.skipIf(!VALIDATOR.path && !IN_CI)('kubernetes-validate --strict', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const version of [oldestVersion(), newestVersion()]) {
    it(title(`accepts every object of the chart (defaults, every feature) and of k8s/ (base, README overlay) against Kubernetes ${version}`), async () => {
      if (!VALIDATOR.path) throw new Error(VALIDATOR.missing);
      dir ||= mkdtempSync(join(tmpdir(), 'epictetus-validate-'));
      const files = inputs();
      if (IN_CI) expect(Object.keys(files), `${KUBECTL} builds the k8s/ inputs`).toContain('kustomize-k8s');
      const paths: string[] = [];
      for (const [name, text] of Object.entries({ ...files, control: CONTROL })) {
        const path = join(dir, `${name}.yaml`);
        writeFileSync(path, text);
        paths.push(path);
      }
      const r = await run(VALIDATOR.path, ['--strict', '--kubernetes-version', version, ...paths]);
      const lines = r.out.split('\n').filter((l) => l.trim() !== '');
      const short = version.replace(/\.0$/, '');
      const problems: string[] = [];
      for (const [name, text] of Object.entries(files)) {
        const path = join(dir, `${name}.yaml`);
        for (const o of docs(text)) {
          const mine = lines.filter((l) => l.includes(` ${path} `) && (l.includes(` ${id(o)} `) || l.includes(`kind ${String(o.kind)} `)));
          if (o.kind === 'ServiceMonitor') {
            // No schema for a custom resource: checked below against the CRD.
            if (!mine.some((l) => /Couldn't find schema for kind ServiceMonitor/.test(l))) problems.push(`${name} ${id(o)}: ${mine.join(' | ') || 'not reported'}`);
          } else if (!mine.some((l) => l.startsWith('INFO') && l.includes(`passed for resource ${id(o)} against version ${short}`))) {
            problems.push(`${name} ${id(o)}: ${mine.join(' | ') || 'not reported'}`);
          }
        }
      }
      const errors = lines.filter((l) => /^(ERROR|WARN)/.test(l) && !l.includes('control.yaml') && !/Couldn't find schema for kind ServiceMonitor/.test(l));
      expect([...problems, ...errors]).toEqual([]);
      // The control: refused for its misspelt field, so strict validation did run.
      expect(lines.filter((l) => l.includes('control.yaml'))).toEqual([expect.stringMatching(/^ERROR .*did not validate for resource deployment\/control.*'replica' was unexpected/)]);
      expect(r.code, 'exit code: the control failed').toBe(1);
    });
  }
});

// ---- The ServiceMonitor against the prometheus-operator's CRD.

const CRD = join(ROOT, 'test/vendor/prometheus-operator/monitoring.coreos.com_servicemonitors.yaml');

/**
 * A CRD's openAPIV3Schema as an API server with strict field validation applies it: an object
 * with `properties` refuses any other field unless it preserves unknown fields.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!isObj(schema)) return schema;
  const out: Obj = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' && isObj(v) ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strict(s)])) : strict(v)]));
  if (isObj(schema.properties) && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

function serviceMonitorValidator() {
  const crd = parseDocument(readFileSync(CRD, 'utf8')).toJS() as Obj;
  const versions = (crd.spec as Obj).versions as Obj[];
  const v1 = versions.find((v) => v.name === 'v1');
  if (!v1) throw new Error('the CRD has no v1');
  const schema = strict((v1.schema as Obj).openAPIV3Schema) as Obj;
  // metadata is `type: object` in every CRD: the fields the chart sets, and nothing else.
  (schema.properties as Obj).metadata = {
    type: 'object', additionalProperties: false, required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
      namespace: { type: 'string' },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    },
  };
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

describe('ServiceMonitor against the prometheus-operator CRD (v0.93.0, vendored)', () => {
  it('accepts the chart\'s, with every option set', () => {
    const validate = serviceMonitorValidator();
    const monitors = renderChart(ALL_FEATURES, { name: 'edge', namespace: 'edge-dns' }).flatMap((r) => docs(r.text)).filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors).toHaveLength(1);
    expect(monitors[0]!.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(validate(monitors[0]), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses a misspelt field, so the check can fail', () => {
    const validate = serviceMonitorValidator();
    const sm = renderChart(ALL_FEATURES).flatMap((r) => docs(r.text)).find((o) => o.kind === 'ServiceMonitor')!;
    const endpoints = (sm.spec as Obj).endpoints as Obj[];
    const bad = { ...sm, spec: { ...(sm.spec as Obj), endpoints: [{ ...endpoints[0], intervall: '1m' }] } };
    expect(validate(bad)).toBe(false);
    expect(validate({ ...sm, spec: { ...(sm.spec as Obj), endpoints: [{ ...endpoints[0], port: 8080 }] } }), 'port is a name').toBe(false);
  });
});
