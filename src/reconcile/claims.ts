/** Hostnames claimed by DNS_HOSTNAMES and by annotated Services, resolved deterministically (pure). */
import type { HostnameSpec, ProbeSpec, ServiceSnapshot } from '../model/types.js';
import { hostnameProblem, normalizeHostname } from './hostnames.js';
import { parseProbe } from './probe-spec.js';
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
  serveFrom: 'epictetus.io/serve-from',
  probe: 'epictetus.io/probe',
} as const;

export interface HostnameDefaults {
  readonly ttl: number;
  readonly proxied: boolean;
  /** HEALTH_PROBE: every hostname's probe unless its Service sets its own. */
  readonly probe?: ProbeSpec | null;
  /** Whether EndpointSlices are watched (WATCH_ENDPOINT_SLICES): `serve-from: endpoints` needs it. */
  readonly endpointSlices?: boolean;
}
export interface ServiceProblem {
  readonly service: string;
  readonly problem: string;
  /** What happens meanwhile: the last good claim stays in force, or its hostnames are left alone. */
  readonly meanwhile: 'last good claim kept' | 'hostnames left alone' | 'nothing claimed';
}
/** A claim the allow-lists refuse (SERVICE_CLAIM_NAMESPACES, SERVICE_CLAIM_DOMAINS). */
export interface RefusedClaim { readonly service: string; readonly hostname: string | null; readonly why: string }
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

/** Hostname-like words in a raw annotation that does not parse (a broken JSON list, say). Linear in its length. */
function namesIn(raw: string | undefined): string[] {
  const out = new Set<string>();
  for (const word of (raw ?? '').slice(0, 20_000).toLowerCase().split(/[^a-z0-9*_.-]+/)) {
    const name = normalizeHostname(word);
    if (name.includes('.') && hostnameProblem(name) === null) out.add(name);
  }
  return [...out];
}

/**
 * The hostnames one Service claims, or the problem that disables its DNS. With a problem, `names`
 * are the hostnames it seems to mean (read as well as its annotations allow): their claim is in doubt.
 */
export function claimsOfService(svc: ServiceSnapshot, defaults: HostnameDefaults): { specs: HostnameSpec[]; problem?: string; names?: string[] } {
  const a = svc.annotations;
  const problems: string[] = [];
  const enabled = flag(a[ANNOTATIONS.enabled], ANNOTATIONS.enabled, problems);
  const seeming = () => [...new Set([...namesIn(a[ANNOTATIONS.hostnames]), ...namesIn(a[ANNOTATIONS.hostname])])];
  if (enabled !== true) return problems.length > 0 ? { specs: [], problem: problems.join('; '), names: seeming() } : { specs: [] };
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
  let serveFrom: string | null = null;
  const rawFrom = a[ANNOTATIONS.serveFrom];
  if (rawFrom !== undefined) {
    const v = rawFrom.trim().toLowerCase();
    if (v === 'endpoints') {
      serveFrom = `${svc.namespace}/${svc.name}`;
      if (defaults.endpointSlices !== true) problems.push(`${ANNOTATIONS.serveFrom}="endpoints" needs WATCH_ENDPOINT_SLICES=true (and list/watch on endpointslices)`);
    } else if (v !== 'nodes') problems.push(`${ANNOTATIONS.serveFrom}="${rawFrom.slice(0, 30)}" must be "endpoints" or "nodes"`);
  }
  let probe = defaults.probe ?? null;
  const rawProbe = a[ANNOTATIONS.probe];
  if (rawProbe !== undefined) {
    const p = parseProbe(rawProbe);
    if (p !== null && 'error' in p) problems.push(`${ANNOTATIONS.probe}: ${p.error}`);
    else probe = p;
  }
  if (problems.length > 0) return { specs: [], problem: problems.join('; '), names: [...new Set([...names, ...seeming()])] };
  const source = `service ${svc.namespace}/${svc.name}`;
  return { specs: names.map((name) => ({ name, ttl: proxied ? 1 : ttl, proxied, controlPlaneOnly, nodeSelector, source, serveFrom, probe })) };
}

function difference(a: HostnameSpec, b: HostnameSpec): string | null {
  const diffs: string[] = [];
  if (a.ttl !== b.ttl) diffs.push(`ttl ${a.ttl} vs ${b.ttl}`);
  if (a.proxied !== b.proxied) diffs.push(`proxied ${a.proxied} vs ${b.proxied}`);
  if (a.controlPlaneOnly !== b.controlPlaneOnly) diffs.push(`control-plane-only ${a.controlPlaneOnly} vs ${b.controlPlaneOnly}`);
  if ((a.nodeSelector?.text ?? '') !== (b.nodeSelector?.text ?? '')) {
    diffs.push(`node-selector "${a.nodeSelector?.text ?? ''}" vs "${b.nodeSelector?.text ?? ''}"`);
  }
  if ((a.serveFrom ?? null) !== (b.serveFrom ?? null)) diffs.push(`serve-from ${a.serveFrom ? `endpoints of ${a.serveFrom}` : 'nodes'} vs ${b.serveFrom ? `endpoints of ${b.serveFrom}` : 'nodes'}`);
  if ((a.probe?.text ?? '') !== (b.probe?.text ?? '')) diffs.push(`probe "${a.probe?.text ?? 'none'}" vs "${b.probe?.text ?? 'none'}"`);
  return diffs.length > 0 ? diffs.join(', ') : null;
}

