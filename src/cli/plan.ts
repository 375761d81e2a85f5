/**
 * `epictetus plan [--json]`: reads the cluster and the zones once and shows the changes the
 * service would make. Exit 0: nothing would change; 2: something would; 1: it could not tell.
 */
import { createCloudflareProvider } from '../cloudflare/provider.js';
import { environmentWithDotenv, loadConfig, type Config } from '../config/config.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ZoneCache, type ZoneReadStatus } from '../controller/zone-cache.js';
import { createKubeApi, loadKubeConfig } from '../kube/api.js';
import { Sources } from '../kube/sources.js';
import { createLogger, scrub } from '../log/logger.js';
import { EpictetusError, errorMessage } from '../model/errors.js';
import type { ResolvedClaims } from '../reconcile/claims.js';
import { desiredState } from '../reconcile/desired.js';
import { changeCount, plan, type Plan } from '../reconcile/plan.js';
import { selectorKeys } from '../reconcile/selector.js';
import type { CommandOptions } from './usage.js';

async function computePlan(config: Config, env: NodeJS.ProcessEnv): Promise<{ plan: Plan; claims: ResolvedClaims; zones: ZoneReadStatus[] }> {
  const kc = loadKubeConfig(config.kubeconfigPath, { env });
  const log = createLogger({ level: 'silent', format: 'json', secrets: () => [config.cloudflare.apiToken] });
  const sources = new Sources(createKubeApi(kc), {
    hostnames: config.hostnames, defaults: config.defaults, watchServices: config.watchServices,
    claimPolicy: { namespaces: config.claims.namespaces ?? [kc.inCluster ? kc.namespace : 'default'], domains: config.claims.domains },
    nodeSelector: config.policy.nodeSelector, externalIpLabel: config.externalIpLabel, confirmVanishedFraction: 1,
  }, log);
  const stop = new AbortController();
  try {
    sources.start(stop.signal);
    // Every list in, with every label a selector reads (a new selector key re-lists the nodes).
    const ready = () => {
      const carried = sources.signals().carriedLabels ?? new Set<string>();
      return sources.list().every((s) => s.status().synced)
        && sources.claims().hostnames.every((h) => !h.nodeSelector || selectorKeys(h.nodeSelector).every((k) => carried.has(k)));
    };
    for (const deadline = Date.now() + 60_000; !ready();) {
      const errors = sources.list().map((s) => s.status().lastError).filter((e) => e !== undefined);
      if (Date.now() > deadline) throw new EpictetusError('EPI_KUBE_LIST', `could not list the cluster within 60 s${errors.length > 0 ? `: ${errors.join('; ')}` : ''}`);
      await sleep(20);
    }
    const provider = createCloudflareProvider({
      apiToken: () => config.cloudflare.apiToken, baseUrl: config.cloudflare.baseUrl,
      retry: { maxRetries: config.retry.maxRetries, baseDelayMs: config.retry.baseDelayMs },
    });
    const cache = new ZoneCache(provider, { zoneIds: config.cloudflare.zoneIds, rediscover: true });
    const signals = sources.signals();
    await cache.read([...signals.hostnames.map((h) => h.name), ...(signals.inDoubt?.keys() ?? [])], true);
    const p = plan({
      desired: desiredState(signals, config.recordTypes, config.policy), zones: cache.known(), records: cache.current(),
      owner: config.ownerId, ownerAliases: config.ownerAliases, minRecordsPerHostname: config.minRecordsPerHostname,
      maxUnhealthyFraction: config.maxUnhealthyFraction, commentMaxLength: 100, policy: config.changePolicy,
    });
    return { plan: p, claims: sources.claims(), zones: cache.status().zones };
  } finally {
    stop.abort();
    kc.close();
  }
}

const row = (sign: string, type: string, ip: string, node: string | null, text: string) =>
  `  ${sign} ${type.padEnd(4)} ${ip.padEnd(39)} ${(node ?? '').padEnd(20)} ${text}`;

