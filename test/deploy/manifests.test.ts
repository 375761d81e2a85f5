/**
 * The deployment files, checked by parsing them (no Docker engine or cluster here): Dockerfile
 * and .dockerignore, docker-compose.yml, the manifests in k8s/ (and k8s/README.md's overlay over
 * them) and the Helm chart in charts/epictetus/, rendered by the real helm when it is installed
 * (./chart.ts, ./tools.ts), else by a small purpose-built renderer (./helm-lite.ts).
 * chart.test.ts checks the chart's options, validate.test.ts validates strictly what is applied.
 *
 * What ties them to the service: every environment variable they name is a setting of
 * src/config/settings.ts, every setting can be set through the chart, the configuration they
 * give is accepted by the service's own loadConfig, and every probe path is a route of
 * src/server/server.ts (read as text, so nothing of the server is imported).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify as toYaml } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/settings.js';
import { KubeSim, withMetadataMergeKeys, type ResourceDef } from '../../src/sim/kube/index.js';
import { CHART, chartYaml as chartYamlOf, defaultValues as defaultValuesOf, mergeValues, renderChart, type Release, type RenderOptions } from './chart.js';
import { buildReadmeOverlay, K8S_DIR, KUBECTL, readmeOverlayFiles } from './fixtures.js';
import { renderTemplate, type RenderContext } from './helm-lite.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every non-empty document of a multi-document YAML text; any YAML error (a duplicate key too) throws. */
function parseDocs(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw d.errors[0];
    return d.toJS() as unknown;
  }).filter((d) => d !== null && d !== undefined);
}

/** Computed on first use, so that a broken file fails the tests that read it, not the whole file's collection. */
function lazy<T>(f: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => (cached ??= { value: f() }).value;
}

// ---- Typed access to parsed YAML.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}
function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}
function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}
const strings = (v: unknown, what: string): string[] => list(v, what).map((x, i) => str(x, `${what}[${i}]`));

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly body: Obj;
  readonly source: string;
}

function kubeObjects(text: string, source: string): KubeObject[] {
  return parseDocs(text).map((d, i) => {
    const body = obj(d, `${source} document ${i + 1}`);
    return {
      apiVersion: str(body.apiVersion, `${source} #${i + 1} apiVersion`),
      kind: str(body.kind, `${source} #${i + 1} kind`),
      name: str(at(body, 'metadata.name'), `${source} #${i + 1} metadata.name`),
      namespace: at(body, 'metadata.namespace') === undefined ? undefined : str(at(body, 'metadata.namespace'), `${source} namespace`),
      body,
      source,
    };
  });
}

// ---- What the service is: its settings, its routes, its package.

const SETTING_NAMES = new Set<string>(SETTINGS.map((s) => s.env));
const SECRET_SETTINGS = new Set<string>(SETTINGS.filter((s) => 'secret' in s && s.secret).map((s) => s.env));
/** The secret settings and their `_FILE` variants: set from a Secret, never as plain values in the chart's config. */
const TOKEN_SOURCES = new Set([...SECRET_SETTINGS].flatMap((n) => [n, `${n}_FILE`]).filter((n) => SETTING_NAMES.has(n)));
const settingOf = (name: string) => SETTINGS.find((s) => s.env === name);
const DEFAULT_HEALTH_PORT = Number(settingOf('HEALTH_PORT')?.default);

