import type { Json, JsonObject } from './json.js';
import type { ResourceDef } from './resource.js';

export const DEFAULT_VERSION = 'v1.32.4';

/** GET /version. kubectl's dispatcher on these machines picks its binary from gitVersion. */
export function versionInfo(gitVersion: string): JsonObject {
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '32',
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.8',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** GET /api (APIVersions). */
export function apiVersions(): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] };
}

function groupOf(defs: readonly ResourceDef[], group: string): JsonObject | undefined {
  const versions = [...new Set(defs.filter((d) => d.group === group).map((d) => d.version))];
  if (versions.length === 0) return undefined;
  const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: entries, preferredVersion: entries[0] ?? null };
}

/** GET /apis (APIGroupList). */
export function apiGroupList(defs: readonly ResourceDef[]): JsonObject {
  const groups = [...new Set(defs.map((d) => d.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.flatMap((g) => groupOf(defs, g) ?? []) };
}

/** GET /apis/GROUP (APIGroup). */
export function apiGroup(defs: readonly ResourceDef[], group: string): JsonObject | undefined {
  const g = groupOf(defs, group);
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...g };
}

/** GET /api/v1 or /apis/GROUP/VERSION (APIResourceList). */
export function resourceList(defs: readonly ResourceDef[], group: string, version: string): JsonObject | undefined {
  const served = defs.filter((d) => d.group === group && d.version === version);
  if (served.length === 0) return undefined;
  const resources: Json[] = [];
  for (const d of served) {
    const entry: JsonObject = { name: d.plural, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: VERBS };
    if (d.shortNames) entry.shortNames = [...d.shortNames];
    if (d.categories) entry.categories = [...d.categories];
    resources.push(entry);
    if (d.statusSubresource) {
      resources.push({ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}
