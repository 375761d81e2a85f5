/** Generated garbage in, clear errors out: the pure parsers never throw anything else. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/settings.js';
import { toSnapshot, BASE_LABELS } from '../../src/kube/snapshot.js';
import { EpictetusError } from '../../src/model/errors.js';
import { canonicalIp, nonPublicReason } from '../../src/model/ip.js';
import { ANNOTATIONS, claimsOfService } from '../../src/reconcile/claims.js';
import { hostnameProblem } from '../../src/reconcile/hostnames.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const base = { CLOUDFLARE_API_TOKEN: fakeToken('fuzz'), CLOUDFLARE_ZONE_ID: '0123456789abcdef0123456789abcdef', DNS_HOSTNAMES: 'app.example.com' };

const nasty = fc.oneof(
  fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', '\t', '\n', '0', '-1', '1e9', 'NaN', 'null', 'true ', ' FALSE', '٣', '１２', '\u0000', '💥', 'x'.repeat(100_000)),
  fc.integer().map(String), fc.double().map(String),
);

describe('environment values of every setting', () => {
  it('either configure the service or give one error naming the variable, never anything else', () => {
    fc.assert(fc.property(fc.constantFrom(...SETTINGS.map((s) => s.env)), nasty, (key, value) => {
      try {
        loadConfig({ ...base, [key]: value });
      } catch (err) {
        expect(err).toBeInstanceOf(EpictetusError);
        expect((err as EpictetusError).code).toBe('EPI_CONFIG_INVALID');
        expect((err as Error).message).toContain(key === 'CLOUDFLARE_API_TOKEN_FILE' ? 'CLOUDFLARE_API_TOKEN_FILE' : key);
        expect((err as Error).message.length).toBeLessThan(5_000);
        if (key === 'CLOUDFLARE_API_TOKEN' && value.length > 8) expect((err as Error).message).not.toContain(value);
      }
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 600) });
  });
});

const ipish = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('10.0.0.1', '192.168.1.1', '127.0.0.1', 'fe80::1', '::', '1.2.3', 'abc', ''), fc.string());
const nodeGarbage = fc.oneof(
  fc.anything(),
  fc.record({
    metadata: fc.oneof(fc.anything(), fc.record({
      name: fc.oneof(fc.string(), fc.anything()),
      labels: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything()))),
      annotations: fc.oneof(fc.anything(), fc.record({ 'flannel.alpha.coreos.com/public-ip': fc.oneof(ipish, fc.anything()) })),
    })),
    spec: fc.oneof(fc.anything(), fc.record({
      taints: fc.oneof(fc.anything(), fc.array(fc.record({ key: fc.oneof(fc.string(), fc.anything()), value: fc.anything(), effect: fc.string() }), { maxLength: 3000 })),
      unschedulable: fc.anything(),
    })),
    status: fc.oneof(fc.anything(), fc.record({
      addresses: fc.oneof(fc.anything(), fc.array(fc.record({ type: fc.constantFrom('ExternalIP', 'InternalIP', 'Hostname', 'x'), address: fc.oneof(ipish, fc.anything()) }))),
      conditions: fc.oneof(fc.anything(), fc.array(fc.record({ type: fc.constantFrom('Ready', 'x'), status: fc.anything(), lastTransitionTime: fc.anything() }))),
    })),
  }, { requiredKeys: [] }),
);

describe('Node objects', () => {
  it('become a valid snapshot or nothing; a fallback address is never private', () => {
    fc.assert(fc.property(nodeGarbage, (n) => {
      const s = toSnapshot(n, { labels: new Set(BASE_LABELS), externalIpKey: 'example.com/ip' });
      if (s === undefined) return;
      expect(typeof s.name).toBe('string');
      for (const ip of s.ipv4) expect(canonicalIp(ip)).toEqual({ family: 4, ip });
      for (const ip of s.ipv6) expect(canonicalIp(ip)).toEqual({ family: 6, ip });
      const external = (n as { status?: { addresses?: Array<{ type?: unknown }> } })?.status?.addresses;
      const hasExternal = Array.isArray(external) && external.some((a) => a?.type === 'ExternalIP');
      if (!hasExternal) for (const ip of [...s.ipv4, ...s.ipv6]) expect(nonPublicReason(canonicalIp(ip)!)).toBeNull();
      for (const v of Object.values(s.taints)) expect(typeof v).toBe('string');
      expect(['True', 'False', 'Unknown']).toContain(s.ready);
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 800) });
  });
});

describe('Service annotations', () => {
  it('in every malformed form give valid hostnames or one clear problem', () => {
    const value = fc.oneof(nasty, fc.json(), fc.constantFrom('true', 'false', '[]', '["a.example.com"]', '["a.example.com",', 'a.example.com,', '60', '1', '7', 'pool in (', 'pool=edge'));
    fc.assert(fc.property(fc.dictionary(fc.constantFrom(...Object.values(ANNOTATIONS)), value), (annotations) => {
      const r = claimsOfService({ namespace: 'ns', name: 'svc', uid: undefined, annotations: { [ANNOTATIONS.enabled]: 'true', ...annotations } }, { ttl: 1, proxied: false });
      if (r.problem !== undefined) {
        expect(r.specs).toEqual([]);
        expect(r.problem).toMatch(/epictetus\.io\//);
        for (const name of r.names ?? []) expect(hostnameProblem(name)).toBeNull(); // the names in doubt
      }
      for (const spec of r.specs) {
        expect(hostnameProblem(spec.name)).toBeNull();
        expect(spec.ttl === 1 || (spec.ttl >= 60 && spec.ttl <= 86400)).toBe(true);
        if (spec.proxied) expect(spec.ttl).toBe(1);
      }
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 800) });
  });
});
