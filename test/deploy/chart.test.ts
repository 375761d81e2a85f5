/**
 * What the chart offers beyond the invariants manifests.test.ts checks on every bundle: names and
 * overrides, the ServiceAccount, the image digest, pod labels, extraEnv, the metrics Service and
 * ServiceMonitor, the values it refuses (as the service would, or as a pod of this chart needs),
 * NOTES.txt and the documentation of what a user must change; and, where the real helm is
 * installed, that helm-lite renders and refuses exactly as helm does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { SETTINGS, type Setting } from '../../src/config/settings.js';
import { CHART, ChartError, defaultValues, mergeValues, renderChart, renderNotes, schemaErrors, type Release, type RenderOptions } from './chart.js';
import { ALL_FEATURES, DIGEST, TOKEN, WITH_TOKEN } from './fixtures.js';
import { SETTING_SCHEMAS } from './values-schema.js';
import { helm, IN_CI, ROOT } from './tools.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split('.')) cur = isObj(cur) ? cur[key] : Array.isArray(cur) ? (cur as unknown[])[Number(key)] : undefined;
  return cur;
}

interface K8sObject { readonly kind: string; readonly name: string; readonly body: Obj }

function objects(overrides: Obj, release: Release = {}, opts: RenderOptions = {}): K8sObject[] {
  return renderChart(overrides, release, opts).flatMap((r) => parseAllDocuments(r.text).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as unknown;
  })).filter(isObj).map((body) => ({ kind: String(body.kind), name: String(at(body, 'metadata.name')), body }));
}
const one = (objs: readonly K8sObject[], kind: string): K8sObject => {
  const found = objs.filter((o) => o.kind === kind);
  expect(found.map((o) => o.name), `one ${kind}`).toHaveLength(1);
  return found[0]!;
};
const container = (objs: readonly K8sObject[]): Obj => (at(one(objs, 'Deployment').body, 'spec.template.spec.containers') as Obj[])[0]!;
const envNames = (objs: readonly K8sObject[]): string[] => (container(objs).env as Obj[]).map((e) => String(e.name));

/** The message helm (or helm-lite) gives for refused values; undefined when they render. */
function refusal(overrides: Obj, opts: RenderOptions = {}): string | undefined {
  try {
    renderChart(overrides, {}, opts);
    return undefined;
  } catch (err) {
    if (err instanceof ChartError) return err.message;
    throw err;
  }
}

const HELM = helm();
/** Tests that need the real helm: skipped without it, except in CI, where they fail. */
const withHelm = (name: string) => (HELM.path || IN_CI ? name : `${name} (skipped: ${HELM.missing})`);
const helmPath = (): string => {
  if (!HELM.path) throw new Error(HELM.missing);
  return HELM.path;
};

describe('chart names', () => {
  it('are the release name when it holds "epictetus", else <release>-epictetus, or fullnameOverride', () => {
    const names = (o: Obj, r: Release) => objects({ ...WITH_TOKEN, ...o }, r).filter((x) => x.kind !== 'ClusterRole' && x.kind !== 'ClusterRoleBinding').map((x) => x.name);
    expect(new Set(names({}, {}))).toEqual(new Set(['epictetus', 'epictetus-cloudflare', 'epictetus-leader-election']));
    expect(new Set(names({}, { name: 'edge' }))).toEqual(new Set(['edge-epictetus', 'edge-epictetus-cloudflare', 'edge-epictetus-leader-election']));
    expect(new Set(names({ fullnameOverride: 'dns' }, { name: 'edge' }))).toEqual(new Set(['dns', 'dns-cloudflare', 'dns-leader-election']));
    const renamed = objects({ ...WITH_TOKEN, nameOverride: 'cfdns' }, { name: 'edge' });
    expect(one(renamed, 'Deployment').name).toBe('edge-cfdns');
    expect(at(one(renamed, 'Deployment').body, 'spec.selector.matchLabels')).toEqual({ 'app.kubernetes.io/name': 'cfdns', 'app.kubernetes.io/instance': 'edge' });
    expect(one(renamed, 'ClusterRole').name).toBe('dns-system-edge-cfdns');
  });

  it('refuses a fullnameOverride or nameOverride that is not a DNS label', () => {
    for (const bad of [{ fullnameOverride: 'Edge' }, { nameOverride: 'a_b' }, { fullnameOverride: 'x'.repeat(64) }]) {
      expect(refusal({ ...WITH_TOKEN, ...bad }), JSON.stringify(bad)).toBeDefined();
    }
  });
});

