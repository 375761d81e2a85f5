/**
 * Kubernetes' EndpointSlice controller (pkg/controller/endpointslice with k8s.io/endpointslice's
 * reconciler) inside the simulator: every Service with a selector gets discovery.k8s.io/v1
 * EndpointSlices listing its Pods, kept up to date as Pods, Services and Nodes change. Like the
 * real one it skips Pods without an IP, finished Pods and Pods on Nodes that do not exist, packs
 * at most 100 endpoints into a slice, keeps a placeholder slice when there is no endpoint, and
 * leaves slices alone once a Service loses its selector. Deleting a Service deletes its slices,
 * as the garbage collector would.
 */
import { arrayAt, isObject, objectAt, stringAt, type Json, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { ApiError } from '../status.js';
import type { StoredChange, Store } from '../store.js';
import { planAddressType, type Plan } from './plan.js';
import { addressTypesOf, CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, labelsOf, ownedBy, selectorOf, selects, type AddressType } from './endpoints.js';

const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

interface Defs {
  pods: ResourceDef;
  services: ResourceDef;
  nodes: ResourceDef;
  slices: ResourceDef;
}

function meta(obj: JsonObject | undefined): JsonObject {
  return objectAt(obj, 'metadata') ?? {};
}

function nameOf(obj: JsonObject | undefined): string {
  return stringAt(meta(obj), 'name') ?? '';
}

/** Read on every Node write (heartbeats included), so without building a label map. */
function zoneOf(node: JsonObject): Json | undefined {
  return objectAt(meta(node), 'labels')?.[ZONE_LABEL];
}

/** Go's time.RFC3339Nano in UTC: fractional seconds only when there are some, trailing zeros cut. */
function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

function time(value: Json | undefined): number {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** The TriggerTimeTracker's memory of one Service: when its Pods last turned ready or not. */
interface TriggerState {
  pods: Map<string, number>;
  service: number;
}

export class EndpointSliceController {
  private readonly ownWrites = new Set<number>();
  private readonly triggers = new Map<string, TriggerState>();
  private stopHook: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly defs: Defs,
  ) {}

  static forStore(store: Store): EndpointSliceController {
    return new EndpointSliceController(store, {
      pods: store.resource('pods'),
      services: store.resource('services'),
      nodes: store.resource('nodes'),
      slices: store.resource('endpointslices.discovery.k8s.io'),
    });
  }

  /** Syncs every Service once (the informers' first list), then follows every change. */
  start(): void {
    if (this.stopHook) return;
    this.stopHook = this.store.onChange((change) => this.onChange(change));
    this.store.deferHooks(() => {
      for (const service of this.store.list(this.defs.services).items) this.sync(stringAt(meta(service), 'namespace') ?? '', nameOf(service));
    });
  }

  stop(): void {
    this.stopHook?.();
    this.stopHook = undefined;
  }

  private onChange(change: StoredChange): void {
    const { def, object, prev } = change;
    const namespace = stringAt(meta(object), 'namespace') ?? '';
    if (def === this.defs.pods) {
      const before = prev ? labelsOf(prev) : undefined;
      const after = labelsOf(object);
      for (const service of this.store.list(this.defs.services, { namespace }).items) {
        const selector = selectorOf(service);
        if (selector && (selects(selector, after) || (before && selects(selector, before)))) this.sync(namespace, nameOf(service));
      }
    } else if (def === this.defs.services) {
      if (change.type === 'DELETED') this.collectGarbage(object);
      else this.sync(namespace, nameOf(object));
    } else if (def === this.defs.nodes) {
      // A Pod on a missing Node is retried until the Node shows up; a zone label feeds endpoints.zone.
      const zoneChanged = prev !== undefined && zoneOf(prev) !== zoneOf(object);
      if (change.type === 'ADDED' || (change.type === 'MODIFIED' && zoneChanged)) this.syncPodsOn(nameOf(object));
    } else if (def === this.defs.slices) {
      const rv = Number(meta(object).resourceVersion);
      if (this.ownWrites.delete(rv)) return;
      // Someone else changed a slice this controller manages: put it right.
      const labels = labelsOf(object);
      const service = labels[LABEL_SERVICE_NAME];
      if (labels[LABEL_MANAGED_BY] === CONTROLLER_NAME && service) this.sync(namespace, service);
    }
  }

  private syncPodsOn(node: string): void {
    const services = new Set<string>();
    for (const pod of this.store.list(this.defs.pods, { fieldSelector: `spec.nodeName=${node}` }).items) {
      const namespace = stringAt(meta(pod), 'namespace') ?? '';
      for (const service of this.store.list(this.defs.services, { namespace }).items) {
        const selector = selectorOf(service);
        if (selector && selects(selector, labelsOf(pod))) services.add(JSON.stringify([namespace, nameOf(service)]));
      }
    }
    for (const key of services) {
      const [namespace = '', name = ''] = JSON.parse(key) as string[];
      this.sync(namespace, name);
    }
  }

  /** What the garbage collector does once a Service is gone: its slices go too. */
  private collectGarbage(service: JsonObject): void {
    const namespace = stringAt(meta(service), 'namespace') ?? '';
    this.triggers.delete(`${namespace}/${nameOf(service)}`);
    for (const slice of this.store.list(this.defs.slices, { namespace }).items) {
      const owners = (arrayAt(meta(slice), 'ownerReferences') ?? []).filter(isObject);
      if (owners.length > 0 && owners.every((o) => o.uid === meta(service).uid)) this.write(() => this.store.delete(this.defs.slices, namespace, nameOf(slice)));
    }
  }

  /** syncService. */
  private sync(namespace: string, name: string): void {
    if (!this.store.has(this.defs.services, namespace, name)) return;
    const service = this.store.get(this.defs.services, namespace, name);
    if (objectAt(service, 'spec')?.type === 'ExternalName') return;
    const selector = selectorOf(service);
    if (!selector) return;
    const pods = this.store.list(this.defs.pods, { namespace }).items.filter((pod) => selects(selector, labelsOf(pod)));
    const existing = this.store
      .list(this.defs.slices, { namespace, labelSelector: `${LABEL_SERVICE_NAME}=${name},${LABEL_MANAGED_BY}=${CONTROLLER_NAME}` })
      .items.filter((slice) => meta(slice).deletionTimestamp === undefined);
    const triggerTime = this.triggerTime(namespace, service, pods);

    const types = addressTypesOf(service);
    const unsupported = existing.filter((s) => !types.includes(s.addressType as AddressType));
    for (const addressType of types) {
      const nodeOf = (node: string) => (this.store.has(this.defs.nodes, undefined, node) ? this.store.get(this.defs.nodes, undefined, node) : undefined);
      const plan = planAddressType(service, pods, existing.filter((s) => s.addressType === addressType), addressType, nodeOf);
      this.finalize(service, plan, triggerTime);
    }
    for (const slice of unsupported) this.write(() => this.store.delete(this.defs.slices, namespace, nameOf(slice)));
  }

  /** ComputeEndpointLastChangeTriggerTime: the earliest change since the last sync (the Service's creation at first). */
  private triggerTime(namespace: string, service: JsonObject, pods: JsonObject[]): number {
    const key = `${namespace}/${nameOf(service)}`;
    const state = this.triggers.get(key);
    let earliest = 0;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const ready = (arrayAt(objectAt(pod, 'status'), 'conditions') ?? []).filter(isObject).find((c) => c.type === 'Ready');
      const t = time(ready?.lastTransitionTime);
      if (t === 0) continue;
      podTimes.set(nameOf(pod), t);
      if (t > (state?.pods.get(nameOf(pod)) ?? 0)) earliest = earliest === 0 ? t : Math.min(earliest, t);
    }
    const created = time(meta(service).creationTimestamp);
    if (created > (state?.service ?? 0)) earliest = earliest === 0 ? created : Math.min(earliest, created);
    this.triggers.set(key, { pods: podTimes, service: created });
    return state ? earliest : created;
  }

  /** finalize: creates become updates of slices about to be deleted, then create, update, delete. */
  private finalize(service: JsonObject, plan: Plan, triggerTime: number): void {
    const namespace = stringAt(meta(service), 'namespace') ?? '';
    const { create, update } = plan;
    const remove = [...plan.remove];
    for (let i = 0; i < remove.length && create.length > 0; ) {
      const doomed = remove[i] ?? {};
      const slice = create[create.length - 1] ?? {};
      if (doomed.addressType === slice.addressType && ownedBy(doomed, service)) {
        create.pop();
        update.push({ ...slice, metadata: { ...meta(slice), name: nameOf(doomed) } });
        remove.splice(i, 1);
      } else {
        i++;
      }
    }
    const annotate = (slice: JsonObject): JsonObject => {
      const metadata = meta(slice);
      const annotations = { ...(objectAt(metadata, 'annotations') ?? {}) };
      if (triggerTime > 0) annotations[TRIGGER_TIME] = rfc3339Nano(triggerTime);
      else delete annotations[TRIGGER_TIME];
      const { annotations: _a, ...rest } = metadata;
      return { ...slice, metadata: Object.keys(annotations).length > 0 ? { ...metadata, annotations } : rest };
    };
    if (meta(service).deletionTimestamp === undefined) {
      for (const slice of create) {
        try {
          this.write(() => this.store.create(this.defs.slices, namespace, annotate(slice)));
        } catch (err) {
          // The namespace is going away: creating fails until it is gone, and that is fine.
          if (err instanceof ApiError && err.code === 404) return;
          throw err;
        }
      }
    }
    for (const slice of update) this.write(() => this.store.update(this.defs.slices, namespace, nameOf(slice), annotate(slice)));
    for (const slice of remove) this.write(() => this.store.delete(this.defs.slices, namespace, nameOf(slice)));
  }

  /** Runs one write, remembering its resourceVersions so that its watch event is not taken for someone else's. */
  private write(action: () => unknown): void {
    const before = this.store.resourceVersion;
    action();
    for (let rv = before + 1; rv <= this.store.resourceVersion; rv++) this.ownWrites.add(rv);
  }
}
