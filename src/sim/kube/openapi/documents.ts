/**
 * The OpenAPI documents of the kinds a simulator serves, built from their schemas (schema.ts):
 * /openapi/v3 (an index of one document per group-version, as kube-apiserver serves them) and
 * /openapi/v2 (one document). kubectl reads v3 to learn that the server validates fields itself
 * (the fieldValidation parameter of PATCH), for `kubectl explain`, and for the strategic-merge
 * metadata `kubectl apply` computes patches with.
 */
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import type { Prop, StructType, TypeDef } from './schema.js';

type Flavour = 'v2' | 'v3';

const REF_PREFIX: Record<Flavour, string> = { v2: '#/definitions/', v3: '#/components/schemas/' };

function refTo(name: string, f: Flavour): JsonObject {
  return { $ref: `${REF_PREFIX[f]}${name}` };
}

function withDescription(d: string, schema: JsonObject): JsonObject {
  return d ? { description: d, ...schema } : schema;
}

function propSchema(p: Prop, f: Flavour): JsonObject {
  switch (p.kind) {
    case 'scalar': {
      const s: JsonObject = { type: p.type };
      if (p.format) s.format = p.format;
      if (p.enum) s.enum = [...p.enum];
      return withDescription(p.d, s);
    }
    case 'ref':
      // v3 ignores siblings of $ref, hence allOf (as kube-openapi writes it).
      return withDescription(p.d, f === 'v3' ? { allOf: [refTo(p.name, f)] } : refTo(p.name, f));
    case 'list': {
      const s: JsonObject = { type: 'array', items: propSchema(p.items, f) };
      if (p.listType) s['x-kubernetes-list-type'] = p.listType;
      if (p.mapKeys) s['x-kubernetes-list-map-keys'] = [...p.mapKeys];
      if (p.mergeKey) s['x-kubernetes-patch-merge-key'] = p.mergeKey;
      if (p.merge) s['x-kubernetes-patch-strategy'] = 'merge';
      return withDescription(p.d, s);
    }
    case 'map':
      return withDescription(p.d, { type: 'object', additionalProperties: propSchema(p.values, f) });
    case 'open':
      return withDescription(p.d, f === 'v3' ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } : { type: 'object' });
  }
}

function typeSchema(t: TypeDef, f: Flavour): JsonObject {
  if (t.kind === 'string') {
    if (t.oneOf && f === 'v3') return { description: t.d, ...(t.format ? { format: t.format } : {}), oneOf: t.oneOf.map((type) => ({ type })) };
    return { description: t.d, type: 'string', ...(t.format ? { format: t.format } : {}) };
  }
  const s: JsonObject = { description: t.d, type: 'object' };
  if (t.required) s.required = [...t.required];
  const props = Object.entries(t.props);
  if (props.length > 0) s.properties = Object.fromEntries(props.map(([name, p]) => [name, propSchema(p, f)]));
  if (t.gvk) s['x-kubernetes-group-version-kind'] = [{ ...t.gvk }];
  return s;
}

function referenced(p: Prop): string[] {
  switch (p.kind) {
    case 'ref':
      return [p.name];
    case 'list':
      return referenced(p.items);
    case 'map':
      return referenced(p.values);
    default:
      return [];
  }
}

