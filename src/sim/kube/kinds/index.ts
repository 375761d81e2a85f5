import type { ResourceDef } from '../resource.js';
import { events } from './event.js';
import { leases } from './lease.js';
import { namespaces } from './namespace.js';
import { nodes } from './node.js';
import { services } from './service.js';

export { events, leases, namespaces, nodes, services };

/** Served by every simulator; `namespaces` first so the default namespaces can be created. */
export const builtinResources: readonly ResourceDef[] = [namespaces, nodes, services, leases, events];