describe('chart image', () => {
  it('is repository:tag, the tag defaulting to appVersion, and repository@digest when a digest is set', () => {
    const image = (o: Obj) => container(objects({ ...WITH_TOKEN, image: o })).image;
    const appVersion = String(at(JSON.parse(JSON.stringify(defaultValues())), 'image.tag') || '') || '0.1.0';
    expect(image({})).toBe(`ghcr.io/example/epictetus:${appVersion}`);
    expect(image({ repository: 'registry.example.com:5000/epictetus', tag: '1.2.3' })).toBe('registry.example.com:5000/epictetus:1.2.3');
    expect(image({ tag: '1.2.3', digest: DIGEST })).toBe(`ghcr.io/example/epictetus@${DIGEST}`);
  });

  it('refuses a digest that is not one, and a tag inside the repository', () => {
    for (const bad of [{ digest: 'sha256:abc' }, { digest: DIGEST.toUpperCase() }, { repository: 'ghcr.io/example/epictetus:1.0' }, { repository: '' }]) {
      expect(refusal({ ...WITH_TOKEN, image: bad }), JSON.stringify(bad)).toBeDefined();
    }
  });
});

describe('chart ServiceAccount', () => {
  it('is created with its annotations, the pods run as it and the RBAC binds it', () => {
    const objs = objects({ ...WITH_TOKEN, serviceAccount: { name: 'dns-writer', annotations: { 'iam.example.com/role': 'dns' } } });
    const sa = one(objs, 'ServiceAccount');
    expect(sa.name).toBe('dns-writer');
    expect(at(sa.body, 'metadata.annotations')).toEqual({ 'iam.example.com/role': 'dns' });
    expect(at(one(objs, 'Deployment').body, 'spec.template.spec.serviceAccountName')).toBe('dns-writer');
    for (const b of objs.filter((o) => o.kind.endsWith('Binding'))) expect(at(b.body, 'subjects'), b.name).toEqual([{ kind: 'ServiceAccount', name: 'dns-writer', namespace: 'dns-system' }]);
  });

  it('with create false: none is created, the named one is used, and a name is required', () => {
    const objs = objects({ ...WITH_TOKEN, serviceAccount: { create: false, name: 'existing' } });
    expect(objs.filter((o) => o.kind === 'ServiceAccount')).toEqual([]);
    expect(at(one(objs, 'Deployment').body, 'spec.template.spec.serviceAccountName')).toBe('existing');
    for (const b of objs.filter((o) => o.kind.endsWith('Binding'))) expect(at(b.body, 'subjects.0.name')).toBe('existing');
    expect(refusal({ ...WITH_TOKEN, serviceAccount: { create: false } })).toMatch(/name/);
    expect(refusal({ ...WITH_TOKEN, serviceAccount: { create: false } }, { skipSchema: true }), 'the template says so too').toMatch(/serviceAccount\.name/);
  });
});