/** Who may claim what through Service annotations. */
export interface ClaimPolicy {
  /** Namespaces whose Services may claim hostnames; '*' for every namespace. */
  readonly namespaces: readonly string[] | '*';
  /** `example.com`: that name and every name below it; `*.example.com`: only names below it; `*`: any name. */
  readonly domains: readonly string[];
}

export const OPEN_CLAIMS: ClaimPolicy = { namespaces: '*', domains: ['*'] };

/** Why a claim of `hostname` by a Service in `namespace` is refused, or null when it is allowed. */
export function claimRefusal(namespace: string, hostname: string, policy: ClaimPolicy): string | null {
  if (policy.namespaces !== '*' && !policy.namespaces.includes(namespace)) {
    return `Services in namespace ${namespace} may not claim hostnames (SERVICE_CLAIM_NAMESPACES allows ${policy.namespaces.join(', ') || 'none'})`;
  }
  const ok = policy.domains.some((d) => d === '*' || (d.startsWith('*.') ? hostname.endsWith(d.slice(1)) : hostname === d || hostname.endsWith(`.${d}`)));
  return ok ? null : `${hostname} is outside the domains Services may claim (SERVICE_CLAIM_DOMAINS allows ${policy.domains.join(', ') || 'none'})`;
}

/** The last good claim of each Service (namespace/name), so that a bad edit does not withdraw it. */
export type ClaimMemory = ReadonlyMap<string, { readonly uid: string | undefined; readonly specs: readonly HostnameSpec[] }>;

export interface ResolvedClaims {
  readonly hostnames: HostnameSpec[];
  readonly conflicts: ClaimConflict[];
  readonly problems: ServiceProblem[];
  readonly refused: RefusedClaim[];
  /** Hostnames a Service seems to claim through annotations that do not parse: left alone. */
  readonly inDoubt: Map<string, string>;
  readonly memory: ClaimMemory;
}

/**
 * Every claimed hostname once. When sources disagree on settings, DNS_HOSTNAMES wins, then the
 * Service first by namespace/name; every disagreement is reported, never settled by arrival order.
 *
 * A claim is withdrawn only on positive evidence: the Service is gone, or its annotations say so
 * (dns-enabled removed or false, a hostname taken out). A Service whose annotations stop parsing
 * keeps its last good claim (`memory`, from the previous call); with none known (a restart),
 * the hostnames it seems to mean are in doubt, and nothing is written for them.
 */
export function resolveHostnames(
  env: readonly HostnameSpec[],
  services: Iterable<ServiceSnapshot>,
  defaults: HostnameDefaults,
  opts: { readonly policy?: ClaimPolicy; readonly memory?: ClaimMemory } = {},
): ResolvedClaims {
  const policy = opts.policy ?? OPEN_CLAIMS;
  const ordered = [...services].sort((a, b) => {
    const ka = `${a.namespace}/${a.name}`;
    const kb = `${b.namespace}/${b.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const problems: ServiceProblem[] = [];
  const refused: RefusedClaim[] = [];
  const inDoubt = new Map<string, string>();
  const memory = new Map<string, { uid: string | undefined; specs: readonly HostnameSpec[] }>();
  const claims: HostnameSpec[] = [...env];
  for (const svc of ordered) {
    const key = `${svc.namespace}/${svc.name}`;
    const r = claimsOfService(svc, defaults);
    const allowed = (names: readonly string[]) => names.filter((n) => {
      const why = claimRefusal(svc.namespace, n, policy);
      if (why !== null) refused.push({ service: key, hostname: n, why });
      return why === null;
    });
    if (r.problem === undefined) {
      const ok = new Set(allowed(r.specs.map((s) => s.name)));
      const specs = r.specs.filter((s) => ok.has(s.name));
      memory.set(key, { uid: svc.uid, specs });
      claims.push(...specs);
      continue;
    }
    const last = opts.memory?.get(key);
    if (last !== undefined && last.uid === svc.uid && last.specs.length > 0) {
      memory.set(key, last);
      claims.push(...last.specs);
      problems.push({ service: key, problem: r.problem, meanwhile: 'last good claim kept' });
      continue;
    }
    const names = allowed(r.names ?? []);
    for (const n of names) inDoubt.set(n, `service ${key}: ${r.problem}`);
    problems.push({ service: key, problem: r.problem, meanwhile: names.length > 0 ? 'hostnames left alone' : 'nothing claimed' });
  }
  const byName = new Map<string, HostnameSpec>();
  const conflicts: ClaimConflict[] = [];
  for (const c of claims) {
    const first = byName.get(c.name);
    if (first === undefined) { byName.set(c.name, c); continue; }
    const diff = difference(first, c);
    if (diff !== null) conflicts.push({ hostname: c.name, kept: first.source, ignored: c.source, difference: diff });
  }
  return { hostnames: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1)), conflicts, problems, refused, inDoubt, memory };
}