/** The schemas of `roots` and everything they refer to. */
function closure(roots: readonly string[], types: ReadonlyMap<string, TypeDef>, f: Flavour): JsonObject {
  const out: JsonObject = {};
  const pending = [...roots];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (name in out) continue;
    const t = types.get(name);
    if (!t) throw new Error(`no schema named ${name}`);
    out[name] = typeSchema(t, f);
    if (t.kind === 'struct') for (const p of Object.values(t.props)) pending.push(...referenced(p));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The schema name of a served resource; resources registered without one get an open schema. */
export function schemaName(def: ResourceDef): string {
  return def.schema ?? `sim.${def.group || 'core'}.${def.version}.${def.kind}`;
}

function openKind(def: ResourceDef): StructType {
  return {
    kind: 'struct',
    name: schemaName(def),
    d: `${def.kind}: a resource served by the simulator without a schema.`,
    props: {},
    open: true,
    gvk: { group: def.group, version: def.version, kind: def.kind },
  };
}

// ---- paths ----

const QUERY: Readonly<Record<string, [string, string]>> = {
  allowWatchBookmarks: ['boolean', 'Ask for BOOKMARK events in a watch.'],
  continue: ['string', 'The token of the next page of a paged list.'],
  dryRun: ['string', 'All: run every stage of the request without persisting anything.'],
  fieldManager: ['string', 'The name of the actor making the change.'],
  fieldSelector: ['string', 'Select objects by fields (metadata.name, metadata.namespace and a few per kind).'],
  fieldValidation:
    [
      'string',
      'What to do with unknown fields in the object: Ignore (drop them), Warn (drop them with a warning; the default) or Strict (fail with 400 Bad Request).',
    ],
  gracePeriodSeconds: ['integer', 'Seconds before a graceful deletion completes; 0 deletes at once.'],
  labelSelector: ['string', 'Select objects by labels.'],
  limit: ['integer', 'The most items to return; the rest comes with the continue token.'],
  pretty: ['string', "If 'true', the output is pretty printed."],
  resourceVersion: ['string', 'The resourceVersion to list or watch from.'],
  resourceVersionMatch: ['string', 'Exact or NotOlderThan: how resourceVersion applies to a list.'],
  sendInitialEvents: ['boolean', 'Start a watch with the current objects, ended by a bookmark.'],
  timeoutSeconds: ['integer', 'End a watch or list after this many seconds.'],
  watch: ['boolean', 'Watch for changes instead of listing.'],
};

const LIST_QUERY = ['allowWatchBookmarks', 'continue', 'fieldSelector', 'labelSelector', 'limit', 'resourceVersion', 'resourceVersionMatch', 'sendInitialEvents', 'timeoutSeconds', 'watch'];
const WRITE_QUERY = ['dryRun', 'fieldManager', 'fieldValidation'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

function parameter(name: string, where: 'query' | 'path', f: Flavour, description?: string): JsonObject {
  const [type, d] = QUERY[name] ?? ['string', description ?? ''];
  const base: JsonObject = { name, in: where, description: description ?? d };
  if (where === 'path') base.required = true;
  return f === 'v3' ? { ...base, schema: { type, uniqueItems: true } } : { ...base, type, uniqueItems: true };
}

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  action: string;
  verb: string;
  query: string[];
  /** What the body holds: the kind, a patch, or DeleteOptions. */
  body?: 'object' | 'patch' | 'delete';
  /** The answer's schema; the List kind for lists. */
  answer: string;
  created?: boolean;
}

function operationId(def: ResourceDef, verb: string, scope: 'namespaced' | 'cluster' | 'all', suffix = ''): string {
  const group = def.group === '' ? 'Core' : (def.group.split('.')[0] ?? '').replace(/^./, (c) => c.toUpperCase());
  const version = def.version.replace(/^./, (c) => c.toUpperCase());
  const where = scope === 'namespaced' ? 'Namespaced' : '';
  const all = scope === 'all' ? 'ForAllNamespaces' : '';
  return `${verb}${group}${version}${where}${def.kind}${suffix}${all}`;
}

function operation(def: ResourceDef, op: Operation, id: string, f: Flavour): JsonObject {
  const tag = `${def.group === '' ? 'core' : (def.group.split('.')[0] ?? '')}_${def.version}`;
  const answerRef = refTo(op.answer, f);
  const contentTypes = ['application/json'];
  const out: JsonObject = { tags: [tag], description: `${op.verb} ${def.kind}`, operationId: id };
  const params = op.query.map((q) => parameter(q, 'query', f));
  const responses: JsonObject = {};
  const ok = (description: string): JsonObject =>
    f === 'v3' ? { description, content: Object.fromEntries(contentTypes.map((t) => [t, { schema: answerRef }])) } : { description, schema: answerRef };
  responses['200'] = ok('OK');
  if (op.created) responses['201'] = ok('Created');
  responses['401'] = { description: 'Unauthorized' };
  if (f === 'v3') {
    if (params.length > 0) out.parameters = params;
    if (op.body) {
      const bodyTypes = op.body === 'patch' ? PATCH_TYPES : contentTypes;
      const schema = refTo(op.body === 'patch' ? 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch' : op.body === 'delete' ? 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions' : schemaName(def), f);
      out.requestBody = { content: Object.fromEntries(bodyTypes.map((t) => [t, { schema }])), ...(op.body === 'object' ? { required: true } : {}) };
    }
  } else {
    const body: JsonObject[] = [];
    if (op.body) {
      const schema = refTo(op.body === 'patch' ? 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch' : op.body === 'delete' ? 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions' : schemaName(def), f);
      body.push({ name: 'body', in: 'body', required: op.body !== 'delete', schema });
    }
    out.parameters = [...body, ...params];
    out.consumes = op.body === 'patch' ? PATCH_TYPES : ['*/*'];
    out.produces = contentTypes;
    out.schemes = ['https'];
  }
  out.responses = responses;
  out['x-kubernetes-action'] = op.action;
  out['x-kubernetes-group-version-kind'] = { group: def.group, version: def.version, kind: def.kind };
  return out;
}

function pathsOf(def: ResourceDef, f: Flavour): Array<[string, JsonObject]> {
  const base = def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
  const list = `${schemaName(def)}List`;
  const item = schemaName(def);
  const ns = def.namespaced ? '/namespaces/{namespace}' : '';
  const scope = def.namespaced ? 'namespaced' : 'cluster';
  const nsParam = def.namespaced ? [parameter('namespace', 'path', f, 'The namespace of the objects.')] : [];
  const pretty = parameter('pretty', 'query', f);
  const collection: JsonObject = {
    get: operation(def, { method: 'get', action: 'list', verb: 'list or watch objects of kind', query: LIST_QUERY, answer: list }, operationId(def, 'list', scope), f),
    post: operation(def, { method: 'post', action: 'post', verb: 'create a', query: WRITE_QUERY, body: 'object', answer: item, created: true }, operationId(def, 'create', scope), f),
    parameters: [...nsParam, pretty],
  };
  const named = [parameter('name', 'path', f, `The name of the ${def.kind}.`), ...nsParam, pretty];
  const one: JsonObject = {
    get: operation(def, { method: 'get', action: 'get', verb: 'read the specified', query: [], answer: item }, operationId(def, 'read', scope), f),
    put: operation(def, { method: 'put', action: 'put', verb: 'replace the specified', query: WRITE_QUERY, body: 'object', answer: item, created: true }, operationId(def, 'replace', scope), f),
    patch: operation(def, { method: 'patch', action: 'patch', verb: 'partially update the specified', query: WRITE_QUERY, body: 'patch', answer: item, created: true }, operationId(def, 'patch', scope), f),
    delete: operation(def, { method: 'delete', action: 'delete', verb: 'delete a', query: ['dryRun', 'gracePeriodSeconds'], body: 'delete', answer: item }, operationId(def, 'delete', scope), f),
    parameters: named,
  };
  const paths: Array<[string, JsonObject]> = [
    [`${base}${ns}/${def.plural}`, collection],
    [`${base}${ns}/${def.plural}/{name}`, one],
  ];
  if (def.statusSubresource) {
    paths.push([
      `${base}${ns}/${def.plural}/{name}/status`,
      {
        get: operation(def, { method: 'get', action: 'get', verb: 'read status of the specified', query: [], answer: item }, operationId(def, 'read', scope, 'Status'), f),
        put: operation(def, { method: 'put', action: 'put', verb: 'replace status of the specified', query: WRITE_QUERY, body: 'object', answer: item, created: true }, operationId(def, 'replace', scope, 'Status'), f),
        patch: operation(def, { method: 'patch', action: 'patch', verb: 'partially update status of the specified', query: WRITE_QUERY, body: 'patch', answer: item, created: true }, operationId(def, 'patch', scope, 'Status'), f),
        parameters: named,
      },
    ]);
  }
  if (def.namespaced) {
    paths.push([
      `${base}/${def.plural}`,
      { get: operation(def, { method: 'get', action: 'list', verb: 'list or watch objects of kind', query: LIST_QUERY, answer: list }, operationId(def, 'list', 'all'), f), parameters: [pretty] },
    ]);
  }
  return paths;
}

// ---- the documents ----

/** Types the operations refer to besides the kinds. */
function operationTypes(): TypeDef[] {
  const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
  return [
    { kind: 'struct', name: `${meta}.Patch`, d: 'A JSON patch, merge patch or strategic merge patch.', props: {}, open: true },
    {
      kind: 'struct',
      name: `${meta}.DeleteOptions`,
      d: 'Options of a deletion.',
      props: {
        apiVersion: { kind: 'scalar', type: 'string', d: 'APIVersion of DeleteOptions.' },
        dryRun: { kind: 'list', items: { kind: 'scalar', type: 'string', d: '' }, d: 'All: do not persist.', listType: 'atomic' },
        gracePeriodSeconds: { kind: 'scalar', type: 'integer', format: 'int64', d: 'Seconds before a graceful deletion completes.' },
        kind: { kind: 'scalar', type: 'string', d: 'DeleteOptions.' },
        orphanDependents: { kind: 'scalar', type: 'boolean', d: 'Deprecated: use propagationPolicy.' },
        preconditions: { kind: 'open', d: 'uid and resourceVersion the object must still have.' },
        propagationPolicy: { kind: 'scalar', type: 'string', d: 'Orphan, Background or Foreground.' },
      },
    },
  ];
}

export interface OpenApiSource {
  defs: readonly ResourceDef[];
  types: ReadonlyMap<string, TypeDef>;
  /** gitVersion, e.g. v1.32.4. */
  version: string;
}

function allTypes(src: OpenApiSource, defs: readonly ResourceDef[]): Map<string, TypeDef> {
  const types = new Map(src.types);
  for (const t of operationTypes()) types.set(t.name, t);
  for (const def of defs) {
    if (types.has(schemaName(def))) continue;
    const open = openKind(def);
    types.set(open.name, open);
    types.set(`${open.name}List`, { ...open, name: `${open.name}List`, gvk: { group: def.group, version: def.version, kind: `${def.kind}List` } });
  }
  return types;
}

function info(src: OpenApiSource): JsonObject {
  const minor = /^v(\d+\.\d+)/.exec(src.version)?.[1] ?? src.version;
  return { title: 'Kubernetes', version: minor };
}

function document(src: OpenApiSource, defs: readonly ResourceDef[], f: Flavour): JsonObject {
  const types = allTypes(src, defs);
  const paths: JsonObject = {};
  for (const def of defs) for (const [path, item] of pathsOf(def, f)) paths[path] = item;
  const roots = [
    ...defs.flatMap((def) => [schemaName(def), `${schemaName(def)}List`]),
    ...operationTypes().map((t) => t.name),
  ];
  const schemas = closure(roots, types, f);
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (f === 'v2') return { swagger: '2.0', info: info(src), paths: sortedPaths, definitions: schemas };
  return { openapi: '3.0.0', info: info(src), paths: sortedPaths, components: { schemas } };
}

function groupVersions(defs: readonly ResourceDef[]): string[] {
  return [...new Set(defs.map((d) => (d.group ? `apis/${d.group}/${d.version}` : `api/${d.version}`)))];
}

/** GET /openapi/v3/<gv> ("api/v1", "apis/discovery.k8s.io/v1"); undefined for a group-version not served. */
export function openapiV3(src: OpenApiSource, gv: string): JsonObject | undefined {
  const defs = src.defs.filter((d) => (d.group ? `apis/${d.group}/${d.version}` : `api/${d.version}`) === gv);
  return defs.length > 0 ? document(src, defs, 'v3') : undefined;
}

/** The hash kube-apiserver puts in serverRelativeURL: SHA-512 of the document, in upper-case hex. */
export function documentHash(doc: Json): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** GET /openapi/v3: where each group-version's document is. */
export function openapiV3Index(src: OpenApiSource): JsonObject {
  const paths: JsonObject = {};
  for (const gv of groupVersions(src.defs)) {
    const doc = openapiV3(src, gv);
    if (doc) paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${documentHash(doc)}` };
  }
  return { paths };
}

/** GET /openapi/v2: every served kind in one Swagger 2.0 document. */
export function openapiV2(src: OpenApiSource): JsonObject {
  return document(src, src.defs, 'v2');
}