describe('chart pod labels and extraEnv', () => {
  it('adds podLabels to the pods, not to the selector, and refuses the chart\'s own label keys', () => {
    const d = one(objects({ ...WITH_TOKEN, podLabels: { team: 'platform', 'example.com/tier': 'edge' } }), 'Deployment');
    expect(at(d.body, 'spec.template.metadata.labels')).toMatchObject({ team: 'platform', 'example.com/tier': 'edge', 'app.kubernetes.io/name': 'epictetus' });
    expect(at(d.body, 'spec.selector.matchLabels')).toEqual({ 'app.kubernetes.io/name': 'epictetus', 'app.kubernetes.io/instance': 'epictetus' });
    for (const bad of [{ 'app.kubernetes.io/name': 'x' }, { 'app.kubernetes.io/component': 'x' }, { team: 'not a value' }, { 'bad key': 'x' }]) {
      expect(refusal({ ...WITH_TOKEN, podLabels: bad }), JSON.stringify(bad)).toBeDefined();
    }
  });

  it('appends extraEnv after the settings, and refuses a name the chart sets until config.<NAME> is null', () => {
    const extra = [{ name: 'HTTPS_PROXY', value: 'http://proxy.example.com:3128' }];
    expect(envNames(objects({ ...WITH_TOKEN, extraEnv: extra })).at(-1)).toBe('HTTPS_PROXY');
    const fromConfigMap = [{ name: 'OWNER_ID', valueFrom: { configMapKeyRef: { name: 'cluster-info', key: 'name' } } }];
    expect(refusal({ ...WITH_TOKEN, extraEnv: fromConfigMap })).toMatch(/extraEnv sets OWNER_ID.*config\.OWNER_ID to null/);
    const names = envNames(objects({ ...WITH_TOKEN, extraEnv: fromConfigMap, config: { OWNER_ID: null } }));
    expect(names.filter((n) => n === 'OWNER_ID')).toHaveLength(1);
    for (const bad of [[{ name: 'CLOUDFLARE_API_TOKEN', value: TOKEN }], [{ name: 'X', value: 'a', valueFrom: {} }], [{ value: 'a' }], [{ name: '1X', value: 'a' }]]) {
      expect(refusal({ ...WITH_TOKEN, extraEnv: bad }), JSON.stringify(bad)).toBeDefined();
    }
  });
});