/** The routes of the health server, read from its source: the keys of its `routes` table. */
const SERVER_ROUTES = new Set([...read('src/server/server.ts').matchAll(/^\s*(?:\.\.\.\(.*?\{\s*)?'(\/[^']*)':/gm)].map((m) => m[1]!));

const PACKAGE = obj(JSON.parse(read('package.json')), 'package.json');

/** A token the setting accepts, standing in for the Secret's. */
const SAMPLE_TOKEN = fakeToken('manifests');

/** A file holding SAMPLE_TOKEN, standing in for a mounted Secret's. */
let sampleTokenDir: string | undefined;
function sampleTokenFile(): string {
  sampleTokenDir ??= mkdtempSync(join(tmpdir(), 'epictetus-token-'));
  const file = join(sampleTokenDir, 'api-token');
  writeFileSync(file, `${SAMPLE_TOKEN}\n`);
  return file;
}
afterAll(() => {
  if (sampleTokenDir) rmSync(sampleTokenDir, { recursive: true, force: true });
});

/** Parses one setting's value as the service would (empty: the default). */
function parseSetting(name: string, raw: string): { ok: true; value: unknown } | { ok: false } {
  const s = settingOf(name);
  if (!s) return { ok: false };
  const given = raw.trim() === '' ? s.default : raw;
  if (given === undefined) return { ok: false };
  const r = s.parse.safeParse(given);
  return r.success ? { ok: true, value: r.data } : { ok: false };
}
const boolSetting = (name: string, raw: string | undefined): boolean => {
  const r = parseSetting(name, raw ?? '');
  if (!r.ok || typeof r.value !== 'boolean') throw new Error(`${name}=${raw}: not a boolean setting value`);
  return r.value;
};

// ---- What a bundle of Kubernetes objects must satisfy, whether from k8s/ or from the chart.

interface Bundle {
  readonly label: string;
  readonly objects: readonly KubeObject[];
  /** The namespace the release/manifests install into. */
  readonly namespace: string;
  readonly replicas: number;
}

function only(b: Bundle, kind: string): KubeObject {
  const found = b.objects.filter((o) => o.kind === kind);
  expect(found.map((o) => o.name), `${b.label}: one ${kind}`).toHaveLength(1);
  return found[0]!;
}

interface PodView {
  readonly deployment: KubeObject;
  readonly podSpec: Obj;
  readonly podLabels: Record<string, string>;
  readonly container: Obj;
  /** Plain env values by name; secretKeyRef/fieldRef ones in `refs`. */
  readonly env: Map<string, string>;
  readonly refs: Map<string, Obj>;
  readonly port: { readonly name: string; readonly number: number };
}

function podView(b: Bundle): PodView {
  const deployment = only(b, 'Deployment');
  const podSpec = obj(at(deployment.body, 'spec.template.spec'), 'pod spec');
  const podLabels = obj(at(deployment.body, 'spec.template.metadata.labels'), 'pod labels') as Record<string, string>;
  const containers = list(podSpec.containers, 'containers');
  expect(containers, `${b.label}: one container`).toHaveLength(1);
  const container = obj(containers[0], 'container');
  const env = new Map<string, string>();
  const refs = new Map<string, Obj>();
  const names: string[] = [];
  for (const e of list(container.env, 'env')) {
    const o = obj(e, 'env entry');
    const name = str(o.name, 'env name');
    names.push(name);
    if (o.valueFrom !== undefined) refs.set(name, obj(o.valueFrom, `${name}.valueFrom`));
    else env.set(name, o.value === null || o.value === undefined ? '' : str(o.value, `${name}.value`));
  }
  expect(names.length, `${b.label}: no env var given twice`).toBe(new Set(names).size);
  const ports = list(container.ports, 'ports').map((p) => obj(p, 'port'));
  expect(ports, `${b.label}: one container port`).toHaveLength(1);
  const port = { name: str(ports[0]!.name, 'port name'), number: Number(ports[0]!.containerPort) };
  return { deployment, podSpec, podLabels, container, env, refs, port };
}

const selects = (selector: unknown, labels: Record<string, string>): boolean => {
  const match = obj(at(selector, 'matchLabels'), 'matchLabels');
  return Object.keys(match).length > 0 && Object.entries(match).every(([k, v]) => labels[k] === v);
};

/** RBAC rules as (apiGroup, resource, verb) triples. */
function triples(rules: unknown, what: string): string[] {
  const out: string[] = [];
  for (const r of list(rules, `${what} rules`)) {
    const rule = obj(r, `${what} rule`);
    expect(rule.nonResourceURLs, `${what}: no nonResourceURLs`).toBeUndefined();
    for (const g of strings(rule.apiGroups, 'apiGroups')) {
      for (const res of strings(rule.resources, 'resources')) for (const v of strings(rule.verbs, 'verbs')) out.push(`${g}/${res}:${v}`);
    }
  }
  return out.sort();
}

/** The environment the container gets, with Secret and downward-API values filled in as the kubelet would. */
function containerEnv(b: Bundle, v: PodView): Record<string, string> {
  const env: Record<string, string> = Object.fromEntries(v.env);
  for (const [name, from] of v.refs) {
    if (from.secretKeyRef !== undefined) env[name] = SAMPLE_TOKEN;
    else if (at(from, 'fieldRef.fieldPath') === 'metadata.namespace') env[name] = v.deployment.namespace ?? b.namespace;
    else throw new Error(`${name}: unexpected valueFrom ${JSON.stringify(from)}`);
  }
  for (const name of TOKEN_SOURCES) if (name.endsWith('_FILE') && env[name]) env[name] = sampleTokenFile();
  return env;
}

/** The Secret behind a file-valued token setting: a read-only mount of a secret volume holding that file. */
function secretFileSource(v: PodView, path: string): { secretName: string; key: string } {
  const mounts = list(v.container.volumeMounts ?? [], 'volumeMounts').map((m) => obj(m, 'volumeMount'));
  const mount = mounts.find((m) => m.mountPath === dirname(path));
  if (!mount) throw new Error(`no volume mounted at ${dirname(path)}`);
  expect(mount.readOnly).toBe(true);
  const volume = list(v.podSpec.volumes, 'volumes').map((x) => obj(x, 'volume')).find((x) => x.name === mount.name);
  const secret = obj(volume?.secret, `volume ${String(mount.name)}.secret`);
  const item = list(secret.items, 'items').map((i) => obj(i, 'item')).find((i) => i.path === basename(path));
  if (!item) throw new Error(`the secret volume has no item ${basename(path)}`);
  expect(Number(secret.defaultMode ?? 0o644) & 0o004, 'readable by the non-root user').toBe(0o004);
  return { secretName: str(secret.secretName, 'secretName'), key: str(item.key, 'item key') };
}

function checkBundle(label: string, load: () => KubeObject[], namespace: string, replicas: number): void {
  const objects = lazy(load);
  const b: Bundle = { label, namespace, replicas, get objects() { return objects(); } };
  describe(label, () => {
    it('every object is named and namespaced objects sit in the install namespace', () => {
      const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
      for (const o of b.objects) {
        if (clusterScoped.has(o.kind)) expect(o.namespace, `${o.kind}/${o.name}`).toBeUndefined();
        else expect(o.namespace, `${o.kind}/${o.name}`).toBeTypeOf('string');
      }
      const v = podView(b);
      expect(v.deployment.namespace).toBe(b.namespace);
      const sa = only(b, 'ServiceAccount');
      expect(sa.namespace).toBe(b.namespace);
      expect(v.podSpec.serviceAccountName).toBe(sa.name);
      expect(sa.body.automountServiceAccountToken).not.toBe(false);
      expect(v.podSpec.automountServiceAccountToken).toBe(true);
    });

    it('runs as a non-root numeric user, read-only, without privileges, under RuntimeDefault seccomp', () => {
      const v = podView(b);
      const pod = obj(v.podSpec.securityContext, 'pod securityContext');
      const c = obj(v.container.securityContext, 'container securityContext');
      for (const [what, sc] of [['pod', pod], ['container', c]] as const) {
        expect(sc.runAsNonRoot, `${what} runAsNonRoot`).toBe(true);
        expect(sc.runAsUser, `${what} runAsUser`).toBe(dockerUser().uid);
        expect(sc.runAsGroup, `${what} runAsGroup`).toBe(dockerUser().gid);
        expect(at(sc, 'seccompProfile.type'), `${what} seccompProfile`).toBe('RuntimeDefault');
      }
      expect(c.readOnlyRootFilesystem).toBe(true);
      expect(c.allowPrivilegeEscalation).toBe(false);
      expect(c.privileged).not.toBe(true);
      expect(at(c, 'capabilities.drop')).toEqual(['ALL']);
      expect(at(c, 'capabilities.add')).toBeUndefined();
      expect(v.podSpec.hostNetwork).not.toBe(true);
      // Nothing to write to: the only volumes are Secrets, mounted read-only.
      for (const vol of list(v.podSpec.volumes ?? [], 'volumes')) expect(Object.keys(obj(vol, 'volume')).sort()).toEqual(['name', 'secret']);
      for (const m of list(v.container.volumeMounts ?? [], 'volumeMounts')) expect(obj(m, 'volumeMount').readOnly).toBe(true);
    });

    it(`has ${b.replicas} replicas, spread over nodes, with requests and limits`, () => {
      const v = podView(b);
      expect(at(v.deployment.body, 'spec.replicas')).toBe(b.replicas);
      expect(selects(at(v.deployment.body, 'spec.selector'), v.podLabels), 'the Deployment selects its pods').toBe(true);
      const spread = list(v.podSpec.topologySpreadConstraints, 'topologySpreadConstraints').map((t) => obj(t, 'constraint'));
      expect(spread.some((t) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector, v.podLabels))).toBe(true);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) expect(at(v.container, `resources.${kind}.${r}`), `${kind}.${r}`).toMatch(/^\d+(m|Mi|Gi)?$/);
      }
    });

    it('probes paths the health server serves, on the container port that HEALTH_PORT opens', () => {
      const v = podView(b);
      const healthPort = Number(v.env.get('HEALTH_PORT') || DEFAULT_HEALTH_PORT);
      expect(v.port.number).toBe(healthPort);
      expect(boolSetting('ENABLE_HEALTH_SERVER', v.env.get('ENABLE_HEALTH_SERVER')), 'the probes need the health server').toBe(true);
      const expected = { readinessProbe: '/health/ready', livenessProbe: '/health/live', startupProbe: '/health/live' };
      for (const [probe, path] of Object.entries(expected)) {
        const get = obj(at(v.container, `${probe}.httpGet`), `${probe}.httpGet`);
        expect(get.path, probe).toBe(path);
        expect(SERVER_ROUTES.has(path), `${path} is a route of src/server/server.ts`).toBe(true);
        expect([v.port.name, v.port.number], `${probe} port`).toContain(get.port);
      }
      const annotations = at(v.deployment.body, 'spec.template.metadata.annotations');
      if (isObj(annotations) && annotations['prometheus.io/path'] !== undefined) {
        expect(SERVER_ROUTES.has(str(annotations['prometheus.io/path'], 'prometheus.io/path'))).toBe(true);
        expect(Number(annotations['prometheus.io/port'])).toBe(healthPort);
      }
    });

    it('names only settings in its env, takes the token from a Secret, and gives a configuration the service accepts', () => {
      const v = podView(b);
      for (const name of [...v.env.keys(), ...v.refs.keys()]) expect(SETTING_NAMES, `${name} is a setting`).toContain(name);
      for (const name of SECRET_SETTINGS) {
        expect(v.env.has(name), `${name} is never a plain value`).toBe(false);
        const file = v.env.get(`${name}_FILE`);
        expect(v.refs.has(name) !== (file !== undefined), `${name} or ${name}_FILE, from a Secret`).toBe(true);
        const ref = file === undefined
          ? obj(at(v.refs.get(name), 'secretKeyRef'), `${name}.secretKeyRef`)
          : (({ secretName, key }) => ({ name: secretName, key }))(secretFileSource(v, file));
        const secret = b.objects.find((o) => o.kind === 'Secret' && o.name === ref.name);
        if (secret) expect(Object.keys(obj(secret.body.stringData ?? secret.body.data, 'secret data'))).toContain(ref.key);
        expect(ref.key).toBeTypeOf('string');
      }
      for (const [name, value] of v.env) expect(parseSetting(name, value).ok, `${name}=${JSON.stringify(value)} is accepted`).toBe(true);
      if (!v.env.get('LEASE_NAMESPACE')) expect(at(v.refs.get('LEASE_NAMESPACE'), 'fieldRef.fieldPath')).toBe('metadata.namespace');
      expect(v.env.get('LOG_FORMAT')).toBe('json');
      expect(v.env.get('K8S_CONFIG_PATH') ?? '', 'in-cluster config').toBe('');

      const config = loadConfig(containerEnv(b, v));
      expect(config.kubeconfigPath).toBe('');
      if (b.replicas > 1) expect(config.leaderElection, 'several replicas need leader election').toBe(true);
    });

    it('is granted exactly what it uses: read nodes and services, write Events, its own Lease', () => {
      const v = podView(b);
      const sa = only(b, 'ServiceAccount');
      const env = containerEnv(b, v);
      const boundTo = (binding: KubeObject) => list(binding.body.subjects, 'subjects').map((s) => obj(s, 'subject'))
        .some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace);
      const rolesOf = (bindingKind: string, roleKind: string) => b.objects.filter((o) => o.kind === bindingKind && boundTo(o)).map((binding) => {
        const ref = obj(binding.body.roleRef, 'roleRef');
        expect(ref.kind).toBe(roleKind);
        const role = b.objects.find((o) => o.kind === roleKind && o.name === ref.name && o.namespace === binding.namespace);
        if (!role) throw new Error(`${binding.kind}/${binding.name} refers to a missing ${roleKind} ${String(ref.name)}`);
        return role;
      });
      const clusterRoles = rolesOf('ClusterRoleBinding', 'ClusterRole');
      const roles = rolesOf('RoleBinding', 'Role');
      // Nothing else in the bundle grants anything.
      expect(b.objects.filter((o) => ['ClusterRole', 'Role'].includes(o.kind)).length).toBe(clusterRoles.length + roles.length);

      const hold = boolSetting('HOLD_NODE_DELETION', env.HOLD_NODE_DELETION);
      const slices = (env.WATCH_ENDPOINT_SLICES ?? '') === '' ? (env.SERVE_FROM_ENDPOINTS_OF ?? '') !== '' : boolSetting('WATCH_ENDPOINT_SLICES', env.WATCH_ENDPOINT_SLICES);
      const expectedCluster = [
        '/nodes:get', '/nodes:list', '/nodes:watch', '/services:get', '/services:list', '/services:watch',
        'events.k8s.io/events:create', 'events.k8s.io/events:patch', ...(hold ? ['/nodes:patch'] : []),
        ...(slices ? ['discovery.k8s.io/endpointslices:list', 'discovery.k8s.io/endpointslices:watch'] : []),
      ].sort();
      expect(clusterRoles.flatMap((r) => triples(r.body.rules, r.name)).sort()).toEqual(expectedCluster);
      expect(roles.flatMap((r) => triples(r.body.rules, r.name)).sort())
        .toEqual(['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:update']);

      const leaseNamespace = env.LEASE_NAMESPACE || b.namespace;
      const leaseName = env.LEASE_NAME || settingOf('LEASE_NAME')?.default;
      for (const role of roles) {
        expect(role.namespace, 'the Role is in the Lease\'s namespace').toBe(leaseNamespace);
        for (const r of list(role.body.rules, 'rules').map((x) => obj(x, 'rule'))) {
          const verbs = strings(r.verbs, 'verbs');
          // RBAC cannot limit `create` by name: a create rule with resourceNames would deny every create.
          if (verbs.includes('create')) expect(r.resourceNames, 'create is not limited by resourceNames').toBeUndefined();
          if (r.resourceNames !== undefined) expect(r.resourceNames).toEqual([leaseName]);
        }
      }
      const everything = JSON.stringify([...clusterRoles, ...roles].map((r) => r.body.rules));
      expect(everything).not.toContain('*');
      expect(everything).not.toContain('secrets');
    });

    it('has a PodDisruptionBudget that selects its pods and lets one go at a time', () => {
      const v = podView(b);
      const pdb = only(b, 'PodDisruptionBudget');
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.namespace).toBe(v.deployment.namespace);
      expect(selects(at(pdb.body, 'spec.selector'), v.podLabels)).toBe(true);
      const spec = obj(pdb.body.spec, 'pdb spec');
      expect(spec.maxUnavailable === 1 || spec.minAvailable === 1, 'maxUnavailable: 1 or minAvailable: 1').toBe(true);
    });

    it('has a NetworkPolicy: in only to the health port; out only to DNS, HTTPS and the API server', () => {
      const v = podView(b);
      const np = only(b, 'NetworkPolicy');
      expect(np.namespace).toBe(v.deployment.namespace);
      expect(selects(at(np.body, 'spec.podSelector'), v.podLabels)).toBe(true);
      expect(at(np.body, 'spec.policyTypes')).toEqual(['Ingress', 'Egress']);
      const portsOf = (rules: unknown, what: string) => list(rules, what).flatMap((r) => {
        const ports = list(obj(r, what).ports, `${what} ports (a rule without ports allows every port)`);
        return ports.map((p) => `${String(obj(p, 'port').protocol ?? 'TCP')}/${String(obj(p, 'port').port)}`);
      }).sort();
      expect(portsOf(at(np.body, 'spec.ingress'), 'ingress')).toEqual([`TCP/${v.port.number}`]);
      expect(portsOf(at(np.body, 'spec.egress'), 'egress')).toEqual(['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53']);
    });
  });
}

