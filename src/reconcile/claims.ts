/** Hostnames claimed by DNS_HOSTNAMES and by annotated Services, resolved deterministically (pure). */
import type { HostnameSpec, ServiceSnapshot } from '../model/types.js';
import { hostnameProblem, normalizeHostname } from './hostnames.js';
import { parseSelector } from './selector.js';

export const ANNOTATION_PREFIX = 'epictetus.io/';
export const ANNOTATIONS = {
  enabled: 'epictetus.io/dns-enabled',
  hostnames: 'epictetus.io/hostnames',
  hostname: 'epictetus.io/hostname',
  ttl: 'epictetus.io/ttl',
  proxied: 'epictetus.io/proxied',
  controlPlaneOnly: 'epictetus.io/control-plane-only',
  nodeSelector: 'epictetus.io/node-selector',
} as const;

export interface HostnameDefaults { readonly ttl: number; readonly proxied: boolean }
export interface ServiceProblem { readonly service: string; readonly problem: string }
export interface ClaimConflict { readonly hostname: string; readonly kept: string; readonly ignored: string; readonly difference: string }

function flag(raw: string | undefined, key: string, problems: string[]): boolean | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  problems.push(`${key}="${raw.slice(0, 60)}" must be "true" or "false"`);
  return undefined;
}

function hostnameList(raw: string, key: string, problems: string[]): string[] {
  const text = raw.trim();
  let parts: unknown[];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      parts = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      problems.push(`${key} is not a valid JSON array`);
      return [];
    }
  } else parts = text.split(',');
  const names: string[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') { problems.push(`${key} holds a non-string entry ${JSON.stringify(p)}`); continue; }
    if (p.trim() === '') continue;
    const name = normalizeHostname(p);
    const problem = hostnameProblem(name);
    if (problem !== null) problems.push(`${key}: "${p.trim().slice(0, 80)}" ${problem}`);
    else if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The hostnames one Service claims, or the problem that disables its DNS. */
export function claimsOfService(svc: ServiceSnapshot, defaults: HostnameDefaults): { specs: HostnameSpec[]; problem?: string } {
  const a = svc.annotations;
  const problems: string[] = [];
  const enabled = flag(a[ANNOTATIONS.enabled], ANNOTATIONS.enabled, problems);
  if (enabled !== true) return problems.length > 0 ? { specs: [], problem: problems.join('; ') } : { specs: [] };
  const names = [...new Set([
    ...(a[ANNOTATIONS.hostnames] !== undefined ? hostnameList(a[ANNOTATIONS.hostnames] ?? '', ANNOTATIONS.hostnames, problems) : []),
    ...(a[ANNOTATIONS.hostname] !== undefined ? hostnameList(a[ANNOTATIONS.hostname] ?? '', ANNOTATIONS.hostname, problems) : []),
  ])];
  if (a[ANNOTATIONS.hostname] !== undefined && a[ANNOTATIONS.hostname]?.includes(',')) {
    problems.push(`${ANNOTATIONS.hostname} takes one name; use ${ANNOTATIONS.hostnames} for several`);
  }
  if (names.length === 0 && problems.length === 0) problems.push(`${ANNOTATIONS.enabled} is "true" but no hostname is given (${ANNOTATIONS.hostnames} or ${ANNOTATIONS.hostname})`);
  let ttl = defaults.ttl;
  const rawTtl = a[ANNOTATIONS.ttl];
  if (rawTtl !== undefined) {
    const n = /^\s*\d+\s*$/.test(rawTtl) ? Number(rawTtl) : NaN;
    if (n === 1 || (n >= 60 && n <= 86400)) ttl = n;
    else problems.push(`${ANNOTATIONS.ttl}="${rawTtl.slice(0, 30)}" must be 1 (automatic) or 60–86400`);
  }
  const proxied = flag(a[ANNOTATIONS.proxied], ANNOTATIONS.proxied, problems) ?? defaults.proxied;
  const controlPlaneOnly = flag(a[ANNOTATIONS.controlPlaneOnly], ANNOTATIONS.controlPlaneOnly, problems) ?? false;
  let nodeSelector = null;
  const rawSelector = a[ANNOTATIONS.nodeSelector];
  if (rawSelector !== undefined) {
    try {
      nodeSelector = parseSelector(rawSelector);
    } catch (err) {
      problems.push(`${ANNOTATIONS.nodeSelector}="${rawSelector.slice(0, 100)}": ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) return { specs: [], problem: problems.join('; ') };
  const source = `service ${svc.namespace}/${svc.name}`;
  return { specs: names.map((name) => ({ name, ttl: proxied ? 1 : ttl, proxied, controlPlaneOnly, nodeSelector, source })) };
}

function difference(a: HostnameSpec, b: HostnameSpec): string | null {
  const diffs: string[] = [];
  if (a.ttl !== b.ttl) diffs.push(`ttl ${a.ttl} vs ${b.ttl}`);
  if (a.proxied !== b.proxied) diffs.push(`proxied ${a.proxied} vs ${b.proxied}`);
  if (a.controlPlaneOnly !== b.controlPlaneOnly) diffs.push(`control-plane-only ${a.controlPlaneOnly} vs ${b.controlPlaneOnly}`);
  if ((a.nodeSelector?.text ?? '') !== (b.nodeSelector?.text ?? '')) {
    diffs.push(`node-selector "${a.nodeSelector?.text ?? ''}" vs "${b.nodeSelector?.text ?? ''}"`);
  }
  return diffs.length > 0 ? diffs.join(', ') : null;
}

/**
 * Every claimed hostname once. When sources disagree on settings, DNS_HOSTNAMES wins, then the
 * Service first by namespace/name; every disagreement is reported, never settled by arrival order.
 */
export function resolveHostnames(
  env: readonly HostnameSpec[],
  services: Iterable<ServiceSnapshot>,
  defaults: HostnameDefaults,
): { hostnames: HostnameSpec[]; conflicts: ClaimConflict[]; problems: ServiceProblem[] } {
  const ordered = [...services].sort((a, b) => {
    const ka = `${a.namespace}/${a.name}`;
    const kb = `${b.namespace}/${b.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const problems: ServiceProblem[] = [];
  const claims: HostnameSpec[] = [...env];
  for (const svc of ordered) {
    const r = claimsOfService(svc, defaults);
    if (r.problem !== undefined) problems.push({ service: `${svc.namespace}/${svc.name}`, problem: r.problem });
    claims.push(...r.specs);
  }
  const byName = new Map<string, HostnameSpec>();
  const conflicts: ClaimConflict[] = [];
  for (const c of claims) {
    const first = byName.get(c.name);
    if (first === undefined) { byName.set(c.name, c); continue; }
    const diff = difference(first, c);
    if (diff !== null) conflicts.push({ hostname: c.name, kept: first.source, ignored: c.source, difference: diff });
  }
  return { hostnames: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1)), conflicts, problems };
}
