/**
 * LOG_FORMAT=json as log pipelines read it: every line one JSON object, each key once, `level` a
 * name, `time` ISO 8601, no secret. Checked on the raw text of every line a real run printed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { startService, waitFor, type ServiceProcess } from '../helpers/service.js';

const BOTH_CA_TAINTS = [
  { key: 'DeletionCandidateOfClusterAutoscaler', value: '1', effect: 'PreferNoSchedule' },
  { key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' },
];
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let world: World | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  await world?.stop();
  service = undefined;
  world = undefined;
});

/** Keys that appear twice in one object of a JSON text (JSON.parse keeps the last and says nothing). */
function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const stack: Array<{ keys: Set<string> | null; expectKey: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) dups.push(key);
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && stack.at(-1)?.keys) stack.at(-1)!.expectKey = true;
  }
  return dups;
}

function service_(name: string, annotations: Record<string, string>): object {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', annotations },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ name: 'http', port: 80 }] },
  };
}

describe('JSON logs', () => {
  it('the duplicate check finds duplicates, nested ones too, and not keys inside strings', () => {
    expect(duplicateKeys('{"service":"a","x":{"k":1,"k":2},"service":"b"}').sort()).toEqual(['k', 'service']);
    expect(duplicateKeys('{"msg":"a \\"msg\\": here","list":[{"a":1},{"a":2}]}')).toEqual([]);
  });

  it('every line of a run through Service and taint changes: one object, each key once, level names, ISO time', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    w.cloudflare.addRecord(w.zoneId, { name: 'app.example.com', type: 'A', content: '198.51.100.7', comment: 'office' });
    service = startService({ ...w.env, LOG_FORMAT: 'json', LOG_LEVEL: 'DEBUG' });
    const s = service;
    await s.waitReady();
    w.kube.createObject('services', service_('web', { 'epictetus.io/dns-enabled': 'true', 'epictetus.io/hostname': 'web.example.com', 'epictetus.io/ttl': '120' }));
    w.kube.createObject('services', service_('broken', { 'epictetus.io/dns-enabled': 'true', 'epictetus.io/ttl': '7', 'epictetus.io/hostname': 'x.example.com' }));
    const ips = (name: string) => w.cloudflare.records(w.zoneId).filter((r) => r.name === name && r.content.startsWith('203.')).map((r) => r.content).sort().join(',');
    await waitFor(() => ips('web.example.com') === [1, 2, 3].map(simNodeIp).join(',') || undefined, 15_000, 'web.example.com records');
    w.kube.patchNode('worker-2', { spec: { taints: BOTH_CA_TAINTS } });
    await waitFor(() => (ips('web.example.com') === [1, 3].map(simNodeIp).join(',') && ips('app.example.com') === [1, 3].map(simNodeIp).join(',')) || undefined, 15_000, 'worker-2 removed');
    await s.waitForLog((l) => l.service === 'default/broken');
    expect(await s.stop('SIGTERM')).toBe(0);

    expect(s.stderr).toEqual([]);
    expect(s.lines.length).toBeGreaterThan(10);
    for (const line of s.lines) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not JSON: ${line}`);
      }
      expect(duplicateKeys(line), line).toEqual([]);
      expect(LEVELS, line).toContain(entry.level);
      expect(entry.time, line).toMatch(ISO_UTC);
      expect(new Date(String(entry.time)).toISOString()).toBe(entry.time);
      expect(typeof entry.msg, line).toBe('string');
      expect(entry.pid, line).toBeUndefined();
      expect(line).not.toContain(w.token);
    }
    const logs = s.logs;
    // `service` and `hostname` are the events' own: a Service's namespace/name, a DNS name.
    expect(logs.find((l) => l.service === 'default/broken')).toMatchObject({ level: 'warn' });
    expect(logs.find((l) => l.hostname === 'app.example.com' && l.reason === 'not-a-cluster-ip')).toMatchObject({ level: 'warn', ip: '198.51.100.7' });
    expect(logs.some((l) => l.level === 'debug')).toBe(true);
    expect(logs.some((l) => l.level === 'info' && String(l.msg).includes('203.0.113.12'))).toBe(true);
  });
});
