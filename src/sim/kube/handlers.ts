import type { IncomingHttpHeaders } from 'node:http';
import { apiGroup, apiGroupList, apiVersions, resourceList, versionInfo } from './discovery.js';
import { isObject, objectAt, stringAt, type Json, type JsonObject } from './json.js';
import { fieldCheck, fieldValidationOf, warningHeaders } from './field-validation.js';
import { mediaType, negotiate, type Output } from './negotiate.js';
import { openapiV2, openapiV3, openapiV3Index, type OpenApiSource } from './openapi/documents.js';
import { encodeOpenApiV2, PROTOBUF_V2, PROTOBUF_V2_CONTENT_TYPE } from './openapi/protobuf-v2.js';
import { builtinTypes } from './openapi/types.js';
import { PATCH_CONTENT_TYPES } from './patch.js';
import { decodeProtobufBody, hasProtobuf, PROTOBUF } from './protobuf.js';
import { apiVersionOf, type ResourceDef } from './resource.js';
import { route, type ResourceRoute, type Route } from './routes.js';
import type { Store, WatchEvent, WatchOptions } from './store.js';
import { ApiError, errors, fieldErrors, invalid, type FieldError } from './status.js';
import { toTable, type IncludeObject } from './table.js';
import type { WatchStream, WatchStreamOptions } from './watch.js';

/** One request as the handlers see it; the HTTP server implements it. */
export interface Exchange {
  readonly method: string;
  /** No credentials on a server that wants a token: the API server's system:anonymous. */
  readonly anonymous: boolean;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readBody(): Promise<unknown>;
  readBytes(): Promise<Buffer>;
  send(status: number, body: Json, headers?: Record<string, string | string[]>): void;
  sendText(status: number, text: string): void;
  sendBytes(status: number, body: Buffer, contentType: string): void;
  openWatch(def: ResourceDef, opts: WatchStreamOptions): WatchStream;
}

export interface HandlerOptions {
  gitVersion: string;
  bookmarkIntervalMs: number;
}

const JSON_BODY_TYPES = ['application/json'];
const LIST_OPTIONS = { group: 'meta.k8s.io', plural: 'listoptions', kind: 'ListOptions' };

/** Whether the OpenAPI v2 protobuf comes before JSON in Accept (kubectl 1.27/1.28 ask for nothing else). */
function acceptsProtobufV2(accept: string | undefined): boolean {
  for (const part of (accept ?? '').split(',')) {
    const type = part.split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === PROTOBUF_V2) return true;
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return false;
  }
  return false;
}

/** strconv.ParseBool, which the API server uses for query flags. */
function flag(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(value)) return false;
  throw errors.badRequest(`invalid boolean value for ${name}: ${JSON.stringify(value)}`);
}

function integer(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw errors.badRequest(`invalid value for ${name}: ${JSON.stringify(value)}`);
  return Number(value);
}

function includeObject(params: URLSearchParams): IncludeObject {
  const value = params.get('includeObject') ?? 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw errors.badRequest(`includeObject: Unsupported value: ${JSON.stringify(value)}`);
}

/** List items come without kind/apiVersion, as the API server serialises built-in lists. */
function listItem(obj: JsonObject): JsonObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

