/** `epictetus run`: config -> logger -> clients -> controller -> server, until SIGTERM/SIGINT. */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { createCloudflareProvider, type DnsProvider } from '../cloudflare/provider.js';
import { environmentWithDotenv, loadConfig, type Config } from '../config/config.js';
import { TokenSource } from '../config/token.js';
import { ApiHealth, startApiChecks } from '../controller/api-checks.js';
import { Controller } from '../controller/controller.js';
import { HoldManager } from '../controller/holds.js';
import { RemovalTracker } from '../controller/removals.js';
import { createKubeApi, loadKubeConfig, type KubeConnection } from '../kube/api.js';
import { nodeCodec, serviceCodec } from '../kube/codecs.js';
import { EventRecorder, eventSink } from '../kube/events.js';
import { LeaderElector } from '../kube/leader.js';
import { createLeaseApi } from '../kube/lease-api.js';
import { ListWatch } from '../kube/list-watch.js';
import { BASE_LABELS, HOLD_ANNOTATION } from '../kube/snapshot.js';
import { createLogger, type Logger } from '../log/logger.js';
import { EpictetusError, errorCode, errorMessage } from '../model/errors.js';
import type { NodeSnapshot, ServiceSnapshot } from '../model/types.js';
import { resolveHostnames } from '../reconcile/claims.js';
import type { Plan } from '../reconcile/plan.js';
import { selectorKeys } from '../reconcile/selector.js';
import { Metrics } from '../server/metrics.js';
import { buildHandler, listen } from '../server/server.js';

/** Events on the Nodes whose records a committed plan removed or added. */
function recordNodeEvents(p: Plan, events: EventRecorder, nodes: ReadonlyMap<string, NodeSnapshot>): void {
  const byNode = new Map<string, { removed: string[]; added: string[]; reasons: Set<string> }>();
  const entry = (n: string) => byNode.get(n) ?? byNode.set(n, { removed: [], added: [], reasons: new Set() }).get(n)!;
  for (const d of p.deletes) {
    if (d.node === null || d.reason === 'node-deleted' || d.reason === 'duplicate') continue;
    entry(d.node).removed.push(`${d.record.name} ${d.record.type} ${d.record.content}`);
    entry(d.node).reasons.add(d.reason);
  }
  for (const c of p.creates) if (c.node !== null) entry(c.node).added.push(`${c.name} ${c.type} ${c.content}`);
  for (const [name, e] of byNode) {
    const target = { kind: 'Node' as const, name, uid: nodes.get(name)?.uid };
    if (e.removed.length > 0) {
      events.record(target, { type: 'Normal', reason: 'DNSRecordsRemoved', action: 'RemoveDNSRecords', note: `Removed ${e.removed.join(', ')} (${[...e.reasons].join(', ')})` });
    }
    if (e.added.length > 0) {
      events.record(target, { type: 'Normal', reason: 'DNSRecordsAdded', action: 'AddDNSRecords', note: `Added ${e.added.join(', ')}` });
    }
  }
}

/** A refused token stops the service with one clear error; an unreachable API does not (it is retried). */
async function verifyToken(provider: DnsProvider, log: Logger): Promise<void> {
  try {
    await provider.verifyToken();
    log.info('Cloudflare API token verified');
  } catch (err) {
    if (err instanceof EpictetusError && err.code === 'EPI_CF_AUTH') {
      throw new EpictetusError('EPI_CF_TOKEN_REFUSED', `the Cloudflare API refused the token (${err.message}): check CLOUDFLARE_API_TOKEN and its permissions (Zone → DNS → Edit)`);
    }
    log.warn({ code: errorCode(err), err: errorMessage(err) }, 'could not verify the Cloudflare API token now; carrying on (calls will be retried)');
  }
}

export async function runCommand(env: NodeJS.ProcessEnv, cwd: string, signal: AbortSignal): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(environmentWithDotenv(env, cwd));
  } catch (err) {
    process.stderr.write(`epictetus: ${errorMessage(err)}\n`);
    return 2;
  }
  const token = new TokenSource(config.cloudflare.apiToken, config.cloudflare.tokenFile);
  const log = createLogger({ level: config.log.level, format: config.log.format, secrets: () => token.secrets() });
  let kube: KubeConnection;
  try {
    kube = loadKubeConfig(config.kubeconfigPath, { env });
  } catch (err) {
    log.error({ code: errorCode(err) }, errorMessage(err));
    return 1;
  }
  const leaderElection = config.leaderElection ?? kube.inCluster;
  const identity = `${hostname()}_${randomUUID().slice(0, 8)}`;
  log.info({
    hostnames: config.hostnames.map((h) => h.name), zones: config.cloudflare.zoneIds.length > 0 ? config.cloudflare.zoneIds : '(discover)',
    services: config.watchServices, recordTypes: config.recordTypes, owner: config.ownerId,
    syncIntervalS: config.syncIntervalMs / 1000, floor: config.minRecordsPerHostname, leaderElection, identity, dryRun: config.dryRun,
    kubernetes: kube.describe(), cloudflare: config.cloudflare.baseUrl,
  }, 'starting epictetus');
  if (!leaderElection && kube.inCluster) {
    log.warn('leader election is off inside a cluster: run exactly one replica, or two would both write DNS');
  }
  const stopWatchingToken = token.watch(log);
  return run(config, kube, token, log, leaderElection, identity, signal).finally(() => { stopWatchingToken(); kube.close(); }).catch((err: unknown) => {
    log.error({ code: errorCode(err) }, errorMessage(err));
    return err instanceof EpictetusError ? 1 : 70;
  });
}

