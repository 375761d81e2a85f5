import { randomInt, randomUUID } from 'node:crypto';
import { cloneJson, deepEqual, isObject, objectAt, stringAt, type JsonObject } from './json.js';
import {
  canonical,
  decodeContinue,
  encodeContinue,
  finalizersOf,
  labelsOf,
  metadataOf,
  nameOf,
  namespaceOf,
  parseResourceVersion,
  withoutResourceVersion,
  withResourceVersion,
} from './objects.js';
import { applyPatch, type PatchType } from './patch.js';
import { apiVersionOf, keyOf, type ResourceDef } from './resource.js';
import { labelMatcher, parseFieldSelector } from './selectors.js';
import { ApiError, errors, fieldErrors, invalid, type FieldError } from './status.js';
import { isoSeconds, validateObjectMeta } from './validation.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  type: ChangeType;
  rv: number;
  key: string;
  object: JsonObject;
  /** The object before this change, to rebuild older snapshots and to filter watches on transitions. */
  prev?: JsonObject;
}

export interface WatchEvent {
  type: ChangeType | 'BOOKMARK' | 'ERROR';
  object: JsonObject;
}

class ResourceState {
  readonly objects = new Map<string, JsonObject>();
  history: Change[] = [];
  /** Every change with a resourceVersion above this one is still in `history`. */
  horizon = 0;
  readonly listeners = new Set<(change: Change) => void>();
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: JsonObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/**
 * Which parts a write may change: the main endpoint keeps the old status (for kinds with a status
 * subresource), `status` keeps the old spec, `all` is the simulator's own direct access.
 */
export type WriteScope = 'main' | 'status' | 'all';

export interface WriteOptions {
  scope?: WriteScope;
  dryRun?: boolean;
  /** Runs on the decoded object (the patched one, for a patch): unknown-field checks (fieldValidation). */
  checkFields?: (obj: JsonObject) => void;
}

export interface DeleteOptions {
  dryRun?: boolean;
  /** DeleteOptions.gracePeriodSeconds, for kinds deleted gracefully (pods); negative means 1. */
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  sendInitialEvents?: boolean;
  allowWatchBookmarks?: boolean;
}

/** A committed change, as the storage holds it: what controllers inside the simulator react to. */
export interface StoredChange {
  def: ResourceDef;
  type: ChangeType;
  object: JsonObject;
  prev?: JsonObject;
}

export type ChangeHook = (change: StoredChange) => void;

export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

const CONTINUE_TOO_OLD =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

const NAME_SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * Every resource's objects with one resourceVersion counter shared by all of them (like etcd's
 * revision) and a bounded per-resource change history that watches resume from.
 * Stored objects are never mutated: every write stores a new object, so history can share them.
 * A resource with `storedAs` is a view: it reads and writes another resource's objects, converted.
 */
export class Store {
  private rv = 0;
  private readonly defs: ResourceDef[] = [];
  private readonly states = new Map<ResourceDef, ResourceState>();
  private readonly hooks: ChangeHook[] = [];
  private readonly hookQueue: StoredChange[] = [];
  private runningHooks = false;

  constructor(private readonly historyLimit: number) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get resources(): readonly ResourceDef[] {
    return this.defs;
  }

  register(def: ResourceDef): void {
    if (this.defs.includes(def)) return;
    this.defs.push(def);
    const storage = this.storage(def);
    if (!this.states.has(storage)) this.states.set(storage, new ResourceState());
  }

