/**
 * The pure half of Kubernetes' EndpointSlice reconciler (k8s.io/endpointslice, reconciler.go):
 * what to create, update and delete, computed without touching the store; the controller then
 * applies it (finalize).
 */
import { arrayAt, cloneJson, isObject, objectAt, stringAt, type JsonObject } from '../json.js';
import {
  endpointKey,
  endpointPorts,
  inEndpoints,
  isPlaceholderLike,
  newSlice,
  ownedBy,
  podToEndpoint,
  portsKey,
  sameEndpoint,
  sliceLabels,
  type AddressType,
} from './endpoints.js';

const MAX_ENDPOINTS_PER_SLICE = 100;

export interface Plan {
  create: JsonObject[];
  update: JsonObject[];
  remove: JsonObject[];
}

function meta(obj: JsonObject | undefined): JsonObject {
  return objectAt(obj, 'metadata') ?? {};
}

function nameOf(obj: JsonObject | undefined): string {
  return stringAt(meta(obj), 'name') ?? '';
}

function endpointsOf(slice: JsonObject): JsonObject[] {
  return (arrayAt(slice, 'endpoints') ?? []).filter(isObject);
}

/**
 * reconcileByAddressType: the slices to create, update and delete for one address type, from
 * the Service, its Pods and its current slices. `nodeOf` answers the Node a Pod names, if it exists.
 */
export function planAddressType(
service: JsonObject,
pods: JsonObject[],
existing: JsonObject[],
addressType: AddressType,
nodeOf: (name: string) => JsonObject | undefined,
): Plan {
  const plan: Plan = { create: [], update: [], remove: [] };
  const existingByPorts = new Map<string, JsonObject[]>();
  for (const slice of existing) {
    if (!ownedBy(slice, service)) {
      plan.remove.push(slice);
      continue;
    }
    const key = portsKey(arrayAt(slice, 'ports'));
    existingByPorts.set(key, [...(existingByPorts.get(key) ?? []), slice]);
  }
  const desired = new Map<string, { ports: JsonObject[]; endpoints: Map<string, JsonObject> }>();
  const publishNotReady = objectAt(service, 'spec')?.publishNotReadyAddresses === true;
  for (const pod of pods) {
    if (!inEndpoints(pod)) continue;
    const ports = endpointPorts(service, pod);
    const key = portsKey(ports);
    const group = desired.get(key) ?? { ports, endpoints: new Map<string, JsonObject>() };
    desired.set(key, group);
    const nodeName = stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '';
    const node = nodeName === '' ? undefined : nodeOf(nodeName);
    if (!node && !publishNotReady) continue; // "skipping Pod for Service, Node not found"
    const endpoint = podToEndpoint(pod, node, service, addressType);
    if ((arrayAt(endpoint, 'addresses') ?? []).length > 0) group.endpoints.set(endpointKey(endpoint), endpoint);
  }
  for (const [key, group] of desired) {
    const part = planPorts(service, existingByPorts.get(key) ?? [], group.endpoints, group.ports, addressType);
    plan.create.push(...part.create);
    plan.update.push(...part.update);
    plan.remove.push(...part.remove);
  }
  for (const [key, slices] of existingByPorts) if (!desired.has(key)) plan.remove.push(...slices);
  // With no slice left, a placeholder says "no endpoints" (reused when there is one already).
  if (existing.length === plan.remove.length && plan.create.length === 0) {
    const placeholder = newSlice(service, [], addressType);
    const [only] = plan.remove;
    if (plan.remove.length === 1 && only && isPlaceholderLike(only, placeholder)) plan.remove = [];
    else plan.create.push(placeholder);
  }
  return plan;
}

/** reconcileByPortMapping: keep endpoints where they are, refill changed slices, then fill or create. */
function planPorts(service: JsonObject, existing: JsonObject[], desired: Map<string, JsonObject>, ports: JsonObject[], addressType: AddressType): Plan {
  const byName = new Map<string, JsonObject>();
  const unchanged: string[] = [];
  const toUpdate: string[] = [];
  const toRemove: string[] = [];
  for (const slice of existing) {
    const name = nameOf(slice);
    byName.set(name, slice);
    const kept: JsonObject[] = [];
    let changed = false;
    for (const endpoint of endpointsOf(slice)) {
      const key = endpointKey(endpoint);
      const want = desired.get(key);
      if (!want) continue;
      kept.push(want);
      if (!sameEndpoint(want, endpoint)) changed = true;
      desired.delete(key);
    }
    const { labels, changed: labelsChanged } = sliceLabels(slice, service);
    if (changed || kept.length !== endpointsOf(slice).length) {
      if (kept.length === 0) toRemove.push(name);
      else {
        byName.set(name, { ...cloneJson(slice), metadata: { ...meta(slice), labels }, endpoints: kept });
        toUpdate.push(name);
      }
    } else if (labelsChanged) {
      byName.set(name, { ...cloneJson(slice), metadata: { ...meta(slice), labels } });
      toUpdate.push(name);
    } else {
      unchanged.push(name);
    }
  }
  const remaining = [...desired.values()];
  const fill = (slice: JsonObject) => {
    const endpoints = endpointsOf(slice);
    while (remaining.length > 0 && endpoints.length < MAX_ENDPOINTS_PER_SLICE) endpoints.push(remaining.shift() ?? {});
    slice.endpoints = endpoints;
  };
  // Fullest slices first.
  const updating = toUpdate.map((n) => byName.get(n) ?? {}).sort((a, b) => endpointsOf(b).length - endpointsOf(a).length);
  if (remaining.length > 0) for (const slice of updating) fill(slice);
  const create: JsonObject[] = [];
  while (remaining.length > 0) {
    let target: JsonObject | undefined;
    if (remaining.length < MAX_ENDPOINTS_PER_SLICE && unchanged.length > 0) {
      // getSliceToFill: the unchanged slice the rest fits into most tightly.
      let closest = MAX_ENDPOINTS_PER_SLICE;
      for (const name of unchanged) {
        const candidate = byName.get(name) ?? {};
        const diff = MAX_ENDPOINTS_PER_SLICE - (remaining.length + endpointsOf(candidate).length);
        if (diff >= 0 && diff < closest) {
          closest = diff;
          target = candidate;
        }
      }
    }
    if (target) {
      target = cloneJson(target);
      byName.set(nameOf(target), target);
      fill(target);
      toUpdate.push(nameOf(target));
      unchanged.splice(unchanged.indexOf(nameOf(target)), 1);
    } else {
      const slice = newSlice(service, ports, addressType);
      fill(slice);
      create.push(slice);
    }
  }
  return {
    create,
    update: [...new Set(toUpdate)].map((n) => byName.get(n) ?? {}),
    remove: toRemove.map((n) => byName.get(n) ?? {}),
  };
}
