/** The hand-written record check used on large listings says yes exactly when zod's schema does. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dnsRecord, isApiRecord } from '../../src/cloudflare/schemas.js';

const field = fc.oneof(fc.constant(undefined), fc.constant(null), fc.string({ maxLength: 3 }), fc.constant(''), fc.integer(), fc.double(), fc.boolean(), fc.constant({}), fc.constant([]));

describe('isApiRecord', () => {
  it('agrees with the dnsRecord schema on arbitrary values and near-records', () => {
    const nearRecord = fc.record({ id: field, name: field, type: field, content: field, ttl: field, proxied: field, comment: field, extra: field }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(nearRecord, fc.anything()), (v) => {
      expect(isApiRecord(v)).toBe(dnsRecord.safeParse(v).success);
    }), { numRuns: 5000 });
  });

  it('accepts what Cloudflare sends', () => {
    const r = { id: 'a'.repeat(32), name: 'app.example.com', type: 'A', content: '203.0.113.7', ttl: 1, proxied: false, comment: null, meta: {}, tags: [], settings: {}, created_on: '2026-01-01T00:00:00Z' };
    expect(isApiRecord(r)).toBe(true);
    expect(dnsRecord.safeParse(r).success).toBe(true);
  });
});