async function run(config: Config, kc: KubeConnection, token: TokenSource, log: Logger, leaderElection: boolean, identity: string, signal: AbortSignal): Promise<number> {
  const kubeApi = createKubeApi(kc);
  const apiHealth = new ApiHealth();
  const elector = leaderElection
    ? new LeaderElector(createLeaseApi(kc), { namespace: config.lease.namespace || (kc.inCluster ? kc.namespace : 'default'), name: config.lease.name, identity }, log.child({ component: 'leader' }), {
      onStartedLeading: () => controller.request('became-leader', true, 0),
      onStoppedLeading: () => undefined,
    })
    : undefined;
  const isLeader = () => elector?.isLeader() ?? true;
  const events = config.recordEvents ? new EventRecorder(eventSink(kc), log.child({ component: 'events' }), { instance: identity }) : undefined;

  // Node snapshots keep only the labels some rule reads: the base ones, NODE_SELECTOR's and
  // every annotated Service's selector's. When Services bring new keys, the nodes are re-listed.
  const labelsOfInterest = new Set([...BASE_LABELS, ...(config.policy.nodeSelector ? selectorKeys(config.policy.nodeSelector) : [])]);
  const resolve = () => resolveHostnames(config.hostnames, services?.items.values() ?? [], config.defaults);
  const watchLabelsOf = (hostnames: ReturnType<typeof resolve>['hostnames']) => {
    const before = labelsOfInterest.size;
    for (const h of hostnames) if (h.nodeSelector) for (const k of selectorKeys(h.nodeSelector)) labelsOfInterest.add(k);
    if (labelsOfInterest.size > before) nodes.resync();
  };
  // The sources report to the controller; all exist before any starts.
  const nodes: ListWatch<NodeSnapshot> = new ListWatch(kubeApi.nodes,
    nodeCodec(() => ({ labels: labelsOfInterest, externalIpKey: config.externalIpLabel || undefined })),
    log.child({ component: 'node-watch' }), (changes) => {
      apiHealth.answered('kubernetes');
      for (const c of changes) removals.nodeChanged(c);
      controller.onNodeChanges(changes);
    });
  const services: ListWatch<ServiceSnapshot> | undefined = config.watchServices
    ? new ListWatch(kubeApi.services, serviceCodec, log.child({ component: 'service-watch' }), (changes) => {
      apiHealth.answered('kubernetes');
      watchLabelsOf(resolve().hostnames);
      controller.onServiceChanges(changes);
    })
    : undefined;
  const watches = () => ({ nodes: nodes.status(), ...(services ? { services: services.status() } : {}) });

  const metrics = new Metrics({
    controller: () => controller.status(), watches, isLeader,
    nodesHeld: () => [...nodes.items.values()].filter((n) => n.hold !== undefined).length,
  });
  const holds = config.hold.enabled
    ? new HoldManager({ setAnnotation: (n, k, v) => kubeApi.setNodeAnnotation(n, k, v) }, {
      annotation: HOLD_ANNOTATION, marginMs: config.hold.marginMs, maxMs: config.hold.maxMs, policy: config.policy,
      assumedTtlS: () => Math.max(1, ...resolve().hostnames.map((h) => (h.ttl === 1 ? 300 : h.ttl))),
    }, log.child({ component: 'holds' }), {
      started: (node, until) => events?.record({ kind: 'Node', name: node, uid: nodes.items.get(node)?.uid },
        { type: 'Normal', reason: 'DeletionHeld', action: 'HoldDeletion', note: `Holding the node's deletion until ${new Date(until).toISOString()}, when resolvers have let go of its DNS records` }),
      ended: (node, ms, why) => {
        metrics.holdDuration.observe(ms / 1000);
        events?.record({ kind: 'Node', name: node, uid: nodes.items.get(node)?.uid },
          { type: 'Normal', reason: 'DeletionReleased', action: 'ReleaseDeletion', note: `Released the deletion hold after ${Math.round(ms / 1000)} s: ${why}` });
      },
    })
    : undefined;
  let holdsRunning = false;
  const syncHolds = () => {
    if (!holds || holdsRunning) return;
    holdsRunning = true;
    const published = controller.publishedIps();
    holds.sync(nodes.items.values(), (n) => published === undefined || [...n.ipv4, ...n.ipv6].some((ip) => published.has(ip)), isLeader())
      .finally(() => { holdsRunning = false; });
  };
  const removals = new RemovalTracker(config.policy, {
    reaction: (_node, ms) => metrics.reactionLatency.observe(ms / 1000),
    leadTime: (node, ms, ttl) => {
      metrics.removalLeadTime.observe(ms / 1000);
      if (ms < ttl * 1000) {
        log.warn({ node, leadTimeS: Math.round(ms / 1000), ttlS: ttl },
          `node ${node} was deleted ${Math.round(ms / 1000)} s after its DNS records were removed, less than their TTL (${ttl} s): resolvers may still have sent clients to it`);
      }
    },
  });
  const provider = createCloudflareProvider({
    apiToken: () => token.current(),
    baseUrl: config.cloudflare.baseUrl,
    retry: { maxRetries: config.retry.maxRetries, baseDelayMs: config.retry.baseDelayMs },
    onRetry: (err, attempt, delayMs) => {
      metrics.retries.inc({ api: 'cloudflare', code: err.code });
      if (err.status === 429) metrics.rateLimitWaits.inc(delayMs / 1000);
      log.warn({ code: err.code, err: err.message, attempt, delayMs }, 'Cloudflare call failed; retrying');
    },
    onCall: ({ method, status }) => {
      metrics.cloudflareRequests.inc({ method, status: String(status) });
      if (status > 0 && status < 500) apiHealth.answered('cloudflare');
    },
  });
  const controller = new Controller({
    zoneIds: config.cloudflare.zoneIds, rediscoverZones: config.cloudflare.discoverZones, ownerId: config.ownerId,
    minRecordsPerHostname: config.minRecordsPerHostname, maxUnhealthyFraction: config.maxUnhealthyFraction,
    policy: config.policy, recordTypes: config.recordTypes, dryRun: config.dryRun,
    syncIntervalMs: config.syncIntervalMs, retryBaseDelayMs: config.retry.baseDelayMs,
  }, {
    provider, nodes: () => nodes.items.values(), hostnames: resolve, log, canWrite: isLeader,
    hooks: {
      reconciled: (result) => {
        metrics.reconciles.inc({ result });
        syncHolds();
      },
      applied: (p, at) => {
        removals.recordsRemoved(p.deletes, at);
        holds?.recordsRemoved(p.deletes, at);
        if (events) recordNodeEvents(p, events, nodes.items);
      },
      serviceProblem: (p) => {
        const [namespace, name] = p.service.split('/');
        const svc = services?.items.get(p.service);
        events?.record({ kind: 'Service', namespace, name: name ?? p.service, uid: svc?.uid },
          { type: 'Warning', reason: 'InvalidDNSAnnotations', action: 'DisableDNS', note: `DNS disabled for this Service: ${p.problem}` });
      },
    },
  });

  let server: Server | undefined;
  if (config.health.enabled) {
    const handler = buildHandler({
      controller: () => controller.status(), watches, apis: () => apiHealth.snapshot(), metrics: metrics.registry,
      leadership: () => ({ enabled: elector !== undefined, role: isLeader() ? 'leader' : 'follower', leader: elector ? elector.leader() ?? null : identity, identity }),
      livenessTimeoutMs: config.health.livenessTimeoutMs, syncIntervalMs: config.syncIntervalMs,
    });
    const l = await listen(handler, config.health.port, config.health.bindAddress);
    server = l.server;
    log.info({ port: l.port }, `health server listening on port ${l.port}`);
  }

  await verifyToken(provider, log);
  const stopChecks = startApiChecks({
    kubeVersion: () => kubeApi.version(), cloudflareVerify: () => provider.verifyToken(),
    health: apiHealth, intervalMs: config.health.checkIntervalMs,
  });
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true });
  try {
    // Nothing is planned before both lists are in: a missing Service would look like an unclaimed hostname.
    await Promise.all([services?.start(stop.signal), nodes.start(stop.signal)]);
    watchLabelsOf(resolve().hostnames);
    log.info({ nodes: nodes.items.size, services: services?.items.size ?? null }, 'initial lists done; starting the control loop');
    void elector?.run(stop.signal);
    controller.start();
    const holdTimer = holds ? setInterval(syncHolds, 2_000) : undefined;
    stop.signal.addEventListener('abort', () => clearInterval(holdTimer), { once: true });
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    log.info('shutting down: stopping watches and waiting for an in-flight batch');
    stop.abort();
    stopChecks();
    await controller.stop();
    if (holds && isLeader()) await holds.releaseAll(nodes.items.values());
    await elector?.release();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
  }
  log.info('stopped');
  return 0;
}
