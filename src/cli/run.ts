/** `epictetus run`: config -> logger -> clients -> controller -> server, until SIGTERM/SIGINT. */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { createCloudflareProvider, type DnsProvider } from '../cloudflare/provider.js';
import { environmentWithDotenv, loadConfig, type Config } from '../config/config.js';
import { TokenSource } from '../config/token.js';
import { ApiHealth, startApiChecks } from '../controller/api-checks.js';
import { Controller } from '../controller/controller.js';
import { HoldManager } from '../controller/holds.js';
import { recordNodeEvents } from '../controller/node-events.js';
import { RemovalTracker, type RemovalObserver } from '../controller/removals.js';
import { createKubeApi, loadKubeConfig, type KubeApi, type KubeConnection } from '../kube/api.js';
import { EventRecorder, eventSink } from '../kube/events.js';
import { LeaderElector } from '../kube/leader.js';
import { createLeaseApi } from '../kube/lease-api.js';
import type { Change } from '../kube/list-watch.js';
import { HOLD_ANNOTATION } from '../kube/snapshot.js';
import { Sources } from '../kube/sources.js';
import type { ProberHooks } from '../probe/prober.js';
import { createLogger, type Logger } from '../log/logger.js';
import { EpictetusError, errorCode, errorMessage, registerSecrets } from '../model/errors.js';
import type { NodeSnapshot } from '../model/types.js';
import { Metrics } from '../server/metrics.js';
import { buildHandler, listen } from '../server/server.js';
import { fullCollector } from '../util/gc.js';


