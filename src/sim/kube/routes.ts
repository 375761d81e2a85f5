import type { ResourceDef } from './resource.js';
import { errors } from './status.js';

export interface ResourceRoute {
  kind: 'resource';
  def: ResourceDef;
  /** Set for namespaced requests; absent on cluster-scoped ones and all-namespaces lists. */
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

export type Route =
  | { kind: 'version' }
  | { kind: 'health' }
  | { kind: 'api' }
  | { kind: 'groups' }
  | { kind: 'group'; group: string }
  | { kind: 'resources'; group: string; version: string }
  /** /openapi/v2, /openapi/v3 (index: gv undefined) and /openapi/v3/<gv> ("api/v1", "apis/<group>/<version>"). */
  | { kind: 'openapi'; version: 'v2' | 'v3'; gv?: string }
  | ResourceRoute;

type Finder = (group: string, version: string, plural: string) => ResourceDef | undefined;

function resourceRoute(find: Finder, group: string, version: string, rest: string[]): ResourceRoute {
  let namespace: string | undefined;
  let parts = rest;
  // /namespaces/NAME and /namespaces/NAME/status address the Namespace itself.
  const namespaceItself = rest[0] === 'namespaces' && (rest.length <= 2 || (rest.length === 3 && rest[2] === 'status'));
  if (rest[0] === 'namespaces' && !namespaceItself && rest.length >= 3) {
    namespace = rest[1];
    parts = rest.slice(2);
  }
  const [plural = '', name, subresource, ...extra] = parts;
  const def = find(group, version, plural);
  if (!def || extra.length > 0) throw errors.pathNotFound();
  if (def.namespaced ? namespace === undefined && name !== undefined : namespace !== undefined) throw errors.pathNotFound();
  if (subresource !== undefined && !(subresource === 'status' && def.statusSubresource)) throw errors.pathNotFound();
  const route: ResourceRoute = { kind: 'resource', def };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (subresource === 'status') route.subresource = 'status';
  return route;
}

/** Maps a URL path onto the API server's path layout. */
export function route(pathname: string, find: Finder): Route {
  const segments = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const [root, a, b, ...rest] = segments;
  if (segments.length === 1 && root === 'version') return { kind: 'version' };
  if (root === 'openapi') {
    if (segments.length === 2 && a === 'v2') return { kind: 'openapi', version: 'v2' };
    if (a === 'v3') return segments.length === 2 ? { kind: 'openapi', version: 'v3' } : { kind: 'openapi', version: 'v3', gv: segments.slice(2).join('/') };
  }
  if (segments.length === 1 && (root === 'healthz' || root === 'livez' || root === 'readyz')) return { kind: 'health' };
  if (root === 'api') {
    if (a === undefined) return { kind: 'api' };
    if (b === undefined) return { kind: 'resources', group: '', version: a };
    return resourceRoute(find, '', a, [b, ...rest]);
  }
  if (root === 'apis') {
    if (a === undefined) return { kind: 'groups' };
    if (b === undefined) return { kind: 'group', group: a };
    const [first, ...more] = rest;
    if (first === undefined) return { kind: 'resources', group: a, version: b };
    return resourceRoute(find, a, b, [first, ...more]);
  }
  throw errors.pathNotFound();
}