// ---- Dockerfile.

interface Instruction { readonly op: string; readonly args: string }
interface Stage { readonly name: string | undefined; readonly image: string; readonly body: Instruction[] }

function dockerStages(): Stage[] {
  const logical = read('Dockerfile').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of logical.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`FROM ${args}`);
      stages.push({ image: f[1]!, name: f[2], body: [] });
    } else {
      if (stages.length === 0) {
        if (op === 'ARG') continue;
        throw new Error(`${op} before FROM`);
      }
      stages[stages.length - 1]!.body.push({ op, args });
    }
  }
  return stages;
}

function dockerUser(): { uid: number; gid: number } {
  const final = dockerStages().at(-1)!;
  const users = final.body.filter((i) => i.op === 'USER');
  expect(users, 'the runtime stage sets USER').toHaveLength(1);
  const m = /^(\d+):(\d+)$/.exec(users[0]!.args);
  if (!m) throw new Error(`USER ${users[0]!.args} is not a numeric uid:gid`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

const execForm = (args: string): string[] => strings(JSON.parse(args), 'exec form');

describe('Dockerfile', () => {
  const stages = lazy(dockerStages);
  const final = () => stages().at(-1)!;
  const stage = (name: string) => {
    const s = stages().find((x) => x.name === name);
    if (!s) throw new Error(`no stage ${name}`);
    return s;
  };
  const runs = (s: Stage) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args);
  const copiesFrom = (s: Stage) => s.body.filter((i) => i.op === 'COPY' && /--from=/.test(i.args)).map((i) => {
    const m = /--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(i.args);
    if (!m) throw new Error(`COPY ${i.args}`);
    return { from: m[1]!, src: m[2]!, dest: m[3]! };
  });

  it('is multi-stage on Node.js 24 images', () => {
    expect(stages().length).toBeGreaterThanOrEqual(2);
    for (const s of stages()) expect(s.image).toMatch(/^node:24(\.\d+)*-(bookworm-slim|alpine)(@sha256:[0-9a-f]{64})?$/);
  });

  it('builds with npm ci and npm run build', () => {
    const builder = copiesFrom(final()).find((c) => c.src.endsWith('/dist'));
    if (!builder) throw new Error('the runtime stage copies no dist/');
    const b = runs(stage(builder.from)).join('\n');
    expect(b).toMatch(/\bnpm ci\b/);
    expect(b).toMatch(/\bnpm run build\b/);
  });

  it('runs the bundle with no node_modules: dist/ from the build stage, where source maps are removed, and package.json', () => {
    const final_ = final();
    expect(copiesFrom(final_).map((c) => c.src)).toEqual(['/app/dist']);
    expect(runs(final_).filter((r) => /\bnpm\b/.test(r)), 'no npm in the runtime stage').toEqual([]);
    expect(final_.body.filter((i) => i.op === 'COPY' && !/--from=/.test(i.args)).map((i) => i.args), 'only package.json ("type": "module") from the context')
      .toEqual(['package.json ./']);
    const build = runs(stage(copiesFrom(final_)[0]!.from)).join('\n');
    expect(build).toMatch(/npm run build && find dist -name '\*\.map' -delete/);
    // The `node` devDependency only serves npm scripts; the runtime is the image's own node.
    const dev = obj(PACKAGE.devDependencies, 'devDependencies');
    const deps = obj(PACKAGE.dependencies, 'dependencies');
    expect(Object.keys(dev)).toContain('node');
    expect(Object.keys(deps)).not.toContain('node');
  });

  it('imports from src/ only packages that are production dependencies or built into Node.js', () => {
    const deps = new Set(Object.keys(obj(PACKAGE.dependencies, 'dependencies')));
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
    });
    const bad: string[] = [];
    for (const file of files(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'([^'.][^']*)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!deps.has(pkg)) bad.push(`${relative(ROOT, file)}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('runs as a non-root numeric user, with NODE_ENV=production, on port 8080, as `node dist/main.js run`', () => {
    const { uid, gid } = dockerUser();
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const user = final().body.findIndex((i) => i.op === 'USER');
    expect(final().body.slice(user).some((i) => i.op === 'RUN'), 'no RUN after USER').toBe(false);
    expect(final().body.some((i) => i.op === 'ENV' && /^NODE_ENV[= ]production$/.test(i.args))).toBe(true);
    expect(final().body.filter((i) => i.op === 'EXPOSE').map((i) => i.args)).toEqual([String(DEFAULT_HEALTH_PORT)]);
    expect(execForm(final().body.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['node', 'dist/main.js']);
    expect(execForm(final().body.find((i) => i.op === 'CMD')!.args)).toEqual(['run']);
    expect(PACKAGE.type).toBe('module');
    expect(obj(PACKAGE.scripts, 'scripts').start).toBe('node dist/main.js run');
  });

  it('checks its health with node itself on /health/live, and the check works', async () => {
    const hc = final().body.find((i) => i.op === 'HEALTHCHECK');
    if (!hc) throw new Error('no HEALTHCHECK');
    const m = /\bCMD\s+(\[.*\])$/.exec(hc.args);
    if (!m) throw new Error(`HEALTHCHECK ${hc.args}: not CMD in exec form`);
    const argv = execForm(m[1]!);
    expect(argv[0]).toBe('node');
    const script = argv.join(' ');
    expect(script).toContain('http://127.0.0.1:');
    expect(script).toContain(String(DEFAULT_HEALTH_PORT));
    expect(script).toContain('/health/live');
    expect(SERVER_ROUTES.has('/health/live')).toBe(true);

    // Run it (with this node) against a stand-in server: 0 on 200, 1 on 503 or no server.
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const check = (p: number) => new Promise<number>((r) => {
      execFile(process.execPath, argv.slice(1), { env: { ...process.env, HEALTH_PORT: String(p) }, timeout: 15_000 },
        (err) => r(err ? (typeof err.code === 'number' ? err.code : -1) : 0));
    });
    try {
      expect(await check(port)).toBe(0);
      status = 503;
      expect(await check(port)).toBe(1);
      expect(paths).toEqual(['/health/live', '/health/live']);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    expect(await check(port)).toBe(1);
  });

  it('.dockerignore keeps secrets, dependencies and build output out of the context, but not the build inputs', () => {
    const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.git', '.env', 'coverage', '.cache', 'test', 'bench']) expect(patterns).toContain(p);
    expect(patterns.some((p) => p.startsWith('!')), 'no re-inclusion').toBe(false);
    const glob = (p: string) => new RegExp(`^${p.replace(/^\//, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(.*/)?').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}(/.*)?$`);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'rolldown.config.ts', 'src/main.ts']) {
      expect(patterns.filter((p) => glob(p).test(needed)), `${needed} reaches the build`).toEqual([]);
    }
    expect(patterns.filter((p) => glob(p).test('.env')).length).toBeGreaterThan(0);
  });
});

// ---- .env.example and docker-compose.yml.

describe('.env.example', () => {
  it('documents every setting, and nothing else', () => {
    const names = [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(names.sort()).toEqual([...SETTING_NAMES].sort());
  });
});

describe('docker-compose.yml', () => {
  const svc = lazy(() => obj(at(parseDocs(read('docker-compose.yml'))[0], 'services.epictetus'), 'services.epictetus'));
  /** Compose's ${VAR:-default} interpolation, with the variables unset. */
  const interpolate = (s: string) => s.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_all, _name: string, d: string | undefined) => d ?? '');

  it('reads .env, builds this Dockerfile and restarts', () => {
    expect(strings(svc().env_file, 'env_file')).toEqual(['.env']);
    expect(svc().build).toBe('.');
    expect(svc().restart).toMatch(/^(always|unless-stopped|on-failure)/);
  });

  it('runs read-only as the image\'s numeric user, without capabilities', () => {
    expect(svc().read_only).toBe(true);
    const { uid, gid } = dockerUser();
    expect(svc().user).toBe(`${uid}:${gid}`);
    expect(svc().cap_drop).toEqual(['ALL']);
    expect(strings(svc().security_opt, 'security_opt')).toContain('no-new-privileges:true');
  });

  it('mounts the kubeconfig read-only where K8S_CONFIG_PATH points, and names only settings', () => {
    const env = obj(svc().environment, 'environment');
    for (const name of Object.keys(env)) expect(SETTING_NAMES).toContain(name);
    const path = str(env.K8S_CONFIG_PATH, 'K8S_CONFIG_PATH');
    const mounts = list(svc().volumes, 'volumes').map((v) => obj(v, 'volume')).filter((v) => v.target === path);
    expect(mounts).toHaveLength(1);
    expect(mounts[0]!.read_only).toBe(true);
    expect(mounts[0]!.type).toBe('bind');
  });

  it('publishes the health port', () => {
    const ports = strings(svc().ports, 'ports').map(interpolate);
    expect(ports.some((p) => p.endsWith(`:${DEFAULT_HEALTH_PORT}`))).toBe(true);
  });
});

