import { describe, expect, it } from 'vitest';
import { zoneFor } from '../../src/reconcile/zones.js';

const zones = [
  { id: 'com', name: 'example.com' }, { id: 'sub', name: 'sub.example.com' }, { id: 'uk', name: 'example.co.uk' },
  { id: 'couk', name: 'co.uk' },
];

describe('zone matching', () => {
  it.each([
    ['a.example.com', 'com'], ['example.com', 'com'], ['x.sub.example.com', 'sub'], ['sub.example.com', 'sub'],
    ['a.example.co.uk', 'uk'], ['other.co.uk', 'couk'], ['badexample.com', undefined], ['a.example.org', undefined],
  ])('%s -> %s', (host, id) => {
    expect(zoneFor(host, zones)?.id).toBe(id);
  });
});