  /** By plural ("nodes") or plural.group ("leases.coordination.k8s.io"); core resources win a tie. */
  resource(name: string): ResourceDef {
    const found =
      this.defs.find((d) => (d.group ? `${d.plural}.${d.group}` : d.plural) === name) ?? this.defs.find((d) => d.plural === name);
    if (!found) throw new Error(`unknown resource ${name}`);
    return found;
  }

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.version === version && d.plural === plural);
  }

  private storage(def: ResourceDef): ResourceDef {
    return def.storedAs?.def ?? def;
  }

  private state(def: ResourceDef): ResourceState {
    const state = this.states.get(this.storage(def));
    if (!state) throw new Error(`resource ${def.plural} is not registered`);
    return state;
  }

  /** A stored object as `def` serves it. */
  private view(def: ResourceDef, stored: JsonObject): JsonObject {
    return def.storedAs ? canonical(def, def.storedAs.fromStored(stored)) : stored;
  }

  private toStored(def: ResourceDef, obj: JsonObject): JsonObject {
    return def.storedAs ? canonical(def.storedAs.def, def.storedAs.toStored(obj)) : canonical(def, obj);
  }

  private stored(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    const obj = this.state(def).objects.get(keyOf(namespace, name));
    if (!obj) throw errors.notFound(def, name);
    return obj;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    return this.view(def, this.stored(def, namespace, name));
  }

  has(def: ResourceDef, namespace: string | undefined, name: string): boolean {
    return this.state(def).objects.has(keyOf(namespace, name));
  }

  // ---- reads ----

  private snapshot(def: ResourceDef, rv: number, tooOld: () => ApiError): Map<string, JsonObject> {
    const state = this.state(def);
    if (rv > this.rv) throw errors.tooLargeResourceVersion(rv, this.rv);
    if (rv < state.horizon) throw tooOld();
    const objects = new Map(state.objects);
    for (let i = state.history.length - 1; i >= 0; i--) {
      const change = state.history[i];
      if (!change || change.rv <= rv) break;
      if (change.type === 'ADDED' || !change.prev) objects.delete(change.key);
      else objects.set(change.key, change.prev);
    }
    return objects;
  }

  /** Matches objects as `def` serves them. */
  private matcher(def: ResourceDef, labelSelector?: string, fieldSelector?: string): (obj: JsonObject) => boolean {
    // No selector (the common case): nothing to match, and no label map to build per object.
    if (!labelSelector && !fieldSelector) return () => true;
    const labels = labelMatcher(labelSelector);
    const fields = parseFieldSelector(fieldSelector ?? '').map((r) => {
      const getter =
        r.field === 'metadata.name'
          ? nameOf
          : r.field === 'metadata.namespace' && def.namespaced
            ? (o: JsonObject) => namespaceOf(o) ?? ''
            : def.fieldSelectors?.[r.field];
      if (!getter) throw errors.badRequest(`field label not supported: ${r.field}`);
      return (obj: JsonObject) => (getter(obj) === r.value) === (r.op === '=');
    });
    return (obj) => labels(labelsOf(obj)) && fields.every((f) => f(obj));
  }

  list(def: ResourceDef, opts: ListOptions = {}): ListResult {
    const state = this.state(def);
    const match = this.matcher(def, opts.labelSelector, opts.fieldSelector);
    let at = this.rv;
    let start = '';
    let objects = state.objects;
    if (opts.continue) {
      if (opts.resourceVersion) throw errors.badRequest('specifying resource version is not allowed when using continue');
      const token = decodeContinue(opts.continue);
      start = token.start;
      // rv -1 is the "inconsistent" token handed out when the snapshot was compacted away.
      if (token.rv >= 0) {
        at = token.rv;
        objects = this.snapshot(def, at, () => errors.expired(CONTINUE_TOO_OLD, { continue: encodeContinue(-1, start) }));
      }
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      const rv = parseResourceVersion(opts.resourceVersion);
      if (opts.resourceVersionMatch === 'Exact') {
        at = rv;
        objects = this.snapshot(def, rv, () => errors.expired(`too old resource version: ${rv} (${state.horizon})`));
      } else if (rv > this.rv) {
        throw errors.tooLargeResourceVersion(rv, this.rv);
      }
    }
    const prefix = opts.namespace ? `${opts.namespace}/` : '';
    const matching: Array<[string, JsonObject]> = [];
    for (const key of [...objects.keys()].filter((k) => k.startsWith(prefix) && k >= start).sort()) {
      const obj = this.view(def, objects.get(key) ?? {});
      if (match(obj)) matching.push([key, obj]);
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const page = matching.slice(0, limit);
    const result: ListResult = { items: page.map(([, obj]) => obj), resourceVersion: String(at) };
    const last = page[page.length - 1];
    if (matching.length > page.length && last) {
      result.continue = encodeContinue(at, `${last[0]}\u0000`);
      if (!opts.labelSelector && !opts.fieldSelector) result.remainingItemCount = matching.length - page.length;
    }
    return result;
  }

  // ---- writes ----

  private record(def: ResourceDef, type: ChangeType, key: string, object: JsonObject, prev?: JsonObject): void {
    const state = this.state(def);
    const change: Change = { type, rv: this.rv, key, object, prev };
    state.history.push(change);
    while (state.history.length > this.historyLimit) {
      const dropped = state.history.shift();
      if (dropped) state.horizon = dropped.rv;
    }
    for (const listener of [...state.listeners]) listener(change);
    if (this.hooks.length > 0) {
      this.hookQueue.push({ def: this.storage(def), type, object, ...(prev ? { prev } : {}) });
      this.runHooks();
    }
  }

  /**
   * Calls `hook` after every change, once the change's watchers have it. A change a hook makes
   * is handed to the hooks after the current one returns, never inside it, so a controller
   * reacting to a Pod sees its own EndpointSlice writes one after another, in order, and the
   * write that started it all returns only once they are done.
   */
  onChange(hook: ChangeHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Runs `fn` as if it were a hook: the changes it makes reach the hooks once it returns. */
  deferHooks(fn: () => void): void {
    if (this.runningHooks) return fn();
    this.runningHooks = true;
    try {
      fn();
    } finally {
      this.runningHooks = false;
    }
    this.runHooks();
  }

  private runHooks(): void {
    if (this.runningHooks) return;
    this.runningHooks = true;
    try {
      for (let change = this.hookQueue.shift(); change; change = this.hookQueue.shift()) {
        for (const hook of [...this.hooks]) hook(change);
      }
    } finally {
      this.runningHooks = false;
      this.hookQueue.length = 0;
    }
  }

  private decode(def: ResourceDef, body: unknown, opts: WriteOptions): JsonObject {
    if (!isObject(body)) throw errors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    const obj = cloneJson(body);
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw errors.badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${def.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(def)) {
      throw errors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(def)})`);
    }
    opts.checkFields?.(obj);
    def.decode?.(obj);
    return obj;
  }

  private validate(def: ResourceDef, obj: JsonObject, old: JsonObject | undefined): void {
    const errs: FieldError[] = [...validateObjectMeta(def, obj), ...(def.validate?.(obj, old) ?? [])];
    if (old && stringAt(objectAt(old, 'metadata'), 'deletionTimestamp')) {
      const before = new Set(finalizersOf(old));
      const added = finalizersOf(obj).filter((f) => !before.has(f));
      if (added.length > 0) {
        errs.push(fieldErrors.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
      }
    }
    if (errs.length > 0) throw invalid(def, nameOf(obj), errs);
  }

  /** The namespace a request names must exist (the NamespaceLifecycle admission plugin). */
  private requireNamespace(namespace: string): void {
    const nsDef = this.defs.find((d) => d.group === '' && d.plural === 'namespaces');
    if (nsDef && !this.state(nsDef).objects.has(namespace)) throw errors.notFound(nsDef, namespace);
  }

  create(def: ResourceDef, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): JsonObject {
    const state = this.state(def);
    const obj = this.decode(def, body, opts);
    const metadata = metadataOf(obj);
    if (def.namespaced) {
      if (!namespace) throw errors.badRequest('the namespace of the object is required');
      if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      metadata.namespace = namespace;
      this.requireNamespace(namespace);
    } else {
      delete metadata.namespace;
    }
    if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== '') {
      throw errors.badRequest('resourceVersion should not be set on objects to be created');
    }
    if (!metadata.name && typeof metadata.generateName === 'string' && metadata.generateName !== '') {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += NAME_SUFFIX_CHARS.charAt(randomInt(NAME_SUFFIX_CHARS.length));
      metadata.name = metadata.generateName + suffix;
    }
    for (const key of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink']) {
      delete metadata[key];
    }
    def.prepareForCreate?.(obj, () => [...state.objects.values()].map((o) => this.view(def, o)));
    this.validate(def, obj, undefined);
    const name = nameOf(obj);
    const key = keyOf(namespace, name);
    if (state.objects.has(key)) throw errors.alreadyExists(def, name);
    metadata.uid = randomUUID();
    metadata.creationTimestamp = isoSeconds();
    if (opts.dryRun) return canonical(def, obj);
    this.rv++;
    metadata.resourceVersion = String(this.rv);
    const stored = this.toStored(def, obj);
    state.objects.set(key, stored);
    this.record(def, 'ADDED', key, stored);
    return this.view(def, stored);
  }

  update(def: ResourceDef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): JsonObject {
    const current = this.stored(def, namespace, name);
    return this.commitUpdate(def, namespace, name, current, this.decode(def, body, opts), opts);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions = {},
  ): JsonObject {
    const current = this.stored(def, namespace, name);
    const patched = applyPatch(type, this.view(def, current), patch, def.mergeKeys);
    return this.commitUpdate(def, namespace, name, current, this.decode(def, patched, opts), opts);
  }

  private commitUpdate(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    currentStored: JsonObject,
    next: JsonObject,
    opts: WriteOptions,
  ): JsonObject {
    const current = this.view(def, currentStored);
    const metadata = metadataOf(next);
    const currentMeta = metadataOf(current);
    if (metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${String(metadata.name ?? '')}) does not match the name on the URL (${name})`);
    }
    if (def.namespaced && metadata.namespace !== undefined && metadata.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const requestedRv = metadata.resourceVersion;
    if (requestedRv === undefined || requestedRv === '') {
      if (def.conditionalUpdatesOnly) {
        throw invalid(def, name, [{ ...fieldErrors.invalid('metadata.resourceVersion', 0, 'must be specified for an update'), rawValue: '0x0' }]);
      }
    } else if (requestedRv !== currentMeta.resourceVersion) {
      throw errors.modified(def, name);
    }
    // Fields only the server sets.
    for (const key of ['namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
      const value = currentMeta[key];
      if (value === undefined) delete metadata[key];
      else metadata[key] = value;
    }
    const scope = opts.scope ?? 'main';
    if (scope === 'main' && def.statusSubresource) {
      if (current.status === undefined) delete next.status;
      else next.status = current.status;
    } else if (scope === 'status') {
      if (current.spec === undefined) delete next.spec;
      else next.spec = current.spec;
    }
    def.prepareForUpdate?.(next, current);
    this.validate(def, next, current);

    const key = keyOf(namespace, name);
    const dryRun = opts.dryRun ?? false;
    if (currentMeta.deletionTimestamp && finalizersOf(next).length === 0) {
      // The last finalizer is gone: the object is deleted as part of this update.
      return this.view(def, this.remove(def, key, currentStored, dryRun));
    }
    const candidate = this.toStored(def, withoutResourceVersion(next));
    // An update that changes nothing is not written: no new resourceVersion, no watch event.
    if (deepEqual(candidate, withoutResourceVersion(currentStored))) return current;
    const storage = this.storage(def);
    if (dryRun) return this.view(def, withResourceVersion(storage, candidate, Number(currentMeta.resourceVersion)));
    this.rv++;
    const stored = withResourceVersion(storage, candidate, this.rv);
    this.state(def).objects.set(key, stored);
    this.record(def, 'MODIFIED', key, stored, currentStored);
    return this.view(def, stored);
  }

  /**
   * Deletes at once or, with finalizers present, only marks the object as being deleted. Kinds
   * deleted gracefully (ResourceDef.gracePeriod) are first marked with a deletionTimestamp that
   * many seconds ahead and stay until deleted again with a shorter period (0: now), as
   * rest.BeforeDelete and the generic registry do.
   */
  delete(def: ResourceDef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): { object: JsonObject; deleted: boolean } {
    const currentStored = this.stored(def, namespace, name);
    const current = this.view(def, currentStored);
    const meta = metadataOf(current);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== meta.uid) {
      throw errors.conflict(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
      throw errors.conflict(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`,
      );
    }
    def.beforeDelete?.(current);
    const key = keyOf(namespace, name);
    const dryRun = opts.dryRun ?? false;
    const pending = finalizersOf(current).length > 0;
    const graceful = this.gracefulDeletion(def, current, opts.gracePeriodSeconds);
    if (graceful === 'pending') return { object: current, deleted: false };
    if (graceful) {
      const marked: JsonObject = { ...currentStored, metadata: { ...metadataOf(currentStored), ...graceful } };
      if (dryRun) return { object: this.view(def, marked), deleted: false };
      const stored = this.write(def, key, marked, currentStored);
      if (graceful.deletionGracePeriodSeconds > 0 || pending) return { object: this.view(def, stored), deleted: false };
      return { object: this.view(def, this.remove(def, key, stored, false)), deleted: true };
    }
    if (!pending) return { object: this.view(def, this.remove(def, key, currentStored, dryRun)), deleted: true };
    if (meta.deletionTimestamp || dryRun) return { object: current, deleted: false };
    const storedMeta = metadataOf(currentStored);
    const stored = this.write(def, key, { ...currentStored, metadata: { ...storedMeta, deletionTimestamp: isoSeconds(), deletionGracePeriodSeconds: 0 } }, currentStored);
    return { object: this.view(def, stored), deleted: false };
  }

  /**
   * rest.BeforeDelete for kinds deleted gracefully: the metadata to write, 'pending' when a
   * graceful deletion already under way is left as it is, undefined to delete without grace.
   */
  private gracefulDeletion(
    def: ResourceDef,
    current: JsonObject,
    requested: number | undefined,
  ): { deletionTimestamp: string; deletionGracePeriodSeconds: number; generation?: number } | 'pending' | undefined {
    if (!def.gracePeriod) return undefined;
    const asked = requested !== undefined && requested < 0 ? 1 : requested;
    const meta = metadataOf(current);
    const now = Date.now();
    const since = stringAt(meta, 'deletionTimestamp');
    if (since === undefined) {
      const period = def.gracePeriod(current, asked);
      const generation = typeof meta.generation === 'number' && meta.generation > 0 ? { generation: meta.generation + 1 } : {};
      return { deletionTimestamp: isoSeconds(new Date(now + period * 1000)), deletionGracePeriodSeconds: period, ...generation };
    }
    const period = typeof meta.deletionGracePeriodSeconds === 'number' ? meta.deletionGracePeriodSeconds : 0;
    if (period === 0) return undefined;
    if (asked === undefined || asked >= period) return 'pending';
    // Only a shorter grace period: the deletionTimestamp moves back, never into the past.
    let at = Date.parse(since) - period * 1000 + asked * 1000;
    let shorter = asked;
    if (at < now) {
      at = now;
      if (shorter !== 0) shorter = 1;
    }
    return { deletionTimestamp: isoSeconds(new Date(at)), deletionGracePeriodSeconds: shorter };
  }

  /** Stores a new version of an object under the next resourceVersion; returns it as stored. */
  private write(def: ResourceDef, key: string, next: JsonObject, currentStored: JsonObject): JsonObject {
    this.rv++;
    const stored = withResourceVersion(this.storage(def), next, this.rv);
    this.state(def).objects.set(key, stored);
    this.record(def, 'MODIFIED', key, stored, currentStored);
    return stored;
  }

  /** Removes a stored object; returns it as stored, with the deletion's resourceVersion. */
  private remove(def: ResourceDef, key: string, current: JsonObject, dryRun: boolean): JsonObject {
    if (dryRun) return current;
    this.rv++;
    const storage = this.storage(def);
    const deleted = withResourceVersion(storage, current, this.rv);
    this.state(def).objects.delete(key);
    this.record(def, 'DELETED', key, deleted, current);
    if (storage.group === '' && storage.plural === 'namespaces') this.removeNamespaceContents(nameOf(current));
    return deleted;
  }

  /** What the namespace controller does once a namespace is deleted. */
  private removeNamespaceContents(namespace: string): void {
    for (const [def, state] of this.states) {
      if (!def.namespaced) continue;
      for (const [key, obj] of [...state.objects]) {
        if (namespaceOf(obj) === namespace) this.remove(def, key, obj, false);
      }
    }
  }

  // ---- watch ----

  /**
   * Starts a watch: returns the events to send first and subscribes `sink` to later changes, in
   * the same tick so nothing falls in between. Throws 410 Expired when the requested
   * resourceVersion is older than the history kept.
   */
  watch(def: ResourceDef, opts: WatchOptions, sink: (event: WatchEvent) => void): { initial: WatchEvent[]; stop: () => void } {
    const state = this.state(def);
    const selected = this.matcher(def, opts.labelSelector, opts.fieldSelector);
    const prefix = opts.namespace ? `${opts.namespace}/` : '';
    const matches = (key: string, obj: JsonObject) => key.startsWith(prefix) && selected(obj);
    // A watch with a selector sees objects entering and leaving it as ADDED and DELETED.
    const translate = (change: Change): WatchEvent | undefined => {
      const object = this.view(def, change.object);
      const now = change.type !== 'DELETED' && matches(change.key, object);
      const before = change.type !== 'ADDED' && matches(change.key, change.prev ? this.view(def, change.prev) : object);
      if (change.type === 'DELETED') return before ? { type: 'DELETED', object } : undefined;
      if (now && before) return { type: 'MODIFIED', object };
      if (now) return { type: 'ADDED', object };
      if (before) return { type: 'DELETED', object };
      return undefined;
    };
    const current = (): WatchEvent[] =>
      [...state.objects.keys()]
        .sort()
        .map((key): [string, JsonObject] => [key, this.view(def, state.objects.get(key) ?? {})])
        .filter(([key, object]) => matches(key, object))
        .map(([, object]) => ({ type: 'ADDED', object }));

    const rvParam = opts.resourceVersion ?? '';
    let initial: WatchEvent[];
    if (opts.sendInitialEvents === true) {
      if (rvParam !== '' && rvParam !== '0' && parseResourceVersion(rvParam) > this.rv) {
        throw errors.tooLargeResourceVersion(parseResourceVersion(rvParam), this.rv);
      }
      initial = current();
      if (opts.allowWatchBookmarks) {
        initial.push({ type: 'BOOKMARK', object: this.bookmark(def, { [INITIAL_EVENTS_END]: 'true' }) });
      }
    } else if (rvParam === '' || rvParam === '0') {
      initial = opts.sendInitialEvents === false ? [] : current();
    } else {
      const rv = parseResourceVersion(rvParam);
      if (rv > this.rv) throw errors.tooLargeResourceVersion(rv, this.rv);
      if (rv < state.horizon) throw errors.expired(`too old resource version: ${rv} (${state.horizon})`);
      initial = state.history.filter((c) => c.rv > rv).flatMap((c) => translate(c) ?? []);
    }
    const listener = (change: Change) => {
      const event = translate(change);
      if (event) sink(event);
    };
    state.listeners.add(listener);
    return { initial, stop: () => state.listeners.delete(listener) };
  }

  bookmark(def: ResourceDef, annotations?: Record<string, string>): JsonObject {
    const metadata: JsonObject = { resourceVersion: String(this.rv) };
    if (annotations) metadata.annotations = annotations;
    return { kind: def.kind, apiVersion: apiVersionOf(def), metadata };
  }

  /** Forget all history, like an etcd compaction followed by a watch-cache reset. */
  expireHistory(): void {
    for (const state of this.states.values()) {
      state.history = [];
      state.horizon = this.rv;
    }
  }
}