function isDryRun(params: URLSearchParams, body?: JsonObject): boolean {
  const values = [...params.getAll('dryRun'), ...(Array.isArray(body?.dryRun) ? body.dryRun : [])];
  for (const v of values) if (v !== 'All') throw errors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(v)}: supported values: "All"`);
  return values.length > 0;
}

/** DeleteOptions.gracePeriodSeconds, from the body or else from the query (as the API server decodes them). */
function gracePeriodSeconds(params: URLSearchParams, options: JsonObject | undefined): number | undefined {
  const value = options ? options.gracePeriodSeconds : params.get('gracePeriodSeconds');
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n)) {
    throw errors.badRequest(
      options
        ? `json: cannot unmarshal ${typeof value === 'string' ? 'string' : 'value'} into Go struct field DeleteOptions.gracePeriodSeconds of type int64`
        : `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`,
    );
  }
  return n;
}

function validateListOptions(params: URLSearchParams, watch: boolean): void {
  const match = params.get('resourceVersionMatch') ?? '';
  const sendInitialEvents = params.has('sendInitialEvents');
  const errs: FieldError[] = [];
  if (watch) {
    if (sendInitialEvents && match !== 'NotOlderThan') {
      errs.push(fieldErrors.forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
    }
    if (match !== '') {
      if (!sendInitialEvents) errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
      if (match !== 'NotOlderThan') errs.push(fieldErrors.notSupported('resourceVersionMatch', match, ['NotOlderThan']));
    }
  } else {
    const rv = params.get('resourceVersion') ?? '';
    if (match !== '') {
      if (rv === '') errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
      if (params.get('continue')) errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
      if (match !== 'Exact' && match !== 'NotOlderThan') errs.push(fieldErrors.notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
      if (match === 'Exact' && rv === '0') errs.push(fieldErrors.forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
    if (sendInitialEvents) errs.push(fieldErrors.forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  }
  if (errs.length > 0) throw invalid(LIST_OPTIONS, '', errs);
}

const VERBS: Readonly<Record<string, string>> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * What RBAC answers system:anonymous: only /version and the health checks are public. (kubectl
 * never sends credentials over plain HTTP, so it is anonymous on a simulator with a token.)
 */
function forbiddenToAnonymous(ex: Exchange, r: Route): ApiError {
  const user = 'User "system:anonymous"';
  if (r.kind !== 'resource') return new ApiError(403, 'Forbidden', `forbidden: ${user} cannot get path "${ex.url.pathname}"`, {});
  const { def, namespace, name, subresource } = r;
  const verb = VERBS[ex.method] ?? (name !== undefined ? 'get' : flag(ex.url.searchParams, 'watch') ? 'watch' : 'list');
  const resource = subresource ? `${def.plural}/${subresource}` : def.plural;
  const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  const subject = `${def.group ? `${def.plural}.${def.group}` : def.plural}${name === undefined ? '' : ` "${name}"`}`;
  return new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: ${user} cannot ${verb} resource "${resource}" in API group "${def.group}" ${scope}`,
    { ...(name === undefined ? {} : { name }), ...(def.group ? { group: def.group } : {}), kind: def.plural },
  );
}

