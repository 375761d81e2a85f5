/**
 * `epictetus plan [--json]`: reads the cluster and the zones once and shows the changes the
 * service would make. Exit 0: nothing would change; 2: something would; 1: it could not tell.
 */
import { createCloudflareProvider } from '../cloudflare/provider.js';
import { environmentWithDotenv, loadConfig, type Config } from '../config/config.js';
import { createKubeApi, loadKubeConfig, type ResourceApi } from '../kube/api.js';
import { nodeCodec, serviceCodec } from '../kube/codecs.js';
import type { Codec } from '../kube/list-watch.js';
import { BASE_LABELS } from '../kube/snapshot.js';
import { scrub } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import type { DnsRecord } from '../model/types.js';
import { resolveHostnames } from '../reconcile/claims.js';
import { desiredState } from '../reconcile/desired.js';
import { changeCount, planZones, type ZonesPlan } from '../reconcile/plan-zones.js';
import { selectorKeys } from '../reconcile/selector.js';
import type { CommandOptions } from './usage.js';

async function listAll<T>(api: ResourceApi, codec: Codec<T>): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const page = await api.list({ limit: 100, ...(cont ? { continue: cont } : {}) });
    for (const item of page.items) {
      const snap = codec.snapshot(item);
      if (snap !== undefined) out.push(snap);
    }
    cont = page.continue;
  } while (cont);
  return out;
}

async function computePlan(config: Config): Promise<ZonesPlan & { conflicts: unknown[]; problems: unknown[] }> {
  const kube = createKubeApi(loadKubeConfig(config.kubeconfigPath));
  const services = config.watchServices ? await listAll(kube.services, serviceCodec) : [];
  const claims = resolveHostnames(config.hostnames, services, config.defaults);
  const labels = new Set([...BASE_LABELS, ...[config.policy.nodeSelector, ...claims.hostnames.map((h) => h.nodeSelector)]
    .flatMap((s) => (s ? selectorKeys(s) : []))]);
  const nodes = await listAll(kube.nodes, nodeCodec(() => ({ labels, externalIpKey: config.externalIpLabel || undefined })));
  const provider = createCloudflareProvider({
    apiToken: () => config.cloudflare.apiToken, baseUrl: config.cloudflare.baseUrl,
    retry: { maxRetries: config.retry.maxRetries, baseDelayMs: config.retry.baseDelayMs },
  });
  const zones = await provider.listZones(config.cloudflare.zoneIds);
  const records = new Map<string, DnsRecord[]>();
  for (const z of zones) records.set(z.id, await provider.listRecords(z.id));
  const desired = desiredState(nodes, claims.hostnames, config.recordTypes, config.policy);
  const planned = planZones({
    desired, zones, records, owner: config.ownerId, minRecordsPerHostname: config.minRecordsPerHostname,
    maxUnhealthyFraction: config.maxUnhealthyFraction, commentMaxLength: 100,
  });
  return { ...planned, conflicts: claims.conflicts, problems: claims.problems };
}

function describe(p: ZonesPlan, owner: string): string {
  const lines: string[] = [];
  for (const h of p.hostnames) {
    if (h.zone === null) { lines.push(`${h.name}: in no zone this token can manage (skipped)`, ''); continue; }
    const zp = p.zones.find((z) => z.zone.name === h.zone)?.plan;
    if (!zp) continue;
    const mine = <T extends { record: DnsRecord }>(xs: readonly T[]) => xs.filter((x) => x.record.name === h.name);
    const rows = [
      ...zp.creates.filter((c) => c.name === h.name).map((c) => `  + ${c.type.padEnd(4)} ${c.content.padEnd(39)} ${(c.node ?? '').padEnd(20)} ${c.reason}`),
      ...mine(zp.updates).map((u) => `  ~ ${u.record.type.padEnd(4)} ${u.record.content.padEnd(39)} ${(u.node ?? '').padEnd(20)} ${u.reason} (ttl ${u.ttl}, proxied ${u.proxied})`),
      ...mine(zp.deletes).map((d) => `  - ${d.record.type.padEnd(4)} ${d.record.content.padEnd(39)} ${(d.node ?? '').padEnd(20)} ${d.reason}`),
      ...mine(zp.held).map((x) => `  ! ${x.record.type.padEnd(4)} ${x.record.content.padEnd(39)} ${(x.node ?? '').padEnd(20)} kept by ${x.reason} (would be ${x.wouldBe})`),
    ];
    lines.push(`${h.name} (zone ${h.zone}, ${zp.managedAfter.get(h.name) ?? 0} managed record(s) after; claimed by ${h.source})`);
    lines.push(...(rows.length > 0 ? rows : ['  no change']), '');
  }
  const unclaimed = p.zones.flatMap((z) => z.plan.deletes.filter((d) => d.reason === 'hostname-unclaimed'));
  if (unclaimed.length > 0) {
    lines.push('hostnames no longer claimed:', ...unclaimed.map((d) => `  - ${d.record.name} ${d.record.type} ${d.record.content} hostname-unclaimed`), '');
  }
  const foreign = p.zones.flatMap((z) => z.plan.foreign);
  if (foreign.length > 0) {
    const width = (xs: readonly string[]) => Math.max(...xs.map((x) => x.length));
    const [nw, cw, ow] = [width(foreign.map((f) => f.name)), width(foreign.map((f) => f.content)), width(foreign.map((f) => f.owner ?? '(none)'))];
    lines.push(`records left alone (not owned by OWNER_ID=${owner}):`,
      ...foreign.map((f) => `  = ${f.name.padEnd(nw)} ${f.type.padEnd(4)} ${f.content.padEnd(cw)} owner ${(f.owner ?? '(none)').padEnd(ow)} ${f.reason}`), '');
  }
  const n = p.zones.reduce((sum, z) => sum + changeCount(z.plan), 0);
  lines.push(n === 0 ? 'No changes.' : `${n} change(s) in ${p.zones.filter((z) => changeCount(z.plan) > 0).length} zone(s).`);
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
    const p = await computePlan(config);
    const changes = p.zones.reduce((n, z) => n + changeCount(z.plan), 0);
    if (json) {
      process.stdout.write(`${JSON.stringify({
        changes,
        hostnames: p.hostnames,
        zones: p.zones.map(({ zone, plan }) => ({
          zone: zone.name, id: zone.id,
          creates: plan.creates, updates: plan.updates, deletes: plan.deletes,
          held: plan.held, foreign: plan.foreign,
        })),
        conflicts: p.conflicts, serviceProblems: p.problems,
      }, null, 2)}\n`);
    } else process.stdout.write(`${describe(p, config.ownerId)}\n`);
    return changes === 0 ? 0 : 2;
  } catch (err) {
    process.stderr.write(`epictetus plan: ${scrub(errorMessage(err), [config.cloudflare.apiToken])}\n`);
    return 1;
  }
}