/** A refused token stops the service with one clear error; an unreachable API does not (it is retried). */
async function verifyToken(provider: DnsProvider, log: Logger, signal: AbortSignal): Promise<void> {
  try {
    await provider.verifyToken(signal);
    log.info('Cloudflare API token verified');
  } catch (err) {
    if (err instanceof EpictetusError && err.code === 'EPI_CF_AUTH') {
      throw new EpictetusError('EPI_CF_TOKEN_REFUSED', `the Cloudflare API refused the token (${err.message}): check CLOUDFLARE_API_TOKEN and its permissions (Zone → DNS → Edit)`);
    }
    if (signal.aborted) return;
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
  registerSecrets(() => token.secrets());
  return run(config, kube, token, log, leaderElection, identity, signal).finally(() => { stopWatchingToken(); kube.close(); }).catch((err: unknown) => {
    log.error({ code: errorCode(err) }, errorMessage(err));
    return err instanceof EpictetusError ? 1 : 70;
  });
}

async function run(config: Config, kc: KubeConnection, token: TokenSource, log: Logger, leaderElection: boolean, identity: string, signal: AbortSignal): Promise<number> {
  // Clients
  const apiHealth = new ApiHealth();
  const metrics = new Metrics();
  const kubeApi = createKubeApi(kc);
  const provider = createCloudflareProvider({
    apiToken: () => token.current(), baseUrl: config.cloudflare.baseUrl,
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
  const events = config.recordEvents ? new EventRecorder(eventSink(kc), log.child({ component: 'events' }), { instance: identity }) : undefined;

  // Sources: every signal, as small snapshots
  const sources = new Sources(kubeApi, {
    hostnames: config.hostnames, defaults: config.defaults, watchServices: config.watchServices,
    claimPolicy: { namespaces: config.claims.namespaces ?? [kc.inCluster ? kc.namespace : 'default'], domains: config.claims.domains },
    nodeSelector: config.policy.nodeSelector, externalIpLabel: config.externalIpLabel,
    confirmVanishedFraction: config.maxUnhealthyFraction, watchEndpointSlices: config.watchEndpointSlices,
    probes: { ...config.probes, thresholds: { failures: config.probes.failures, successes: config.probes.successes }, hooks: probeHooks(metrics, events, log) },
  }, log);
  sources.subscribe(() => apiHealth.answered('kubernetes'));

  // Leadership: only the leader writes
  const leaderEvents = new EventEmitter();
  const elector = leaderElection
    ? new LeaderElector(createLeaseApi(kc), { namespace: config.lease.namespace || (kc.inCluster ? kc.namespace : 'default'), name: config.lease.name, identity }, log.child({ component: 'leader' }), {
      onStartedLeading: () => leaderEvents.emit('leading'),
      onStoppedLeading: () => undefined,
    })
    : undefined;
  const isLeader = () => elector?.isLeader() ?? true;

  // The loop
  const removals = new RemovalTracker(config.policy, removalObserver(metrics, log));
  const holds = config.hold.enabled ? holdManager(config, kubeApi, sources, events, metrics, log) : undefined;
  const collect = fullCollector();
  const controller = new Controller({
    zoneIds: config.cloudflare.zoneIds, rediscoverZones: config.cloudflare.discoverZones,
    ownerId: config.ownerId, ownerAliases: config.ownerAliases, changePolicy: config.changePolicy,
    minRecordsPerHostname: config.minRecordsPerHostname, maxUnhealthyFraction: config.maxUnhealthyFraction,
    policy: config.policy, recordTypes: config.recordTypes, dryRun: config.dryRun,
    syncIntervalMs: config.syncIntervalMs, retryBaseDelayMs: config.retry.baseDelayMs,
    reconcileBudgetMs: Math.max(3_000, Math.floor(config.health.livenessTimeoutMs / 2)),
  }, {
    provider, sources: sources.list(), signals: () => sources.signals(), log, canWrite: isLeader,
    hooks: {
      // After the burst of garbage a full sync makes; a moment later, so that the loop (and the
      // readiness it just earned) answers first.
      ...(collect ? {
        fullSyncEnded: (recordsRead) => setTimeout(() => {
          const c = collect(recordsRead);
          if (c) log.debug({ ms: c.ms, liveMiB: Math.round(c.liveBytes / 2 ** 20), rssMiB: Math.round(c.rssBytes / 2 ** 20) }, 'collected the garbage of a full sync');
        }, 100).unref(),
      } : {}),
      reconciled: (result) => {
        metrics.reconciles.inc({ result });
        holds?.sync(controller.publishedIps(), isLeader());
      },
      applied: (changes, at) => {
        removals.recordsRemoved(changes.deletes, at);
        holds?.recordsRemoved(changes.deletes, at);
        if (events) recordNodeEvents(changes, events, sources.nodes.items);
      },
      serviceProblem: (p) => serviceEvent(events, sources, p.service, 'InvalidDNSAnnotations', 'KeepDNS',
        `Bad epictetus.io annotations (${p.meanwhile}): ${p.problem}`),
      claimRefused: (r) => serviceEvent(events, sources, r.service, 'DNSClaimRefused', 'RefuseDNSClaim', r.why),
    },
  });
  sources.subscribe((e) => {
    if (e.source === 'nodes') for (const c of e.changes) removals.nodeChanged(c as Change<NodeSnapshot>);
    controller.onSourceChange(e.source, e.deletedNodes);
  });
  // A new leader plans from a fresh list: its view may be old (it was paused, or cut off).
  leaderEvents.on('leading', () => {
    sources.refresh();
    controller.request('became-leader', true, 0);
  });
  metrics.readFrom({
    controller: () => controller.status(), watches: () => sources.statuses(), isLeader, rateBudget: () => provider.budget(),
    nodesHeld: () => [...sources.nodes.items.values()].filter((n) => n.hold !== undefined).length,
  });

  // Health, readiness, metrics, status page
  let server: Server | undefined;
  if (config.health.enabled) {
    const handler = buildHandler({
      controller: () => controller.status(), watches: () => sources.statuses(), apis: () => apiHealth.snapshot(), metrics: metrics.registry,
      leadership: () => ({ enabled: elector !== undefined, role: isLeader() ? 'leader' : 'follower', leader: elector ? elector.leader() ?? null : identity, identity, problem: elector?.problem() ?? null }),
      livenessTimeoutMs: config.health.livenessTimeoutMs, syncIntervalMs: config.syncIntervalMs,
      probes: () => sources.prober.evidence(),
    });
    const l = await listen(handler, config.health.port, config.health.bindAddress);
    server = l.server;
    log.info({ port: l.port }, `health server listening on port ${l.port}`);
  }

  // Run until SIGTERM/SIGINT (which may come at any moment, start-up included: an AbortSignal
  // fires its event once, so a listener added after it would never hear it)
  const stop = new AbortController();
  if (signal.aborted) stop.abort(signal.reason);
  else signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true });
  await verifyToken(provider, log, stop.signal);
  const stopChecks = startApiChecks({
    kubeVersion: () => kubeApi.version(), cloudflareVerify: () => provider.verifyToken(),
    health: apiHealth, intervalMs: config.health.checkIntervalMs,
  });
  sources.start(stop.signal);
  void elector?.run(stop.signal);
  controller.start(); // it plans nothing before every source has listed once
  const holdTimer = holds ? setInterval(() => holds.sync(controller.publishedIps(), isLeader()), 2_000) : undefined;
  await new Promise<void>((resolve) => {
    if (stop.signal.aborted) resolve();
    else stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log.info('shutting down: stopping watches and waiting for an in-flight batch');
  clearInterval(holdTimer);
  stopChecks();
  await controller.stop();
  if (holds && isLeader()) await holds.releaseAll();
  await elector?.release();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server?.closeAllConnections();
  log.info('stopped');
  return 0;
}

/** Probe results in metrics; a verdict that changes in the log and as an Event on the Node. */
function probeHooks(metrics: Metrics, events: EventRecorder | undefined, log: Logger): ProberHooks {
  return {
    result: (_t, r) => {
      metrics.probeDuration.observe(r.latencyMs / 1000);
      metrics.probeResults.inc({ result: r.ok ? 'success' : 'failure' });
    },
    transition: (t, before, after) => {
      const evidence = { node: t.node, probe: t.spec.text, address: t.address, detail: after.last?.detail, latencyMs: after.last?.latencyMs,
        consecutiveFailures: after.consecutiveFailures, consecutiveSuccesses: after.consecutiveSuccesses };
      if (after.state === 'failing') {
        log.warn(evidence, `probe ${t.spec.text} of node ${t.node} failed ${after.consecutiveFailures} time(s) in a row (${after.last?.detail ?? '?'}): it no longer serves hostnames with that probe`);
        events?.record({ kind: 'Node', name: t.node }, { type: 'Warning', reason: 'ProbeFailed', action: 'RemoveFromDNS',
          note: `Probe ${t.spec.text} of ${t.address ?? '?'} failed ${after.consecutiveFailures} time(s) in a row: ${after.last?.detail ?? '?'}` });
      } else if (after.state === 'healthy') {
        log.info(evidence, `probe ${t.spec.text} of node ${t.node} passed ${after.consecutiveSuccesses} time(s) in a row: it serves again`);
        if (before.state === 'failing') {
          events?.record({ kind: 'Node', name: t.node }, { type: 'Normal', reason: 'ProbeRecovered', action: 'AddToDNS',
            note: `Probe ${t.spec.text} of ${t.address ?? '?'} passed ${after.consecutiveSuccesses} time(s) in a row (${after.last?.latencyMs ?? '?'} ms)` });
        }
      }
    },
  };
}

function serviceEvent(events: EventRecorder | undefined, sources: Sources, service: string, reason: string, action: string, note: string): void {
  const [namespace, name] = service.split('/');
  events?.record({ kind: 'Service', namespace, name: name ?? service, uid: sources.services?.items.get(service)?.uid },
    { type: 'Warning', reason, action, note });
}

function removalObserver(metrics: Metrics, log: Logger): RemovalObserver {
  return {
    reaction: (_node, ms) => metrics.reactionLatency.observe(ms / 1000),
    leadTime: (node, ms, ttl) => {
      metrics.removalLeadTime.observe(ms / 1000);
      if (ms < ttl * 1000) {
        log.warn({ node, leadTimeS: Math.round(ms / 1000), ttlS: ttl },
          `node ${node} was deleted ${Math.round(ms / 1000)} s after its DNS records were removed, less than their TTL (${ttl} s): resolvers may still have sent clients to it`);
      }
    },
  };
}

/** Holds retiring nodes (HOLD_NODE_DELETION) until resolvers have let go of their records. */
function holdManager(config: Config, kubeApi: KubeApi, sources: Sources, events: EventRecorder | undefined, metrics: Metrics, log: Logger) {
  const manager = new HoldManager({ setAnnotation: (n, k, v) => kubeApi.setNodeAnnotation(n, k, v) }, {
    annotation: HOLD_ANNOTATION, marginMs: config.hold.marginMs, maxMs: config.hold.maxMs, policy: config.policy,
    assumedTtlS: () => Math.max(1, ...sources.claims().hostnames.map((h) => (h.ttl === 1 ? 300 : h.ttl))),
  }, log.child({ component: 'holds' }), {
    started: (node, until) => events?.record({ kind: 'Node', name: node, uid: sources.nodes.items.get(node)?.uid },
      { type: 'Normal', reason: 'DeletionHeld', action: 'HoldDeletion', note: `Holding the node's deletion until ${new Date(until).toISOString()}, when resolvers have let go of its DNS records` }),
    ended: (node, ms, why) => {
      metrics.holdDuration.observe(ms / 1000);
      events?.record({ kind: 'Node', name: node, uid: sources.nodes.items.get(node)?.uid },
        { type: 'Normal', reason: 'DeletionReleased', action: 'ReleaseDeletion', note: `Released the deletion hold after ${Math.round(ms / 1000)} s: ${why}` });
    },
  });
  let running = false;
  return {
    recordsRemoved: (deletes: Parameters<HoldManager['recordsRemoved']>[0], at: number) => manager.recordsRemoved(deletes, at),
    /** One sync at a time, from what is published now. */
    sync(published: ReadonlySet<string> | undefined, leading: boolean): void {
      if (running) return;
      running = true;
      void manager.sync(sources.nodes.items.values(), (n) => published === undefined || [...n.ipv4, ...n.ipv6].some((ip) => published.has(ip)), leading)
        .finally(() => { running = false; });
    },
    releaseAll: () => manager.releaseAll(sources.nodes.items.values()),
  };
}