/** The API server's REST surface over a Store. */
export class Handlers {
  private readonly openapiCache = new Map<string, JsonObject>();
  private openapiFor = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: HandlerOptions,
  ) {}

  async handle(ex: Exchange): Promise<void> {
    const r = route(ex.url.pathname, (g, v, p) => this.store.find(g, v, p));
    if (ex.anonymous && r.kind !== 'version' && r.kind !== 'health') throw forbiddenToAnonymous(ex, r);
    if (r.kind !== 'resource' && ex.method !== 'GET') throw errors.methodNotAllowed();
    const defs = this.store.resources;
    switch (r.kind) {
      case 'version':
        return ex.send(200, versionInfo(this.opts.gitVersion));
      case 'health':
        return ex.sendText(200, 'ok');
      case 'api':
        return this.discovery(ex, apiVersions());
      case 'groups':
        return this.discovery(ex, apiGroupList(defs));
      case 'group':
        return this.discovery(ex, apiGroup(defs, r.group));
      case 'resources':
        return this.discovery(ex, resourceList(defs, r.group, r.version));
      case 'openapi':
        return this.openapi(ex, r.version, r.gv);
      case 'resource':
        return this.resource(ex, r);
    }
  }

  /** The OpenAPI documents, built once per set of served resources. */
  private openapi(ex: Exchange, version: 'v2' | 'v3', gv: string | undefined): void {
    const src: OpenApiSource = { defs: this.store.resources, types: builtinTypes, version: this.opts.gitVersion };
    if (this.openapiFor !== this.store.resources.length) {
      this.openapiCache.clear();
      this.openapiFor = this.store.resources.length;
    }
    const key = `${version}/${gv ?? ''}`;
    let doc = this.openapiCache.get(key);
    if (!doc) {
      doc = version === 'v2' ? openapiV2(src) : gv === undefined ? openapiV3Index(src) : openapiV3(src, gv);
      if (!doc) throw errors.pathNotFound();
      this.openapiCache.set(key, doc);
    }
    if (version === 'v2' && acceptsProtobufV2(ex.headers.accept)) return ex.sendBytes(200, encodeOpenApiV2(doc), PROTOBUF_V2_CONTENT_TYPE);
    negotiate(ex.headers.accept, false);
    ex.send(200, doc);
  }

  /** Plain JSON even when aggregated discovery is asked for first: kubectl then falls back. */
  private discovery(ex: Exchange, body: JsonObject | undefined): void {
    if (!body) throw errors.pathNotFound();
    negotiate(ex.headers.accept, false);
    ex.send(200, body);
  }

  private async resource(ex: Exchange, r: ResourceRoute): Promise<void> {
    const { def, namespace, name } = r;
    const params = ex.url.searchParams;
    const scope = r.subresource === 'status' ? 'status' : 'main';
    const collection = name === undefined;
    switch (ex.method) {
      case 'GET': {
        const output = negotiate(ex.headers.accept, true);
        if (!collection) return this.sendObject(ex, def, output, this.store.get(def, namespace, name));
        return flag(params, 'watch') ? this.watch(ex, r, output) : this.list(ex, r, output);
      }
      case 'POST': {
        if (!collection || (def.namespaced && namespace === undefined)) throw errors.methodNotAllowed();
        negotiate(ex.headers.accept, false);
        const fields = fieldCheck(def, fieldValidationOf(params, 'CreateOptions'), builtinTypes);
        const body = await this.objectBody(ex, def);
        const created = this.store.create(def, namespace, body, { dryRun: isDryRun(params), checkFields: fields.check });
        return ex.send(201, created, warningHeaders(fields.warnings));
      }
      case 'PUT': {
        if (collection) throw errors.methodNotAllowed();
        negotiate(ex.headers.accept, false);
        const fields = fieldCheck(def, fieldValidationOf(params, 'UpdateOptions'), builtinTypes);
        const body = await this.objectBody(ex, def);
        const dryRun = isDryRun(params);
        if (def.createOnUpdate && scope === 'main' && !this.store.has(def, namespace, name)) {
          const bodyName = stringAt(objectAt(isObject(body) ? body : undefined, 'metadata'), 'name');
          if (bodyName !== name) {
            throw errors.badRequest(`the name of the object (${bodyName ?? ''}) does not match the name on the URL (${name})`);
          }
          return ex.send(201, this.store.create(def, namespace, body, { dryRun, checkFields: fields.check }), warningHeaders(fields.warnings));
        }
        return ex.send(200, this.store.update(def, namespace, name, body, { scope, dryRun, checkFields: fields.check }), warningHeaders(fields.warnings));
      }
      case 'PATCH': {
        if (collection) throw errors.methodNotAllowed();
        negotiate(ex.headers.accept, false);
        const type = PATCH_CONTENT_TYPES[mediaType(ex.headers['content-type'])];
        if (!type) throw errors.unsupportedMediaType(Object.keys(PATCH_CONTENT_TYPES));
        const mode = fieldValidationOf(params, 'PatchOptions');
        const patch = await ex.readBody();
        const fields = fieldCheck(def, mode, builtinTypes, { type, body: patch });
        const patched = this.store.patch(def, namespace, name, type, patch, { scope, dryRun: isDryRun(params), checkFields: fields.check });
        return ex.send(200, patched, warningHeaders(fields.warnings));
      }
      case 'DELETE': {
        if (collection || r.subresource) throw errors.methodNotAllowed();
        negotiate(ex.headers.accept, false);
        const raw = await ex.readBody();
        const options = isObject(raw) ? raw : undefined;
        const preconditions = objectAt(options, 'preconditions');
        const result = this.store.delete(def, namespace, name, {
          dryRun: isDryRun(params, options),
          gracePeriodSeconds: gracePeriodSeconds(params, options),
          preconditions: {
            uid: typeof preconditions?.uid === 'string' ? preconditions.uid : undefined,
            resourceVersion: typeof preconditions?.resourceVersion === 'string' ? preconditions.resourceVersion : undefined,
          },
        });
        if (!result.deleted || def.returnDeletedObject) return ex.send(200, result.object);
        const meta = objectAt(result.object, 'metadata');
        const details: JsonObject = { name, ...(def.group ? { group: def.group } : {}), kind: def.plural, uid: meta?.uid ?? '' };
        return ex.send(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details });
      }
      default:
        throw errors.methodNotAllowed();
    }
  }

  /** A POST or PUT body: JSON, or protobuf for the kinds whose messages protobuf.ts knows. */
  private async objectBody(ex: Exchange, def: ResourceDef): Promise<unknown> {
    const type = mediaType(ex.headers['content-type']);
    const protobuf = hasProtobuf(def.kind);
    if (type === PROTOBUF && protobuf) return decodeProtobufBody(await ex.readBytes());
    if (type !== '' && !JSON_BODY_TYPES.includes(type)) throw errors.unsupportedMediaType(protobuf ? [...JSON_BODY_TYPES, PROTOBUF] : JSON_BODY_TYPES);
    return ex.readBody();
  }

  private sendObject(ex: Exchange, def: ResourceDef, output: Output, obj: JsonObject): void {
    if (output === 'json') return ex.send(200, obj);
    const rv = objectAt(obj, 'metadata')?.resourceVersion ?? '';
    ex.send(200, toTable(def, [obj], { resourceVersion: rv }, includeObject(ex.url.searchParams)));
  }

  private list(ex: Exchange, r: ResourceRoute, output: Output): void {
    const params = ex.url.searchParams;
    validateListOptions(params, false);
    const result = this.store.list(r.def, {
      namespace: r.namespace,
      labelSelector: params.get('labelSelector') ?? undefined,
      fieldSelector: params.get('fieldSelector') ?? undefined,
      limit: integer(params, 'limit'),
      continue: params.get('continue') ?? undefined,
      resourceVersion: params.get('resourceVersion') ?? undefined,
      resourceVersionMatch: params.get('resourceVersionMatch') ?? undefined,
    });
    const metadata: JsonObject = { resourceVersion: result.resourceVersion };
    if (result.continue) metadata.continue = result.continue;
    if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
    if (output === 'table') return ex.send(200, toTable(r.def, result.items, metadata, includeObject(params)));
    ex.send(200, { kind: `${r.def.kind}List`, apiVersion: apiVersionOf(r.def), metadata, items: result.items.map(listItem) });
  }

  private watch(ex: Exchange, r: ResourceRoute, output: Output): void {
    const params = ex.url.searchParams;
    validateListOptions(params, true);
    const allowBookmarks = flag(params, 'allowWatchBookmarks') ?? false;
    const timeoutSeconds = integer(params, 'timeoutSeconds');
    const opts: WatchOptions = {
      namespace: r.namespace,
      labelSelector: params.get('labelSelector') ?? undefined,
      fieldSelector: params.get('fieldSelector') ?? undefined,
      resourceVersion: params.get('resourceVersion') ?? undefined,
      sendInitialEvents: flag(params, 'sendInitialEvents'),
      allowWatchBookmarks: allowBookmarks,
    };
    const include = includeObject(params);
    let first = true;
    const encode = (event: WatchEvent): WatchEvent => {
      if (output !== 'table') return event;
      const rv = objectAt(event.object, 'metadata')?.resourceVersion ?? '';
      const table = toTable(r.def, [event.object], { resourceVersion: rv }, include, first);
      first = false;
      return { type: event.type, object: table };
    };
    const streamOptions = {
      timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : undefined,
      bookmarkIntervalMs: allowBookmarks ? this.opts.bookmarkIntervalMs : undefined,
      bookmark: () => this.store.bookmark(r.def),
      encode,
    };
    const target: { stream?: WatchStream } = {};
    let started: { initial: WatchEvent[]; stop: () => void };
    try {
      started = this.store.watch(r.def, opts, (event) => target.stream?.send(event));
    } catch (err) {
      // A too-old resourceVersion is not an HTTP error: the watch starts and says so in an ERROR event.
      if (!(err instanceof ApiError) || err.code !== 410) throw err;
      ex.openWatch(r.def, { ...streamOptions, onClose: () => undefined }).error(err.toStatus());
      return;
    }
    // Nothing can change between subscribing and opening: both happen in this same tick.
    const stream = ex.openWatch(r.def, { ...streamOptions, onClose: started.stop });
    target.stream = stream;
    for (const event of started.initial) stream.send(event);
  }
}
