import type { ResourceDef } from '../resource.js';
import { endpointSlices } from './endpointslice.js';
import { coreEvents, events } from './event.js';
import { leases } from './lease.js';
import { namespaces } from './namespace.js';
import { nodes } from './node.js';
import { pods } from './pod.js';
import { services } from './service.js';

export { coreEvents, endpointSlices, events, leases, namespaces, nodes, pods, services };

/** Served by every simulator; `namespaces` first so the default namespaces can be created. */
export const builtinResources: readonly ResourceDef[] = [namespaces, nodes, pods, services, coreEvents, leases, events, endpointSlices];
