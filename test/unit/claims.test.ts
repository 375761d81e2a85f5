import { describe, expect, it } from 'vitest';
import { claimsOfService, resolveHostnames } from '../../src/reconcile/claims.js';
import type { ServiceSnapshot } from '../../src/model/types.js';
import { host } from '../helpers/snapshots.js';

const defaults = { ttl: 1, proxied: false };
const svc = (name: string, annotations: Record<string, string>, namespace = 'default'): ServiceSnapshot => ({ namespace, name, uid: `uid-${name}`, annotations });
const on = { 'epictetus.io/dns-enabled': 'true' };

describe('hostnames claimed by a Service', () => {
  it.each<[string, Record<string, string>, string[]]>([
    ['a JSON array', { ...on, 'epictetus.io/hostnames': '["A.example.com", "b.example.com"]' }, ['a.example.com', 'b.example.com']],
    ['a comma list', { ...on, 'epictetus.io/hostnames': 'a.example.com, b.example.com,,' }, ['a.example.com', 'b.example.com']],
    ['one name', { ...on, 'epictetus.io/hostname': 'api.example.com.' }, ['api.example.com']],
    ['both keys, de-duplicated', { ...on, 'epictetus.io/hostnames': 'a.example.com', 'epictetus.io/hostname': 'a.example.com' }, ['a.example.com']],
    ['nothing without dns-enabled', { 'epictetus.io/hostname': 'a.example.com' }, []],
    ['nothing with dns-enabled false', { 'epictetus.io/dns-enabled': 'false', 'epictetus.io/hostname': 'a.example.com' }, []],
  ])('%s', (_w, annotations, names) => {
    const r = claimsOfService(svc('web', annotations), defaults);
    expect(r.problem).toBeUndefined();
    expect(r.specs.map((s) => s.name)).toEqual(names);
  });

  it('carries per-Service settings; proxied records use automatic TTL', () => {
    const [spec] = claimsOfService(svc('web', {
      ...on, 'epictetus.io/hostname': 'a.example.com', 'epictetus.io/ttl': '300', 'epictetus.io/control-plane-only': 'true',
      'epictetus.io/node-selector': 'pool=edge',
    }), defaults).specs;
    expect(spec).toMatchObject({ ttl: 300, proxied: false, controlPlaneOnly: true, nodeSelector: { text: 'pool=edge' }, source: 'service default/web' });
    const [proxied] = claimsOfService(svc('web', { ...on, 'epictetus.io/hostname': 'a.example.com', 'epictetus.io/ttl': '300', 'epictetus.io/proxied': 'TRUE' }), defaults).specs;
    expect(proxied).toMatchObject({ ttl: 1, proxied: true });
  });

  const one = { ...on, 'epictetus.io/hostname': 'ok.example.com' };
  it.each<[string, Record<string, string>, string]>([
    ['ttl 7', { ...one, 'epictetus.io/ttl': '7' }, 'epictetus.io/ttl="7" must be 1 (automatic) or 60–86400'],
    ['ttl not a number', { ...one, 'epictetus.io/ttl': 'soon' }, 'epictetus.io/ttl="soon"'],
    ['a bad selector', { ...one, 'epictetus.io/node-selector': 'pool in (' }, 'epictetus.io/node-selector="pool in (": unbalanced'],
    ['proxied maybe', { ...one, 'epictetus.io/proxied': 'maybe' }, 'epictetus.io/proxied="maybe" must be "true" or "false"'],
    ['control-plane-only yes', { ...one, 'epictetus.io/control-plane-only': 'yes' }, 'must be "true" or "false"'],
    ['an unparsable JSON list', { ...on, 'epictetus.io/hostnames': '["a.example.com",' }, 'not a valid JSON array'],
    ['a non-string in the list', { ...on, 'epictetus.io/hostnames': '["a.example.com", 7]' }, 'non-string entry 7'],
    ['an invalid name', { ...on, 'epictetus.io/hostnames': 'a.example.com,bad_name.example.com' }, '"bad_name.example.com" has an invalid label'],
    ['several names in the one-name key', { ...on, 'epictetus.io/hostname': 'a.example.com,b.example.com' }, 'takes one name'],
    ['no hostname at all', { ...on }, 'no hostname is given'],
  ])('a bad annotation (%s) disables the Service with a clear problem', (_w, annotations, problem) => {
    const r = claimsOfService(svc('web', annotations), defaults);
    expect(r.specs).toEqual([]);
    expect(r.problem).toContain(problem);
  });

  it('a bad dns-enabled value is a problem, not silence', () => {
    expect(claimsOfService(svc('web', { 'epictetus.io/dns-enabled': 'yes', 'epictetus.io/hostname': 'a.example.com' }), defaults).problem)
      .toContain('epictetus.io/dns-enabled="yes"');
  });
});

