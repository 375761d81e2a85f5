/** The one table of settings: name, default, parser, what it accepts, and whether it is secret. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { hostnameProblem, normalizeHostname, parseHostnameList } from '../reconcile/hostnames.js';
import { ALL_TAINTS, CRITICAL_TAINTS } from '../reconcile/policy.js';
import { parseProbe, PROBE_SYNTAX } from '../reconcile/probe-spec.js';
import { parseSelector } from '../reconcile/selector.js';
import { bool, httpUrl, intIn, numberIn, oneOf, text, ttl } from './parsers.js';

export interface Setting {
  readonly env: string;
  /** undefined: required. */
  readonly default: string | undefined;
  readonly parse: z.ZodType<unknown, string>;
  readonly accepts: string;
  readonly describe: string;
  readonly secret?: boolean;
}

const hostnames = z.string().transform((raw, ctx) => {
  const { names, problems } = parseHostnameList(raw);
  for (const p of problems) ctx.addIssue({ code: 'custom', message: p });
  return names;
});

/** The shape of a Cloudflare API token (also used for the content of CLOUDFLARE_API_TOKEN_FILE). */
export const apiToken = z.string().trim().regex(/^[A-Za-z0-9_-]{20,200}$/);

const zoneId = z.string().trim().toLowerCase().regex(/^[0-9a-f]{32}$/);

const zoneIds = z.string().transform((raw, ctx) => {
  const ids = [...new Set(raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))];
  for (const id of ids) if (!/^[0-9a-f]{32}$/.test(id)) ctx.addIssue({ code: 'custom', message: `"${id}" is not a zone id` });
  return ids;
});

const recordTypes = z.string().transform((raw, ctx) => {
  const types = [...new Set(raw.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))];
  for (const t of types) if (t !== 'A' && t !== 'AAAA') ctx.addIssue({ code: 'custom', message: `"${t}" is not A or AAAA` });
  if (types.length === 0) ctx.addIssue({ code: 'custom', message: 'no record type given' });
  return types as Array<'A' | 'AAAA'>;
});

const taintSet = z.string().transform((raw, ctx): string[] => {
  const v = raw.trim();
  if (v.toLowerCase() === 'critical') return [...CRITICAL_TAINTS];
  if (v.toLowerCase() === 'all') return [...ALL_TAINTS];
  if (v.toLowerCase() === 'none') return [];
  if (v.toLowerCase().startsWith('custom:')) {
    const keys = v.slice('custom:'.length).split(',').map((k) => k.trim()).filter((k) => k !== '');
    if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'custom: lists no taint key' });
    for (const k of keys) if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(k)) ctx.addIssue({ code: 'custom', message: `"${k}" is not a taint key` });
    return keys;
  }
  ctx.addIssue({ code: 'custom', message: 'unknown value' });
  return [];
});

const selector = z.string().transform((raw, ctx) => {
  if (raw.trim() === '') return null;
  try {
    return parseSelector(raw);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return null;
  }
});