// ---- k8s/: the raw manifests.

const kubectlPath = KUBECTL;
const manifestFiles = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
const rawObjects = lazy(() => manifestFiles.flatMap((f) => kubeObjects(readFileSync(join(K8S_DIR, f), 'utf8'), `k8s/${f}`)));

checkBundle('k8s/ manifests', rawObjects, 'epictetus', 2);

describe('k8s/ manifests', () => {
  it('create the namespace but not the token\'s Secret: README.md\'s kubectl command creates it, with the name and key the Deployment reads', () => {
    const ns = rawObjects().filter((o) => o.kind === 'Namespace');
    expect(ns.map((o) => o.name)).toEqual(['epictetus']);
    // Applying the manifests again must never overwrite the token with a placeholder.
    expect(rawObjects().filter((o) => o.kind === 'Secret')).toEqual([]);
    const ref = podView({ label: 'k8s', objects: rawObjects(), namespace: 'epictetus', replicas: 2 }).refs.get('CLOUDFLARE_API_TOKEN');
    const m = /kubectl -n (\S+) create secret generic (\S+) --from-file=([^=\s]+)=/.exec(read('k8s/README.md'));
    if (!m) throw new Error('k8s/README.md shows no `kubectl -n NS create secret generic NAME --from-file=KEY=...`');
    expect({ namespace: m[1], secretKeyRef: { name: m[2], key: m[3] } }).toEqual({ namespace: 'epictetus', ...ref });
  });

  it('README.md names every value to change, and shows the commands', () => {
    const readme = read('k8s/README.md');
    for (const what of ['image', 'DNS_HOSTNAMES', 'OWNER_ID', 'token', 'create secret generic', 'kubectl kustomize k8s/ | kubectl apply -f -']) expect(readme, what).toContain(what);
    const deployment = read('k8s/deployment.yaml');
    for (const marked of ['image:', '- name: DNS_HOSTNAMES', '- name: OWNER_ID']) {
      const lines = deployment.split('\n');
      const i = lines.findIndex((l) => l.trim().startsWith(marked));
      expect(lines[i - 1], `${marked} is marked CHANGE in deployment.yaml`).toMatch(/# CHANGE/);
    }
  });

  it('set DNS_HOSTNAMES, LEADER_ELECTION=true, LOG_FORMAT=json and LEASE_NAMESPACE from the downward API', () => {
    const v = podView({ label: 'k8s', objects: rawObjects(), namespace: 'epictetus', replicas: 2 });
    expect(v.env.get('DNS_HOSTNAMES')).toMatch(/\./);
    expect(v.env.get('LEADER_ELECTION')).toBe('true');
    expect(v.env.get('LOG_FORMAT')).toBe('json');
    expect(v.refs.get('LEASE_NAMESPACE')).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
  });

  it('kustomization.yaml lists every manifest', () => {
    const k = obj(parseDocs(read('k8s/kustomization.yaml'))[0], 'kustomization');
    expect(k.kind).toBe('Kustomization');
    expect(strings(k.resources, 'resources').slice().sort()).toEqual(manifestFiles);
  });

  const kubectl = (args: string[], kubeconfig?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((r) => {
    execFile(kubectlPath, [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...args], { timeout: 60_000, cwd: ROOT },
      (err, stdout, stderr) => r({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });

  it.skipIf(!existsSync(kubectlPath))('kubectl kustomize builds exactly these objects', async () => {
    const built = await kubectl(['kustomize', 'k8s/']);
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    const key = (o: KubeObject) => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
    const byKey = (objs: KubeObject[]) => new Map(objs.map((o) => [key(o), o.body]));
    expect(byKey(kubeObjects(built.stdout, 'kustomize'))).toEqual(byKey(rawObjects()));
  });

  describe.skipIf(!existsSync(kubectlPath))('kubectl apply --dry-run=client against the simulator', () => {
    // What this adds to `kubectl kustomize`: kubectl's apply path maps every object's apiVersion
    // and kind through discovery (a removed policy/v1beta1 PDB or rbac v1beta1 Role would fail)
    // and reads it back by name. The simulator serves Nodes, Services, Leases, Events...; the
    // other kinds are declared here with their real groups and versions, as the simulator serves
    // any ResourceDef it is given. Schemas are not checked (--validate=false: no OpenAPI here).
    const def = (group: string, version: string, kind: string, plural: string, namespaced: boolean): ResourceDef => ({
      group, version, kind, plural, singular: kind.toLowerCase(), namespaced, nameFormat: 'dns-subdomain',
      statusSubresource: false, mergeKeys: withMetadataMergeKeys({}),
    });
    const extra = [
      def('', 'v1', 'ServiceAccount', 'serviceaccounts', true),
      def('', 'v1', 'Secret', 'secrets', true),
      def('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
      def('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
      def('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
      def('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
      def('apps', 'v1', 'Deployment', 'deployments', true),
      def('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true),
      def('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true),
    ];
    let sim: KubeSim | undefined;
    let dir = '';
    beforeAll(async () => {
      sim = await KubeSim.start({ resources: extra });
      dir = mkdtempSync(join(tmpdir(), 'epictetus-deploy-'));
      sim.writeKubeconfig(join(dir, 'kubeconfig'));
    });
    afterAll(async () => {
      await sim?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('names every object', async () => {
      const r = await kubectl(['apply', '--dry-run=client', '--validate=false', '-k', 'k8s/', '-o', 'name'], join(dir, 'kubeconfig'));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const plural = new Map(extra.map((d) => [d.kind, d.group ? `${d.kind.toLowerCase()}.${d.group}` : d.kind.toLowerCase()]));
      const expected = rawObjects().map((o) => `${plural.get(o.kind) ?? o.kind.toLowerCase()}/${o.name}`).sort();
      expect(r.stdout.trim().split('\n').sort()).toEqual(expected);
    });
  });
});

// ---- k8s/README.md's overlay, built over k8s/ by kubectl kustomize.

function overlayObjects(): KubeObject[] {
  expect(readmeOverlayFiles().map((f) => f.file).sort()).toEqual(['kustomization.yaml', 'settings.yaml']);
  return kubeObjects(buildReadmeOverlay(), 'k8s/README.md overlay');
}
const readmeOverlay = lazy(overlayObjects);

if (existsSync(kubectlPath)) checkBundle('k8s/README.md overlay (kubectl kustomize)', readmeOverlay, 'epictetus', 2);

describe.skipIf(!existsSync(kubectlPath))('k8s/README.md overlay', () => {
  it('changes the image and the settings it names, and nothing else', () => {
    const base = podView({ label: 'base', objects: rawObjects(), namespace: 'epictetus', replicas: 2 });
    const mine = podView({ label: 'overlay', objects: readmeOverlay(), namespace: 'epictetus', replicas: 2 });
    expect(mine.container.image).toBe('registry.example.com/platform/epictetus:0.1.0');
    expect(mine.env.get('DNS_HOSTNAMES')).toBe('app.example.com,www.example.com');
    expect(mine.env.get('OWNER_ID')).toBe('prod-eu-1');
    expect(mine.env.get('DNS_TTL')).toBe('60');
    const others = (v: PodView) => ({ ...v.container, image: undefined, env: (v.container.env as Obj[]).filter((e) => !['DNS_HOSTNAMES', 'OWNER_ID', 'DNS_TTL'].includes(String(e.name))) });
    expect(others(mine)).toEqual(others(base));
    const key = (o: KubeObject) => `${o.kind}/${o.name}`;
    expect(readmeOverlay().map(key).sort()).toEqual(rawObjects().map(key).sort());
  });
});

// ---- charts/epictetus: the Helm chart.

const chartYaml = lazy(chartYamlOf);
const valuesText = lazy(() => readFileSync(join(CHART, 'values.yaml'), 'utf8'));
const defaultValues = lazy(defaultValuesOf);
const defaultConfig = lazy(() => obj(defaultValues().config, 'values.config'));
const merge = mergeValues;

/** `helm template` for this chart (chart.ts: the real helm when installed, else helm-lite), every template parsed. */
function helmTemplate(overrides: Obj, release: Release = {}, opts: RenderOptions = {}): KubeObject[] {
  return renderChart(overrides, release, opts).flatMap((r) => kubeObjects(r.text, r.source));
}

const WITH_TOKEN = { cloudflare: { apiToken: SAMPLE_TOKEN } };

checkBundle('chart, default values', () => helmTemplate(WITH_TOKEN), 'dns-system', 2);
checkBundle('chart, existing Secret, other port, Lease elsewhere, holds on, 3 replicas', () => helmTemplate({
  replicaCount: 3,
  cloudflare: { existingSecret: 'cf', existingSecretKey: 'token' },
  config: { HEALTH_PORT: '9090', LEASE_NAMESPACE: 'kube-system', LEASE_NAME: 'dns-leader', HOLD_NODE_DELETION: 'yes' },
}, { name: 'edge', namespace: 'edge-dns' }), 'edge-dns', 3);

checkBundle('chart, every optional feature on', () => helmTemplate({
  fullnameOverride: 'edge-dns',
  image: { repository: 'registry.example.com/platform/epictetus', digest: `sha256:${'0123456789abcdef'.repeat(4)}` },
  cloudflare: { existingSecret: 'cf', existingSecretKey: 'token', mountAsFile: true },
  serviceAccount: { name: 'dns-writer', annotations: { 'iam.example.com/role': 'dns' } },
  podLabels: { team: 'platform' },
  podAnnotations: { 'example.com/owner': 'platform' },
  extraEnv: [{ name: 'DRY_RUN', value: 'true' }],
  config: { DRY_RUN: null, HOLD_NODE_DELETION: 'true', DNS_HOSTNAMES: 'app.example.com', OWNER_ID: 'edge' },
  metrics: { serviceMonitor: { enabled: true, interval: '1m', labels: { release: 'prom' } } },
}, { name: 'edge', namespace: 'edge-dns' }), 'edge-dns', 2);

checkBundle('chart, token mounted as a file from an existing Secret',
  () => helmTemplate({ cloudflare: { existingSecret: 'cf', existingSecretKey: 'token', mountAsFile: true } }), 'dns-system', 2);

describe('chart', () => {
  it('Chart.yaml is a v2 application chart whose appVersion is the package version', () => {
    expect(chartYaml().apiVersion).toBe('v2');
    expect(chartYaml().name).toBe('epictetus');
    expect(chartYaml().type).toBe('application');
    expect(chartYaml().appVersion).toBe(PACKAGE.version);
  });

  it('values.yaml can set every setting; only the secret one comes from cloudflare.*', () => {
    const expected = [...SETTING_NAMES].filter((n) => !TOKEN_SOURCES.has(n)).sort();
    expect(Object.keys(defaultConfig()).sort()).toEqual(expected);
    expect(obj(defaultValues().cloudflare, 'cloudflare')).toEqual({ existingSecret: '', existingSecretKey: 'api-token', apiToken: '', mountAsFile: false });
    expect(defaultValues().replicaCount).toBe(2);
    expect(obj(defaultValues().image, 'image').repository).toBeTypeOf('string');
    expect(at(defaultValues(), 'resources.requests')).toBeDefined();
    expect(at(defaultValues(), 'resources.limits')).toBeDefined();
  });

  it('values.yaml defaults are the service\'s, except where a cluster deployment differs on purpose, and each is documented', () => {
    const deliberate: Record<string, string> = { LOG_FORMAT: 'json', LEADER_ELECTION: 'true' };
    for (const [name, value] of Object.entries(defaultConfig())) {
      expect(value, `${name} is a quoted string`).toBeTypeOf('string');
      expect(value, name).toBe(deliberate[name] ?? settingOf(name)?.default);
      // The line above the key is a comment (what it does, what it accepts).
      const lines = valuesText().split('\n');
      const i = lines.findIndex((l) => l.startsWith(`  ${name}:`));
      expect(lines[i - 1], `${name} is documented`).toMatch(/^\s+# /);
    }
  });

  it('values.schema.json allows exactly the settings under config, and accepts values.yaml', () => {
    const schema = obj(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')), 'schema');
    const config = obj(at(schema, 'properties.config'), 'schema config');
    expect(config.additionalProperties).toBe(false);
    expect(Object.keys(obj(config.properties, 'config properties')).sort()).toEqual(Object.keys(defaultConfig()).sort());
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(validate(defaultValues()), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(merge(defaultValues(), { config: { DNS_HOSTNAME: 'typo.example.com' } })), 'a misspelt setting is refused').toBe(false);
    expect(validate(merge(defaultValues(), { config: { DNS_TTL: 300, DRY_RUN: true } })), 'numbers and booleans are fine').toBe(true);
  });

  it('passes every config value to the container as that setting', () => {
    const config = Object.fromEntries(Object.keys(defaultConfig()).map((k, i) => [k, `value-${i}`]));
    // Not values the service accepts: only the plumbing is checked, so the schema is skipped (--skip-schema-validation).
    const v = podView({ label: 'chart', objects: helmTemplate({ ...WITH_TOKEN, config }, {}, { skipSchema: true }), namespace: 'dns-system', replicas: 2 });
    for (const [name, value] of Object.entries(config)) {
      if (name === 'HEALTH_PORT') continue;
      expect(v.env.get(name), name).toBe(value);
    }
    expect(v.env.get('DNS_TTL')).toBe('value-' + Object.keys(defaultConfig()).indexOf('DNS_TTL'));
    const asTyped = podView({ label: 'chart', objects: helmTemplate({ ...WITH_TOKEN, config: { DNS_TTL: 300, DRY_RUN: true, MAX_UNHEALTHY_FRACTION: 0.25 } }), namespace: 'dns-system', replicas: 2 });
    expect([asTyped.env.get('DNS_TTL'), asTyped.env.get('DRY_RUN'), asTyped.env.get('MAX_UNHEALTHY_FRACTION')]).toEqual(['300', 'true', '0.25']);
  });

  it('leaves the NetworkPolicy out when networkPolicy.enabled is false', () => {
    expect(helmTemplate({ ...WITH_TOKEN, networkPolicy: { enabled: false } }).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('takes the token from the Secret it creates, or from an existing one, and requires one of them', () => {
    const own = helmTemplate(WITH_TOKEN);
    const secret = own.find((o) => o.kind === 'Secret');
    expect(secret?.name).toBe('epictetus-cloudflare');
    expect(at(secret?.body, 'stringData.api-token')).toBe(SAMPLE_TOKEN);
    const ref = (objs: KubeObject[]) => podView({ label: 'chart', objects: objs, namespace: 'dns-system', replicas: 2 }).refs.get('CLOUDFLARE_API_TOKEN');
    expect(ref(own)).toEqual({ secretKeyRef: { name: 'epictetus-cloudflare', key: 'api-token' } });
    const existing = helmTemplate({ cloudflare: { existingSecret: 'cf-token', existingSecretKey: 'token' } });
    expect(existing.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(ref(existing)).toEqual({ secretKeyRef: { name: 'cf-token', key: 'token' } });
    expect(() => helmTemplate({})).toThrow(/cloudflare\.apiToken/);

    const mounted = podView({ label: 'chart', objects: helmTemplate({ cloudflare: { ...WITH_TOKEN.cloudflare, mountAsFile: true } }), namespace: 'dns-system', replicas: 2 });
    expect(mounted.refs.has('CLOUDFLARE_API_TOKEN')).toBe(false);
    const file = mounted.env.get('CLOUDFLARE_API_TOKEN_FILE');
    if (file === undefined) throw new Error('mountAsFile sets no CLOUDFLARE_API_TOKEN_FILE');
    expect(secretFileSource(mounted, file)).toEqual({ secretName: 'epictetus-cloudflare', key: 'api-token' });
  });

  it('grants patch on nodes exactly when the service reads HOLD_NODE_DELETION as true', () => {
    for (const raw of ['true', 'True', ' yes ', '1', 'on', 'false', 'FALSE', '0', 'no', 'off', '', true, false]) {
      const objects = helmTemplate({ ...WITH_TOKEN, config: { HOLD_NODE_DELETION: raw } });
      const rules = objects.filter((o) => o.kind === 'ClusterRole').flatMap((r) => triples(r.body.rules, r.name));
      expect(rules.includes('/nodes:patch'), `HOLD_NODE_DELETION=${JSON.stringify(raw)}`).toBe(boolSetting('HOLD_NODE_DELETION', String(raw)));
    }
  });

  it('the renderer follows Go template trimming, range order and Sprig functions', () => {
    const ctx: RenderContext = {
      Values: { m: { b: 2, a: 1 }, e: '', l: ['x'] },
      Release: { Name: 'r', Namespace: 'n', Service: 'Helm' },
      Chart: { Name: 'c', Version: '1', AppVersion: '1' },
    };
    const r = (t: string) => renderTemplate(t, ctx, toYaml);
    expect(r('a:\n  {{- range $k, $v := .Values.m }}\n  {{ $k }}: {{ $v | quote }}\n  {{- end }}\n')).toBe('a:\n  a: "1"\n  b: "2"\n');
    expect(r('{{ .Values.e | default "d" }}|{{ if .Values.l }}y{{ else }}n{{ end }}|{{ not .Values.e }}')).toBe('d|y|true');
    expect(r('x:{{- toYaml .Values.m | nindent 2 }}')).toBe('x:\n  b: 2\n  a: 1');
    expect(() => r('{{ .Values.missing }}')).toThrow(/no value/);
    expect(() => r('{{ template "x" . }}')).toThrow(/unsupported/);
    expect(() => r('{{ include "x" . }}')).toThrow(/no template "x"/);
    expect(r('{{- define "t" -}}[{{ .b }}]{{- end -}}{{ include "t" .Values.m }}')).toBe('[2]');
    expect(r('{{ $x := "a" }}{{ if eq $x "b" }}1{{ else if eq $x "a" }}2{{ else }}3{{ end }}')).toBe('2');
    expect(r('{{ printf "%s-%s" "a" (.Values.e | default "b") | trunc 3 | trimSuffix "-" }}|{{ contains "b" "abc" }}|{{ hasKey .Values.m "a" }}')).toBe('a-b|true|true');
    expect(r('{{ .Values.e | toString }}|{{ .Values.missing | toString }}|{{ gt (int "3") 2 }}')).toBe('|<nil>|true');
    expect(() => r('{{ fail "stop here" }}')).toThrow(/stop here/);
  });
});
