// The simulator's DNS server, queried with tools we did not write: dig and Node's c-ares resolver.
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudflareSim } from '../../src/sim/cloudflare/index.js';
import { call, startSim } from '../helpers/cloudflare.js';

const run = promisify(execFile);

let sim: CloudflareSim;
let resolver: Resolver;

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/dig', ['@127.0.0.1', '-p', String(sim.dnsPort), '+time=2', '+tries=1', ...args]);
  return stdout;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '').sort();

beforeAll(async () => {
  sim = await startSim({ zones: [{ name: 'example.com' }, { name: 'example.net' }], dnsPort: 0 });
  const com = sim.zone('example.com').id;
  const net = sim.zone('example.net').id;
  sim.addRecord(com, { name: 'app', type: 'A', content: '192.0.2.1' });
  sim.addRecord(com, { name: 'app', type: 'A', content: '192.0.2.2', ttl: 120 });
  sim.addRecord(com, { name: 'app', type: 'AAAA', content: '2001:db8::1' });
  sim.addRecord(com, { name: 'txt-only', type: 'TXT', content: 'hello' });
  sim.addRecord(net, { name: '@', type: 'A', content: '198.51.100.1', ttl: 3600 });
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${sim.dnsPort}`]);
});

afterAll(async () => {
  await sim.stop();
});

describe('DNS server seen by dig', () => {
  it('answers A and AAAA queries from the records of every zone', async () => {
    expect(sim.dnsPort).toBeGreaterThan(0);
    expect(lines(await dig('app.example.com', 'A', '+short'))).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(lines(await dig('APP.example.com', 'AAAA', '+short'))).toEqual(['2001:db8::1']);
    expect(lines(await dig('example.net', 'A', '+short'))).toEqual(['198.51.100.1']);
  });

  it('uses each record’s TTL, and 300 for an automatic one', async () => {
    const answers = lines(await dig('app.example.com', 'A', '+noall', '+answer')).map((l) => l.split(/\s+/));
    expect(answers.map(([, ttl, , , ip]) => `${ip} ${ttl}`).sort()).toEqual(['192.0.2.1 300', '192.0.2.2 120']);
  });

  it('answers authoritatively, NXDOMAIN for unknown names and REFUSED outside its zones', async () => {
    expect(await dig('app.example.com', 'A')).toMatch(/status: NOERROR[\s\S]*flags: qr aa/);
    expect(await dig('nothing.example.com', 'A')).toContain('status: NXDOMAIN');
    expect(await dig('txt-only.example.com', 'A')).toMatch(/status: NOERROR[\s\S]*ANSWER: 0/);
    expect(await dig('example.org', 'A')).toContain('status: REFUSED');
  });

  it('follows changes made through the API at once', async () => {
    const zoneId = sim.zone('example.com').id;
    const res = await call(sim, 'POST', `/zones/${zoneId}/dns_records`, {
      body: { type: 'A', name: 'fresh', content: '203.0.113.9', ttl: 60 },
    });
    expect(res.status).toBe(200);
    expect(lines(await dig('fresh.example.com', 'A', '+short'))).toEqual(['203.0.113.9']);
  });
  it('answers only from active zones: a pending copy in another account changes nothing, a moved zone stops answering', async () => {
    const copy = sim.addZone({ name: 'example.net', account: 'f'.repeat(32), status: 'pending' });
    sim.addRecord(copy.id, { name: '@', type: 'A', content: '203.0.113.50' });
    expect(lines(await dig('example.net', 'A', '+short'))).toEqual(['198.51.100.1']);
    const original = sim.zone('example.net').id;
    sim.setZoneStatus(original, 'moved');
    sim.setZoneStatus(copy.id, 'pending');
    expect(await dig('example.net', 'A')).toContain('status: REFUSED');
    sim.setZoneStatus(copy.id, 'active');
    expect(lines(await dig('example.net', 'A', '+short'))).toEqual(['203.0.113.50']);
    sim.setZoneStatus(original, 'active');
    sim.setZoneStatus(copy.id, 'moved');
  });
});

describe('DNS server seen by node:dns', () => {
  it('resolves addresses with their TTLs', async () => {
    const v4 = await resolver.resolve4('app.example.com', { ttl: true });
    expect(v4.sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: '192.0.2.1', ttl: 300 },
      { address: '192.0.2.2', ttl: 120 },
    ]);
    expect(await resolver.resolve6('app.example.com')).toEqual(['2001:db8::1']);
  });

  it('reports NXDOMAIN, NODATA and REFUSED as c-ares error codes', async () => {
    await expect(resolver.resolve4('nothing.example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('txt-only.example.com')).rejects.toMatchObject({ code: 'ENODATA' });
    await expect(resolver.resolve4('www.example.org')).rejects.toMatchObject({ code: 'EREFUSED' });
  });
});