export const SETTINGS = [
  { env: 'CLOUDFLARE_API_TOKEN', default: '', secret: true,
    parse: z.union([z.literal(''), apiToken]),
    accepts: 'a Cloudflare API token (20–200 letters, digits, _ and -) with Zone:DNS:Edit; this or CLOUDFLARE_API_TOKEN_FILE is required',
    describe: 'Cloudflare API token' },
  { env: 'CLOUDFLARE_API_TOKEN_FILE', default: '', parse: text(),
    accepts: 'the path of a file holding the token (re-read when it changes, for rotation), or empty',
    describe: 'Read the Cloudflare API token from this file (a mounted Secret) instead of CLOUDFLARE_API_TOKEN' },
  { env: 'CLOUDFLARE_ZONE_ID', default: '', parse: z.union([z.literal(''), zoneId]),
    accepts: 'a zone id (32 hexadecimal characters), or empty to discover zones',
    describe: 'The one zone to manage; empty: discover zones with GET /zones' },
  { env: 'CLOUDFLARE_ZONE_IDS', default: '', parse: zoneIds,
    accepts: 'a comma-separated list of zone ids (32 hexadecimal characters each), or empty',
    describe: 'Restricts zone discovery to these zones' },
  { env: 'DNS_HOSTNAMES', default: '', parse: hostnames,
    accepts: 'a comma-separated list of DNS names, e.g. app.example.com,www.example.com (may be empty when Services provide hostnames)',
    describe: 'Hostnames that get one record per eligible node, besides those annotated Services claim' },
  { env: 'DNS_RECORD_TYPES', default: 'A,AAAA', parse: recordTypes,
    accepts: 'A, AAAA or A,AAAA', describe: 'Record types published: A for IPv4, AAAA for IPv6 node addresses' },
  { env: 'WATCH_SERVICES', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Watch Services for epictetus.io/ annotations (needs list/watch on services)' },
  { env: 'CA_TAINT_MODE', default: 'both', parse: z.string().trim().toLowerCase().pipe(z.enum(['both', 'any'])),
    accepts: 'both or any', describe: 'both: a node leaves DNS when it has both autoscaler taints; any: when it has either' },
  { env: 'KARPENTER_AWARE', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Karpenter disruption taints (karpenter.sh/disrupted, karpenter.sh/disruption=disrupting) remove a node' },
  { env: 'REMOVE_ON_NOT_READY', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Remove a node whose Ready condition is False (after the grace period)' },
  { env: 'REMOVE_ON_UNREACHABLE', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Remove a node whose Ready condition is Unknown (after the grace period)' },
  { env: 'NOT_READY_GRACE_SECONDS', default: '30', parse: intIn(0, 86400),
    accepts: 'whole seconds, 0–86400', describe: 'How long a node may be not ready before it leaves DNS' },
  { env: 'UNHEALTHY_NODE_TAINTS', default: 'critical', parse: taintSet,
    accepts: 'critical, all, none, or custom:key1,key2', describe: 'Taints that remove a node (critical: not-ready, unreachable, network-unavailable, out-of-service; all: also unschedulable)' },
  { env: 'NODE_SELECTOR', default: '', parse: selector,
    accepts: 'a Kubernetes label selector (e.g. role=ingress,zone in (a,b)), or empty', describe: 'Only nodes matching it may ever serve' },
  { env: 'HONOR_EXCLUDE_LB_LABEL', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Nodes labelled node.kubernetes.io/exclude-from-external-load-balancers do not serve' },
  { env: 'EXTERNAL_IP_LABEL', default: '', parse: z.string().trim().regex(/^(([a-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$/),
    accepts: 'a label or annotation key, or empty', describe: 'Label or annotation holding a node\'s public IP when it has no ExternalIP (after flannel.alpha.coreos.com/public-ip)' },
  { env: 'SERVE_FROM_ENDPOINTS_OF', default: '', parse: z.string().trim().regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/),
    accepts: 'namespace/service (e.g. ingress-nginx/ingress-nginx-controller), or empty',
    describe: 'DNS_HOSTNAMES are served only by nodes hosting a ready endpoint of this Service (from its EndpointSlices)' },
  { env: 'WATCH_ENDPOINT_SLICES', default: '', parse: z.union([z.literal(''), bool()]),
    accepts: 'true, false, or empty (true when SERVE_FROM_ENDPOINTS_OF is set)',
    describe: 'Watch EndpointSlices (needs list/watch on endpointslices), for SERVE_FROM_ENDPOINTS_OF and the epictetus.io/serve-from annotation' },
  { env: 'HEALTH_PROBE', default: '', parse: z.string().transform((raw, ctx) => {
    const p = parseProbe(raw);
    if (p !== null && 'error' in p) ctx.addIssue({ code: 'custom', message: p.error });
    return p !== null && 'error' in p ? null : p;
  }),
    accepts: PROBE_SYNTAX,
    describe: 'Probe every node before it serves, and take it out when the probe fails (Services may set their own with epictetus.io/probe)' },
  { env: 'PROBE_ADDRESS', default: 'internal', parse: z.string().trim().toLowerCase().pipe(z.enum(['internal', 'external'])),
    accepts: 'internal or external', describe: "internal: probe the node's InternalIP (reachable from the pod network); external: the address published" },
  { env: 'PROBE_INTERVAL_SECONDS', default: '5', parse: numberIn(0.2, 3600),
    accepts: 'seconds, 0.2–3600 (decimals allowed)', describe: 'Seconds between two probes of one node' },
  { env: 'PROBE_TIMEOUT_SECONDS', default: '2', parse: numberIn(0.05, 600),
    accepts: 'seconds, 0.05–600 (decimals allowed)', describe: 'A probe not answered within this long has failed' },
  { env: 'PROBE_FAILURES', default: '3', parse: intIn(1, 100),
    accepts: 'a whole number, 1–100', describe: 'Failed probes in a row that take a node out' },
  { env: 'PROBE_SUCCESSES', default: '2', parse: intIn(1, 100),
    accepts: 'a whole number, 1–100', describe: 'Passed probes in a row that bring a node (back) in' },
  { env: 'PROBE_HOST', default: '', parse: z.string().transform((raw, ctx) => {
    const name = normalizeHostname(raw);
    const problem = name === '' ? null : hostnameProblem(name);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: `"${raw.trim().slice(0, 80)}" ${problem}` });
    return name;
  }),
    accepts: 'a DNS name, or empty for the address probed', describe: 'Host header and TLS server name (SNI) of http(s) probes' },
  { env: 'PROBE_TLS_VERIFY', default: 'false', parse: bool(),
    accepts: 'true or false', describe: "Verify the certificate of https probes (off: a node's certificate rarely names its address)" },
  { env: 'MAX_UNHEALTHY_FRACTION', default: '0.5', parse: numberIn(0, 1),
    accepts: 'a fraction, 0–1 (1 turns the guard off)', describe: 'Mass-removal guard: health reasons never remove more than this share of a hostname\'s records at once' },
  { env: 'DNS_SYNC_INTERVAL', default: '60', parse: intIn(1, 86400),
    accepts: 'whole seconds, 1–86400', describe: 'Seconds between full syncs that re-read Cloudflare' },
  { env: 'DNS_TTL', default: '1', parse: ttl(),
    accepts: '1 (automatic) or 60–86400 seconds', describe: 'TTL of the records created' },
  { env: 'DNS_PROXIED', default: 'false', parse: bool(),
    accepts: 'true or false', describe: 'Create records proxied through Cloudflare (TTL is then automatic)' },
  { env: 'OWNER_ID', default: 'default', parse: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
    accepts: '1–63 letters, digits, ".", "_" or "-", starting with a letter or digit',
    describe: 'Marker written in the comment of the records this instance owns; give each cluster sharing a zone its own' },
  { env: 'OWNER_ID_ALIASES', default: '', parse: z.string().transform((raw, ctx) => {
    const ids = [...new Set(raw.split(',').map((x) => x.trim()).filter((x) => x !== ''))];
    for (const id of ids) if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(id)) ctx.addIssue({ code: 'custom', message: `"${id.slice(0, 70)}" is not an owner id` });
    return ids;
  }),
    accepts: 'a comma-separated list of former OWNER_ID values, or empty',
    describe: 'Former owner ids whose records this instance takes over (re-marked with OWNER_ID): the migration path when OWNER_ID changes' },
  { env: 'SERVICE_CLAIM_NAMESPACES', default: '', parse: z.string().transform((raw, ctx): string[] | '*' => {
    const list = [...new Set(raw.split(',').map((x) => x.trim()).filter((x) => x !== ''))];
    if (list.includes('*')) return '*';
    for (const n of list) if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n)) ctx.addIssue({ code: 'custom', message: `"${n.slice(0, 70)}" is not a namespace name` });
    return list;
  }),
    accepts: 'a comma-separated list of namespaces, * for all, or empty for the namespace Epictetus runs in',
    describe: 'Namespaces whose Services may claim hostnames with epictetus.io/ annotations' },
  { env: 'SERVICE_CLAIM_DOMAINS', default: '*', parse: z.string().transform((raw, ctx) => {
    const list = [...new Set(raw.split(',').map((x) => x.trim().toLowerCase().replace(/\.$/, '')).filter((x) => x !== ''))];
    for (const d of list) {
      const name = d.startsWith('*.') ? d.slice(2) : d;
      if (d !== '*' && hostnameProblem(name) !== null) ctx.addIssue({ code: 'custom', message: `"${d.slice(0, 70)}" is not a domain (example.com or *.example.com)` });
    }
    return list;
  }),
    accepts: 'a comma-separated list of example.com (that name and below) or *.example.com (only below it), * for any, or empty for none',
    describe: 'Domains under which Services may claim hostnames (protect a zone apex with *.example.com)' },
  { env: 'POLICY', default: 'sync', parse: z.string().trim().toLowerCase().pipe(z.enum(['sync', 'upsert-only'])),
    accepts: 'sync or upsert-only', describe: 'sync: create, update and delete; upsert-only: never delete (each deletion it skips is logged and listed in /health and plan)' },
  { env: 'MIN_RECORDS_PER_HOSTNAME', default: '1', parse: intIn(0, 1000),
    accepts: 'a whole number, 0–1000 (0 turns the floor off)',
    describe: 'Safety floor: managed records never removed below this count per hostname and record type' },
  { env: 'LOG_LEVEL', default: 'INFO', parse: oneOf(['DEBUG', 'INFO', 'WARNING', 'WARN', 'ERROR']),
    accepts: 'DEBUG, INFO, WARNING (or WARN) or ERROR, in any case', describe: 'Least severe level logged' },
  { env: 'LOG_FORMAT', default: 'console', parse: z.string().trim().toLowerCase().pipe(z.enum(['console', 'json'])),
    accepts: 'console or json', describe: 'console: one readable line per event; json: one JSON object per line' },
  { env: 'HEALTH_CHECK_INTERVAL', default: '30', parse: intIn(1, 3600),
    accepts: 'whole seconds, 1–3600', describe: 'Seconds between checks that both APIs answer' },
  { env: 'HEALTH_BIND_ADDRESS', default: '', parse: z.string().trim().refine((v) => v === '' || isIP(v) !== 0),
    accepts: 'an IP address of this host (e.g. 127.0.0.1 or ::), or empty for all interfaces', describe: 'Address the health server listens on' },
  { env: 'ENABLE_HEALTH_SERVER', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Serve /health, /health/ready and /health/live' },
  { env: 'HEALTH_PORT', default: '8080', parse: intIn(0, 65535),
    accepts: 'a TCP port, 0–65535 (0 picks a free one)', describe: 'Port of the health server' },
  { env: 'LIVENESS_TIMEOUT', default: '300', parse: intIn(5, 86400),
    accepts: 'whole seconds, 5–86400', describe: '/health/live answers 503 when one reconcile runs longer than this, or the loop stops ticking' },
  { env: 'LEADER_ELECTION', default: '', parse: z.union([z.literal(''), bool()]),
    accepts: 'true, false, or empty (true inside a cluster, false outside)',
    describe: 'Elect one leader among replicas on a coordination.k8s.io Lease; only the leader writes DNS' },
  { env: 'LEASE_NAMESPACE', default: '', parse: z.string().trim().regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/),
    accepts: 'a namespace name, or empty for the pod\'s namespace', describe: 'Namespace of the leader-election Lease' },
  { env: 'LEASE_NAME', default: 'epictetus', parse: z.string().trim().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/),
    accepts: 'a lower-case DNS subdomain name', describe: 'Name of the leader-election Lease' },
  { env: 'RECORD_EVENTS', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Record Kubernetes Events on Nodes (records removed/restored) and Services (bad annotations)' },
  { env: 'HOLD_NODE_DELETION', default: 'false', parse: bool(),
    accepts: 'true or false (needs patch on nodes)',
    describe: 'Hold a retiring node with a delay-deletion annotation until resolvers have let go of its records' },
  { env: 'HOLD_MARGIN_SECONDS', default: '10', parse: intIn(0, 3600),
    accepts: 'whole seconds, 0–3600', describe: 'Hold a node this long beyond twice its records\' TTL' },
  { env: 'HOLD_MAX_SECONDS', default: '110', parse: intIn(1, 86400),
    accepts: 'whole seconds, 1–86400', describe: 'Never hold a node longer (keep it below the autoscaler\'s --node-deletion-delay-timeout, 120 s by default; raise both for a TTL above 50 s)' },
  { env: 'DRY_RUN', default: 'false', parse: bool(),
    accepts: 'true or false', describe: 'Do everything but write to Cloudflare; log each change it would make' },
  { env: 'K8S_CONFIG_PATH', default: '', parse: text(),
    accepts: 'a kubeconfig file path, or empty', describe: 'Kubeconfig to use; empty: the in-cluster config inside a cluster, else KUBECONFIG, else ~/.kube/config' },
  { env: 'MAX_RETRIES', default: '3', parse: intIn(0, 20),
    accepts: 'a whole number, 0–20', describe: 'Retries of a failed API call (429, 5xx, timeouts, connection errors)' },
  { env: 'RETRY_DELAY', default: '5', parse: numberIn(0, 300),
    accepts: 'seconds, 0–300 (decimals allowed)', describe: 'First retry delay; doubles each retry, with jitter' },
  { env: 'CLOUDFLARE_API_BASE_URL', default: 'https://api.cloudflare.com/client/v4', parse: httpUrl(),
    accepts: 'an http(s) URL', describe: 'Cloudflare API base URL (a proxy or the simulator)' },
] as const satisfies readonly Setting[];
