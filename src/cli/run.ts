/** `epictetus run`: config -> logger -> clients -> controller -> server, until SIGTERM/SIGINT. */
import type { Server } from 'node:http';
import { createCloudflareProvider } from '../cloudflare/provider.js';
import { environmentWithDotenv, loadConfig, type Config } from '../config/config.js';
import { ApiHealth, startApiChecks } from '../controller/api-checks.js';
import { Controller } from '../controller/controller.js';
import { createNodeApi, loadKubeConfig } from '../kube/api.js';
import { NodeSource } from '../kube/node-source.js';
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
    hostnames: config.hostnames.map((h) => h.name), zoneId: config.cloudflare.zoneId, owner: config.ownerId,
    syncIntervalS: config.syncIntervalMs / 1000, floor: config.minRecordsPerHostname,
    kubeconfig: config.kubeconfigPath || '(in-cluster)', cloudflare: config.cloudflare.baseUrl,
  }, 'starting epictetus');

  let kubeApi;
  try {
    kubeApi = createNodeApi(loadKubeConfig(config.kubeconfigPath));
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

  // The source reports to the controller; both exist before either starts.
  const source: NodeSource = new NodeSource(kubeApi, log.child({ component: 'node-watch' }), (changes) => {
    apiHealth.answered('kubernetes');
    controller.onNodeChanges(changes);
  });
  const controller = new Controller({
    zoneId: config.cloudflare.zoneId, hostnames: config.hostnames, ownerId: config.ownerId,
    minRecordsPerHostname: config.minRecordsPerHostname, syncIntervalMs: config.syncIntervalMs,
    retryBaseDelayMs: config.retry.baseDelayMs,
  }, { provider, nodes: () => source.nodes.values(), log });

  let server: Server | undefined;
  if (config.health.enabled) {
    const handler = buildHandler({
      controller: () => controller.status(), nodeWatch: () => source.status(), apis: () => apiHealth.snapshot(),
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
    await source.start(stop.signal);
    log.info({ nodes: source.nodes.size }, 'initial node list done; starting the control loop');
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
