/** `epictetus run`: config -> logger -> clients -> controller -> server, until SIGTERM/SIGINT. */
import type { Server } from 'node:http';
import { createCloudflareProvider } from '../cloudflare/provider.js';
import { environmentWithDotenv, loadConfig, type Config } from '../config/config.js';
import { ApiHealth, startApiChecks } from '../controller/api-checks.js';
import { Controller } from '../controller/controller.js';
import { createKubeApi, loadKubeConfig, type KubeApi } from '../kube/api.js';
import { nodeCodec, serviceCodec } from '../kube/codecs.js';
import { ListWatch } from '../kube/list-watch.js';
import { BASE_LABELS } from '../kube/snapshot.js';
import type { NodeSnapshot, ServiceSnapshot } from '../model/types.js';
import { resolveHostnames } from '../reconcile/claims.js';
import { selectorKeys } from '../reconcile/selector.js';
import { createLogger } from '../log/logger.js';
import { EpictetusError, errorCode, errorMessage } from '../model/errors.js';
import { buildHandler, listen } from '../server/server.js';

export async function runCommand(env: NodeJS.ProcessEnv, cwd: string, signal: AbortSignal): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(environmentWithDotenv(env, cwd));
  } catch (err) {
    process.stderr.write(`epictetus: ${errorMessage(err)}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level, format: config.log.format, secrets: () => [config.cloudflare.apiToken] });
  log.info({
    hostnames: config.hostnames.map((h) => h.name), zones: config.cloudflare.zoneIds.length > 0 ? config.cloudflare.zoneIds : '(discover)',
    services: config.watchServices, recordTypes: config.recordTypes, owner: config.ownerId,
    syncIntervalS: config.syncIntervalMs / 1000, floor: config.minRecordsPerHostname,
    kubeconfig: config.kubeconfigPath || '(in-cluster)', cloudflare: config.cloudflare.baseUrl,
  }, 'starting epictetus');

  let kubeApi: KubeApi;
  try {
    kubeApi = createKubeApi(loadKubeConfig(config.kubeconfigPath));
  } catch (err) {
    log.error({ code: errorCode(err) }, errorMessage(err));
    return 1;
  }
  const apiHealth = new ApiHealth();
  const provider = createCloudflareProvider({
    apiToken: () => config.cloudflare.apiToken,
    baseUrl: config.cloudflare.baseUrl,
    retry: { maxRetries: config.retry.maxRetries, baseDelayMs: config.retry.baseDelayMs },
    onRetry: (err, attempt, delayMs) => log.warn({ code: err.code, err: err.message, attempt, delayMs }, 'Cloudflare call failed; retrying'),
    onCall: (ok) => { if (ok) apiHealth.answered('cloudflare'); },
  });

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
      controller.onNodeChanges(changes);
    });
  const services: ListWatch<ServiceSnapshot> | undefined = config.watchServices
    ? new ListWatch(kubeApi.services, serviceCodec, log.child({ component: 'service-watch' }), (changes) => {
      apiHealth.answered('kubernetes');
      watchLabelsOf(resolve().hostnames);
      controller.onServiceChanges(changes);
    })
    : undefined;
  const controller = new Controller({
    zoneIds: config.cloudflare.zoneIds, rediscoverZones: config.cloudflare.discoverZones, ownerId: config.ownerId,
    minRecordsPerHostname: config.minRecordsPerHostname, maxUnhealthyFraction: config.maxUnhealthyFraction,
    policy: config.policy, recordTypes: config.recordTypes,
    syncIntervalMs: config.syncIntervalMs, retryBaseDelayMs: config.retry.baseDelayMs,
  }, { provider, nodes: () => nodes.items.values(), hostnames: resolve, log });

  let server: Server | undefined;
  if (config.health.enabled) {
    const handler = buildHandler({
      controller: () => controller.status(), watches: () => ({ nodes: nodes.status(), ...(services ? { services: services.status() } : {}) }), apis: () => apiHealth.snapshot(),
      livenessTimeoutMs: config.health.livenessTimeoutMs, syncIntervalMs: config.syncIntervalMs,
    });
    try {
      const l = await listen(handler, config.health.port);
      server = l.server;
      log.info({ port: l.port }, `health server listening on port ${l.port}`);
    } catch (err) {
      log.error({ err: errorMessage(err), port: config.health.port }, 'cannot start the health server');
      return 1;
    }
  }

  const stopChecks = startApiChecks({
    kubeVersion: () => kubeApi.version(),
    cloudflareVerify: () => provider.verifyToken(),
    health: apiHealth,
    intervalMs: config.health.checkIntervalMs,
  });

  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(signal.reason), { once: true });
  try {
    // Nothing is planned before both lists are in: a missing Service would look like an unclaimed hostname.
    await Promise.all([services?.start(stop.signal), nodes.start(stop.signal)]);
    watchLabelsOf(resolve().hostnames);
    log.info({ nodes: nodes.items.size, services: services?.items.size ?? null }, 'initial lists done; starting the control loop');
    controller.start();
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } catch (err) {
    if (!stop.signal.aborted) {
      log.error({ code: errorCode(err) }, errorMessage(err));
      return err instanceof EpictetusError ? 1 : 70;
    }
  } finally {
    log.info('shutting down: stopping watches and waiting for an in-flight batch');
    stopChecks();
    await controller.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
  }
  log.info('stopped');
  return 0;
}