function describe({ plan: p, claims, zones }: Awaited<ReturnType<typeof computePlan>>, owner: string): string {
  const lines: string[] = [];
  const all = p.zones.flatMap((z) => [
    ...z.creates.map((c) => ({ name: c.name, line: row('+', c.type, c.content, c.node, c.reason) })),
    ...z.updates.map((u) => ({ name: u.record.name, line: row('~', u.record.type, u.record.content, u.node, `${u.reason} (ttl ${u.ttl}, proxied ${u.proxied})`) })),
    ...z.deletes.map((d) => ({ name: d.record.name, line: row('-', d.record.type, d.record.content, d.node, d.reason) })),
  ]);
  const kept = [
    ...p.held.map((h) => ({ name: h.record.name, line: row('!', h.record.type, h.record.content, h.node, `kept by ${h.reason} (would be ${h.wouldBe})`) })),
    ...p.skipped.map((d) => ({ name: d.record.name, line: row('!', d.record.type, d.record.content, d.node, `kept by POLICY=upsert-only (would be ${d.reason})`) })),
    ...p.refused.map((r) => ({ name: r.hostname, line: row('!', r.type, r.ip, null, `${r.action} refused by Cloudflare: ${r.refusal.message}`) })),
  ];
  for (const h of p.hostnames) {
    const rows = [...all, ...kept].filter((x) => x.name === h.name).map((x) => x.line);
    const where = h.frozen ? `left as it is: ${h.frozen}` : `zone ${h.zone}, ${p.managedAfter.get(h.name) ?? 0} managed record(s) after`;
    lines.push(`${h.name} (${where}; claimed by ${h.source})`, ...(rows.length > 0 ? rows : ['  no change']), '');
  }
  const unclaimed = [...all, ...kept].filter((x) => !p.hostnames.some((h) => h.name === x.name));
  if (unclaimed.length > 0) lines.push('hostnames no longer claimed:', ...unclaimed.map((x) => x.line), '');
  if (p.foreign.length > 0) {
    const width = (xs: readonly string[]) => Math.max(...xs.map((x) => x.length));
    const [nw, cw, ow] = [width(p.foreign.map((f) => f.name)), width(p.foreign.map((f) => f.content)), width(p.foreign.map((f) => f.owner ?? '(none)'))];
    lines.push(`records left alone (not owned by OWNER_ID=${owner}):`,
      ...p.foreign.map((f) => `  = ${f.name.padEnd(nw)} ${f.type.padEnd(4)} ${f.content.padEnd(cw)} owner ${(f.owner ?? '(none)').padEnd(ow)} ${f.reason}`), '');
  }
  for (const z of zones) if (z.read === 'failed') lines.push(`zone ${z.name} could not be read: ${z.error}`);
  for (const pr of claims.problems) lines.push(`Service ${pr.service}: ${pr.problem} (${pr.meanwhile})`);
  for (const r of claims.refused) lines.push(`Service ${r.service}: claim refused: ${r.why}`);
  const n = p.zones.reduce((sum, z) => sum + changeCount(z), 0);
  lines.push(n === 0 ? 'No changes.' : `${n} change(s) in ${p.zones.filter((z) => changeCount(z) > 0).length} zone(s).`);
  return lines.join('\n');
}

export async function planCommand({ json }: CommandOptions<'plan'>, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(environmentWithDotenv(env, cwd));
  } catch (err) {
    process.stderr.write(`epictetus: ${errorMessage(err)}\n`);
    return 1;
  }
  try {
    const r = await computePlan(config, env);
    const p = r.plan;
    const changes = p.zones.reduce((n, z) => n + changeCount(z), 0);
    if (json) {
      process.stdout.write(`${JSON.stringify({
        changes,
        hostnames: p.hostnames,
        zones: p.zones.map((z) => ({ zone: z.zone.name, id: z.zone.id, creates: z.creates, updates: z.updates, deletes: z.deletes })),
        held: p.held, skipped: p.skipped, refused: p.refused, moves: p.moves, foreign: p.foreign,
        zoneReads: r.zones, conflicts: r.claims.conflicts, serviceProblems: r.claims.problems, refusedClaims: r.claims.refused,
      }, null, 2)}\n`);
    } else process.stdout.write(`${describe(r, config.ownerId)}\n`);
    return changes === 0 ? 0 : 2;
  } catch (err) {
    process.stderr.write(`epictetus plan: ${scrub(errorMessage(err), [config.cloudflare.apiToken])}\n`);
    return 1;
  }
}
