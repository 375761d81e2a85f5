/** `epictetus plan` says which records it will leave alone, as /health does. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { MAIN } from '../helpers/service.js';

const run = promisify(execFile);
let world: World | undefined;

afterEach(async () => {
  await world?.stop();
  world = undefined;
});

describe('epictetus plan, in text', () => {
  it('lists the records it leaves alone: name, type, content, owner and reason', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    for (const i of [1, 2]) w.cloudflare.addRecord(w.zoneId, { name: 'app.example.com', type: 'A', content: simNodeIp(i), comment: 'epictetus:owner=default' });
    w.cloudflare.addRecord(w.zoneId, { name: 'app.example.com', type: 'A', content: '198.51.100.7', comment: 'office' });
    const env = { PATH: process.env.PATH ?? '', ...w.env, OWNER_ID: 'cluster-b', LOG_LEVEL: 'ERROR' };
    const r = await run(process.execPath, [MAIN, 'plan'], { env, timeout: 30_000 })
      .then((x) => ({ code: 0, ...x }), (e: { code: number; stdout: string; stderr: string }) => e);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const out = r.stdout;
    expect(out).toMatch(/\+ A +203\.0\.113\.13 +worker-3 +node-eligible/);
    const section = out.slice(out.indexOf('records left alone (not owned by OWNER_ID=cluster-b):'));
    expect(section.length).toBeLessThan(out.length);
    const rows = section.split('\n').filter((l) => l.startsWith('  = ')).map((l) => l.trim().split(/\s+/));
    expect(rows.sort()).toEqual([
      ['=', 'app.example.com', 'A', simNodeIp(1), 'owner', 'default', 'other-owner'],
      ['=', 'app.example.com', 'A', simNodeIp(2), 'owner', 'default', 'other-owner'],
      ['=', 'app.example.com', 'A', '198.51.100.7', 'owner', '(none)', 'not-a-cluster-ip'],
    ].sort());
    expect(out).toContain('1 change(s) in 1 zone(s).');
    expect(w.cloudflare.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });
});