describe('chart metrics', () => {
  const serverRoutes = new Set([...readFileSync(join(ROOT, 'src/server/server.ts'), 'utf8').matchAll(/'(\/[^']*)':/g)].map((m) => m[1]!));

  it('a Service selects the pods and serves the health port under the container port\'s name', () => {
    for (const port of ['8080', '9090']) {
      const objs = objects({ ...WITH_TOKEN, config: { HEALTH_PORT: port } });
      const svc = one(objs, 'Service');
      const d = one(objs, 'Deployment');
      const podLabels = at(d.body, 'spec.template.metadata.labels') as Obj;
      const selector = at(svc.body, 'spec.selector') as Obj;
      expect(Object.entries(selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
      expect(at(svc.body, 'spec.type')).toBe('ClusterIP');
      const containerPort = (container(objs).ports as Obj[])[0]!;
      expect(at(svc.body, 'spec.ports')).toEqual([{ name: 'http', port: Number(port), targetPort: containerPort.name, protocol: 'TCP' }]);
      expect(containerPort.containerPort).toBe(Number(port));
    }
    expect(objects({ ...WITH_TOKEN, metrics: { service: { enabled: false } } }).filter((o) => o.kind === 'Service')).toEqual([]);
  });

  it('a ServiceMonitor, when enabled, scrapes /metrics through that Service, with its interval and labels', () => {
    expect(objects(WITH_TOKEN).filter((o) => o.kind === 'ServiceMonitor'), 'off by default').toEqual([]);
    const objs = objects({ ...WITH_TOKEN, metrics: { serviceMonitor: { enabled: true, interval: '1m', labels: { release: 'prom' } } } });
    const sm = one(objs, 'ServiceMonitor');
    const svc = one(objs, 'Service');
    expect(sm.body.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(at(sm.body, 'metadata.labels.release')).toBe('prom');
    const svcLabels = at(svc.body, 'metadata.labels') as Obj;
    expect(Object.entries(at(sm.body, 'spec.selector.matchLabels') as Obj).every(([k, v]) => svcLabels[k] === v), 'selects the Service').toBe(true);
    expect(at(sm.body, 'spec.namespaceSelector')).toEqual({ matchNames: ['dns-system'] });
    const [endpoint] = at(sm.body, 'spec.endpoints') as Obj[];
    expect(endpoint).toEqual({ port: 'http', path: '/metrics', scheme: 'http', interval: '1m' });
    expect((at(svc.body, 'spec.ports') as Obj[]).map((p) => p.name)).toContain(endpoint!.port);
    expect(serverRoutes.has('/metrics'), '/metrics is a route of src/server/server.ts').toBe(true);
    expect(at(one(objects({ ...WITH_TOKEN, metrics: { serviceMonitor: { enabled: true, scrapeTimeout: '10s' } } }), 'ServiceMonitor').body, 'spec.endpoints.0.scrapeTimeout')).toBe('10s');
  });

  it('refuses a ServiceMonitor without the Service, and an interval that is not a duration', () => {
    expect(refusal({ ...WITH_TOKEN, metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } })).toBeDefined();
    expect(refusal({ ...WITH_TOKEN, metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } }, { skipSchema: true })).toMatch(/metrics\.service\.enabled/);
    for (const interval of ['30', '1 m', '', 'soon']) expect(refusal({ ...WITH_TOKEN, metrics: { serviceMonitor: { enabled: true, interval } } }), interval).toBeDefined();
  });
});

/** What src/cli/run.ts decides: `config.leaderElection ?? config.kubeconfigPath === ''`. */
function serviceElects(config: Obj): boolean {
  const env = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
  const c = loadConfig({ ...env, CLOUDFLARE_API_TOKEN: TOKEN });
  return c.leaderElection ?? c.kubeconfigPath === '';
}

describe('chart refuses', () => {
  it('more than one replica without leader election, in the schema and in the templates, as the service decides it', () => {
    const wrong: string[] = [];
    for (const replicaCount of [1, 2, 3]) {
      for (const le of ['true', 'false', 'FALSE', ' no ', '0', 'off', '', 'yes', true, false, 0, 1, null]) {
        const overrides = { ...WITH_TOKEN, replicaCount, config: { LEADER_ELECTION: le } };
        const config = mergeValues(defaultValues(), overrides).config as Obj;
        const refused = replicaCount > 1 && !serviceElects(config);
        // helm-lite (fast); 'with the real helm' shows helm refuses the same.
        for (const skipSchema of [false, true]) {
          const r = refusal(overrides, { skipSchema, engine: 'lite' });
          if ((r !== undefined) !== refused) wrong.push(`replicas ${replicaCount}, LEADER_ELECTION=${JSON.stringify(le)}${skipSchema ? ' (templates)' : ''}: ${r ?? 'rendered'}`);
          if (r !== undefined && skipSchema && !/leader election is off/.test(r)) wrong.push(`unclear: ${r}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no hostname with WATCH_SERVICES=false, as the service does', () => {
    const wrong: string[] = [];
    for (const WATCH_SERVICES of ['true', 'false', false, ' Off ']) {
      for (const DNS_HOSTNAMES of ['', ' , ', 'app.example.com', null]) {
        const config = { WATCH_SERVICES, DNS_HOSTNAMES };
        const merged = mergeValues(defaultValues(), { config }).config as Obj;
        let serviceRefuses = false;
        try {
          serviceElects(merged);
        } catch {
          serviceRefuses = true;
        }
        const chartRefuses = schemaErrors(mergeValues(defaultValues(), { ...WITH_TOKEN, config })).length > 0;
        if (chartRefuses !== serviceRefuses) wrong.push(`${JSON.stringify(config)}: service ${serviceRefuses}, chart ${chartRefuses}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('what a pod of the chart cannot run with: no health server, port 0, a loopback bind address, a kubeconfig path', () => {
    for (const bad of [{ ENABLE_HEALTH_SERVER: 'false' }, { ENABLE_HEALTH_SERVER: false }, { HEALTH_PORT: '0' }, { HEALTH_PORT: 0 },
      { HEALTH_BIND_ADDRESS: '127.0.0.1' }, { K8S_CONFIG_PATH: '/kube/config' }]) {
      expect(refusal({ ...WITH_TOKEN, config: bad }), JSON.stringify(bad)).toBeDefined();
    }
    for (const good of [{ HEALTH_BIND_ADDRESS: '::' }, { HEALTH_BIND_ADDRESS: '0.0.0.0' }, { HEALTH_PORT: 9090 }]) {
      expect(refusal({ ...WITH_TOKEN, config: good }), JSON.stringify(good)).toBeUndefined();
    }
  });

  it('values the service refuses (DNS_TTL=30 and the like), a misspelt setting, and a token of the wrong shape', () => {
    for (const config of [{ DNS_TTL: '30' }, { DNS_TTL: 30 }, { LOG_LEVEL: 'verbose' }, { OWNER_ID: 'my cluster' }, { DNS_HOSTNAMES: 'localhost' }, { DNS_HOSTNAME: 'a.example.com' }]) {
      expect(refusal({ ...WITH_TOKEN, config }), JSON.stringify(config)).toMatch(/config/);
    }
    expect(refusal({ cloudflare: { apiToken: 'REPLACE ME: a token' } })).toMatch(/apiToken/);
  });
});

describe('chart documentation', () => {
  const MUST_CHANGE = ['image.repository', 'config.DNS_HOSTNAMES', 'config.OWNER_ID', 'cloudflare.existingSecret'];
  const readme = () => readFileSync(join(CHART, 'README.md'), 'utf8');

  it('values.yaml marks what every installation must change, right above it', () => {
    const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n');
    for (const path of MUST_CHANGE) {
      const [section, key] = path.split('.') as [string, string];
      const s = lines.findIndex((l) => l.startsWith(`${section}:`));
      const i = lines.findIndex((l, n) => n > s && l.startsWith(`  ${key}:`));
      const comments: string[] = [];
      for (let j = i - 1; j >= 0 && /^\s*#/.test(lines[j]!); j--) comments.push(lines[j]!);
      if (section === 'cloudflare') for (let j = s - 1; j >= 0 && /^\s*#/.test(lines[j]!); j--) comments.push(lines[j]!);
      expect(comments.join('\n'), path).toMatch(/MUST CHANGE/);
    }
  });

  it('README.md names each of them and shows how to install', () => {
    for (const path of MUST_CHANGE) expect(readme(), path).toContain(path);
    expect(readme()).toMatch(/kubectl -n \S+ create secret generic \S+ --from-file=api-token=/);
    expect(readme()).toMatch(/helm (upgrade --install|install) /);
  });

  it('README.md lists every top-level value of values.yaml', () => {
    for (const key of Object.keys(defaultValues())) expect(readme(), key).toContain(`\`${key}`);
  });

  it('NOTES.txt names them, and warns while the image and OWNER_ID are the examples', () => {
    const notes = renderNotes(WITH_TOKEN);
    for (const path of MUST_CHANGE.slice(0, 3)) expect(notes, path).toContain(path);
    expect(notes).toContain('Secret epictetus-cloudflare, key api-token');
    expect(notes).toMatch(/WARNING: image\.repository/);
    expect(notes).toMatch(/WARNING: config\.OWNER_ID/);
    const set = renderNotes({ cloudflare: { existingSecret: 'cf', existingSecretKey: 'token' }, image: { repository: 'registry.example.com/epictetus' }, config: { OWNER_ID: 'prod-eu', DNS_HOSTNAMES: 'app.example.com' } });
    expect(set).not.toMatch(/WARNING/);
    expect(set).toContain('create secret generic cf --from-file=token=');
    expect(set).toContain('app.example.com');
  });
});

describe('with the real helm: lint, and helm-lite renders and refuses as helm does', () => {
  const VALUE_SETS: Array<[string, Obj, Release]> = [
    ['defaults', WITH_TOKEN, {}],
    ['every optional feature', ALL_FEATURES, { name: 'edge', namespace: 'edge-dns' }],
    ['existing secret, other port, Lease elsewhere', { cloudflare: { existingSecret: 'cf' }, config: { HEALTH_PORT: 9090, LEASE_NAMESPACE: 'kube-system', HOLD_NODE_DELETION: ' Yes ' }, replicaCount: 3 }, { name: 'dns' }],
    ['one replica without leader election, existing ServiceAccount, no NetworkPolicy', { ...WITH_TOKEN, replicaCount: 1, config: { LEADER_ELECTION: 'false' }, serviceAccount: { create: false, name: 'sa' }, networkPolicy: { enabled: false }, metrics: { service: { enabled: false } } }, {}],
    ['nameOverride', { ...WITH_TOKEN, nameOverride: 'cfdns', config: { DRY_RUN: true, DNS_TTL: 300, MAX_UNHEALTHY_FRACTION: 0.25 } }, { name: 'a-release-name-of-fifty-three-characters-helm-s-limit' }],
  ];
  const REFUSED: Array<[string, Obj, RenderOptions]> = [
    ['no token', {}, {}],
    ['DNS_TTL=30', { ...WITH_TOKEN, config: { DNS_TTL: '30' } }, {}],
    ['two replicas, no leader election', { ...WITH_TOKEN, config: { LEADER_ELECTION: 'off' } }, {}],
    ['two replicas, no leader election (templates)', { ...WITH_TOKEN, config: { LEADER_ELECTION: 'off' } }, { skipSchema: true }],
    ['extraEnv over a setting (templates)', { ...WITH_TOKEN, extraEnv: [{ name: 'DRY_RUN', value: 'true' }] }, {}],
    ['ServiceMonitor without Service (templates)', { ...WITH_TOKEN, metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } }, { skipSchema: true }],
    ['ServiceAccount without a name (templates)', { ...WITH_TOKEN, serviceAccount: { create: false } }, { skipSchema: true }],
  ];

  it.skipIf(!HELM.path && !IN_CI)(withHelm('render the same objects'), () => {
    helmPath();
    for (const [label, overrides, release] of VALUE_SETS) {
      const byKey = (engine: 'helm' | 'lite') => new Map(objects(overrides, release, { engine }).map((o) => [`${o.kind}/${o.name}`, o.body]));
      expect(byKey('lite'), label).toEqual(byKey('helm'));
    }
  });

  it.skipIf(!HELM.path && !IN_CI)(withHelm('helm lint --strict passes, with the defaults and with every feature on'), () => {
    const dir = mkdtempSync(join(tmpdir(), 'epictetus-lint-'));
    try {
      for (const [label, overrides] of [['defaults', WITH_TOKEN], ['every feature', ALL_FEATURES]] as const) {
        writeFileSync(join(dir, 'values.yaml'), JSON.stringify(overrides));
        const out = execFileSync(helmPath(), ['lint', CHART, '--strict', '--values', join(dir, 'values.yaml')], {
          encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: dir, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir },
        });
        expect(out, label).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        expect(out, label).not.toMatch(/\[(WARNING|ERROR)\]/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!HELM.path && !IN_CI)(withHelm('refuse the same values'), () => {
    helmPath();
    for (const [label, overrides, opts] of REFUSED) {
      const lite = refusal(overrides, { ...opts, engine: 'lite' });
      const real = refusal(overrides, { ...opts, engine: 'helm' });
      expect([label, lite !== undefined, real !== undefined]).toEqual([label, true, true]);
      // A fail/required message reaches the user as written.
      if (opts.skipSchema || label === 'no token' || label.startsWith('extraEnv')) expect(real, label).toContain(lite);
    }
  });

  it.skipIf(!HELM.path && !IN_CI)(withHelm('helm reads each setting\'s pattern as Ajv does (Go\'s RE2 against ECMAScript)'), () => {
    helmPath();
    // One helm run per round; each round sets every setting to its next probe and compares which
    // settings helm refuses with the schema's verdicts.
    const probes = new Map<string, unknown[]>();
    for (const s of SETTINGS as readonly Setting[]) {
      const own = SETTING_SCHEMAS[s.env];
      if (!own) continue;
      probes.set(s.env, [...new Set([...own.probes, s.default ?? '', ' 1 ', '30', 'true', 'A,AAAA', 'app.example.com', 'x y', '-1', 'zone in (a,b)', 'ANY', '::1', 'http://127.0.0.1:1', '0.5'])]);
    }
    const rounds = Math.max(...[...probes.values()].map((p) => p.length));
    const wrong: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // Keep the cross-setting rules out of the way: one replica, hostnames always given.
      const config = Object.fromEntries([...probes].map(([k, p]) => [k, p[round % p.length]]));
      Object.assign(config, { WATCH_SERVICES: 'true', ENABLE_HEALTH_SERVER: 'true', HEALTH_PORT: '8080', HEALTH_BIND_ADDRESS: '', K8S_CONFIG_PATH: '' });
      const overrides = { ...WITH_TOKEN, replicaCount: 1, config };
      const expected = new Set(schemaErrors(mergeValues(defaultValues(), overrides)).map((e) => /^\/config\/([A-Z0-9_]+)/.exec(e.instancePath)?.[1]).filter((k) => k !== undefined));
      const message = refusal(overrides, { engine: 'helm' }) ?? '';
      const refused = new Set([...message.matchAll(/\/config\/([A-Z0-9_]+)/g)].map((m) => m[1]!));
      if ([...expected].sort().join() !== [...refused].sort().join()) wrong.push(`round ${round}: schema refuses [${[...expected].sort().join(', ')}], helm [${[...refused].sort().join(', ')}]`);
    }
    expect(wrong).toEqual([]);
  });
});