describe('resolving claims from every source', () => {
  it('adds Service hostnames to DNS_HOSTNAMES and sorts them', () => {
    const r = resolveHostnames([host('z.example.com')], [svc('web', { ...on, 'epictetus.io/hostname': 'a.example.com' })], defaults);
    expect(r.hostnames.map((h) => `${h.name} ${h.source}`)).toEqual(['a.example.com service default/web', 'z.example.com env']);
    expect(r.conflicts).toEqual([]);
  });

  it('settles a disagreement by source order, whatever order the Services arrive in, and reports it', () => {
    const a = svc('alpha', { ...on, 'epictetus.io/hostname': 'x.example.com', 'epictetus.io/ttl': '60' });
    const b = svc('beta', { ...on, 'epictetus.io/hostname': 'x.example.com', 'epictetus.io/ttl': '300' });
    for (const order of [[a, b], [b, a]]) {
      const r = resolveHostnames([], order, defaults);
      expect(r.hostnames).toHaveLength(1);
      expect(r.hostnames[0]).toMatchObject({ ttl: 60, source: 'service default/alpha' });
      expect(r.conflicts).toEqual([{ hostname: 'x.example.com', kept: 'service default/alpha', ignored: 'service default/beta', difference: 'ttl 60 vs 300' }]);
    }
    const env = resolveHostnames([host('x.example.com')], [a], defaults);
    expect(env.hostnames[0]?.source).toBe('env');
    expect(env.conflicts[0]?.difference).toBe('ttl 1 vs 60');
  });

  it('agreeing claims are no conflict; a broken Service is reported, and its hostnames are in doubt', () => {
    const r = resolveHostnames([host('x.example.com')], [
      svc('same', { ...on, 'epictetus.io/hostname': 'x.example.com' }),
      svc('broken', { ...on, 'epictetus.io/hostname': 'y.example.com', 'epictetus.io/ttl': '7' }, 'shop'),
    ], defaults);
    expect(r.hostnames.map((h) => h.name)).toEqual(['x.example.com']);
    expect(r.conflicts).toEqual([]);
    expect(r.problems).toEqual([{ service: 'shop/broken', problem: expect.stringContaining('epictetus.io/ttl="7"'), meanwhile: 'hostnames left alone' }]);
    expect([...r.inDoubt.keys()]).toEqual(['y.example.com']);
  });
});

describe('a claim is withdrawn only on positive evidence', () => {
  const good = svc('web', { ...on, 'epictetus.io/hostnames': '["web.example.com","api.example.com"]' });

  it('an annotation typo keeps the last good claim in force, and says so', () => {
    const first = resolveHostnames([], [good], defaults);
    const typo = svc('web', { ...good.annotations, 'epictetus.io/ttl': '30' });
    const r = resolveHostnames([], [typo], defaults, { memory: first.memory });
    expect(r.hostnames.map((h) => h.name)).toEqual(['api.example.com', 'web.example.com']);
    expect(r.problems).toEqual([{ service: 'default/web', problem: expect.stringContaining('epictetus.io/ttl="30"'), meanwhile: 'last good claim kept' }]);
    // fixed again: the new claim is the good one
    const fixed = resolveHostnames([], [svc('web', { ...on, 'epictetus.io/hostname': 'web.example.com' })], defaults, { memory: r.memory });
    expect(fixed.hostnames.map((h) => h.name)).toEqual(['web.example.com']);
  });

  it.each([
    ['a broken JSON list', { ...on, 'epictetus.io/hostnames': '["web.example.com", "api.example.com"' }],
    ['dns-enabled that is not a boolean', { 'epictetus.io/dns-enabled': 'yes', 'epictetus.io/hostnames': 'web.example.com,api.example.com' }],
  ])('after a restart (no memory), %s puts the hostnames it seems to mean in doubt', (_what, annotations) => {
    const r = resolveHostnames([], [svc('web', annotations)], defaults);
    expect(r.hostnames).toEqual([]);
    expect([...r.inDoubt.keys()].sort()).toEqual(['api.example.com', 'web.example.com']);
  });

  it('dns-enabled removed, or the Service gone, withdraws the claim', () => {
    const first = resolveHostnames([], [good], defaults);
    expect(resolveHostnames([], [svc('web', { 'epictetus.io/hostname': 'web.example.com' })], defaults, { memory: first.memory }).hostnames).toEqual([]);
    expect(resolveHostnames([], [], defaults, { memory: first.memory }).hostnames).toEqual([]);
  });

  it('a recreated Service (another uid) does not inherit the old one\'s claim', () => {
    const first = resolveHostnames([], [good], defaults);
    const again = { ...svc('web', { ...good.annotations, 'epictetus.io/ttl': 'x' }), uid: 'another' };
    const r = resolveHostnames([], [again], defaults, { memory: first.memory });
    expect(r.hostnames).toEqual([]);
    expect([...r.inDoubt.keys()].sort()).toEqual(['api.example.com', 'web.example.com']);
  });
});

describe('who may claim what (SERVICE_CLAIM_NAMESPACES, SERVICE_CLAIM_DOMAINS)', () => {
  const policy = { namespaces: ['ingress'], domains: ['*.example.com', 'shop.example.org'] };
  it.each<[string, string, string, string | null]>([
    ['an allowed namespace and a name under an allowed domain', 'ingress', 'web.example.com', null],
    ['the apex of a *.domain', 'ingress', 'example.com', 'outside the domains'],
    ['an exact name and below it', 'ingress', 'a.shop.example.org', null],
    ['another domain', 'ingress', 'evil.example.net', 'outside the domains'],
    ['another namespace', 'tenant', 'web.example.com', 'namespace tenant may not claim'],
  ])('%s', (_what, namespace, hostname, refusal) => {
    const r = resolveHostnames([], [svc('s', { ...on, 'epictetus.io/hostname': hostname }, namespace)], defaults, { policy });
    if (refusal === null) {
      expect(r.hostnames.map((h) => h.name)).toEqual([hostname]);
      expect(r.refused).toEqual([]);
    } else {
      expect(r.hostnames).toEqual([]);
      expect(r.refused).toEqual([{ service: `${namespace}/s`, hostname, why: expect.stringContaining(refusal) }]);
    }
  });

  it('a refused Service never freezes a hostname it may not claim', () => {
    const r = resolveHostnames([], [svc('s', { ...on, 'epictetus.io/hostname': 'example.com', 'epictetus.io/ttl': 'bad' }, 'ingress')], defaults, { policy });
    expect([...r.inDoubt.keys()]).toEqual([]);
  });
});
