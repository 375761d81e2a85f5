import { describe, expect, it } from 'vitest';
import { describeErrors, errorCodes } from '../../src/cloudflare/errors.js';
import { parseList, parseRateLimit, retryAfterMs } from '../../src/cloudflare/ratelimit.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const parse = (h: Record<string, string>) => parseRateLimit(new Headers(h), NOW);

describe('Cloudflare rate-limit headers', () => {
  it.each([
    ['the documented example', { ratelimit: '"default";r=1195;t=297', 'ratelimit-policy': '"default";q=1200;w=300' }, { limit: 1200, remaining: 1195, resetSeconds: 297 }],
    ['unquoted (token) names and spaces', { ratelimit: 'default; r=5; t=30', 'ratelimit-policy': 'default;q=10;w=60' }, { limit: 10, remaining: 5, resetSeconds: 30 }],
    ['the tightest of several limits, with its own policy', {
      ratelimit: '"burst";r=50;t=30, "default";r=3;t=137',
      'ratelimit-policy': '"burst";q=100;w=60, "default";q=1200;w=300',
    }, { limit: 1200, remaining: 3, resetSeconds: 137 }],
    ['a lone policy with another name', { ratelimit: '"a";r=1;t=2', 'ratelimit-policy': '"b";q=9;w=60' }, { limit: 9, remaining: 1, resetSeconds: 2 }],
    ['quoted names holding separators', { ratelimit: '"x,y;z";r=4;t=5', 'ratelimit-policy': '"x,y;z";q=6;w=7' }, { limit: 6, remaining: 4, resetSeconds: 5 }],
    ['X-RateLimit-* with an RFC 1123 reset', {
      'x-ratelimit-limit': '1200', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'Thu, 01 Jan 2026 00:01:40 GMT',
    }, { limit: 1200, remaining: 0, resetSeconds: 100 }],
    ['X-RateLimit-* without a reset but with Retry-After', {
      'x-ratelimit-limit': '1200', 'x-ratelimit-remaining': '0', 'retry-after': '42',
    }, { limit: 1200, remaining: 0, resetSeconds: 42 }],
    ['RateLimit-Limit/-Remaining/-Reset of earlier drafts', {
      'ratelimit-limit': '100', 'ratelimit-remaining': '7', 'ratelimit-reset': '12',
    }, { limit: 100, remaining: 7, resetSeconds: 12 }],
  ])('reads %s', (_name, headers, expected) => {
    expect(parse(headers)).toEqual(expected);
  });

  it.each([
    ['no headers', {}],
    ['a limit without a policy', { ratelimit: '"default";r=5;t=30' }],
    ['negative or fractional numbers', { ratelimit: '"default";r=-5;t=3.5', 'ratelimit-policy': '"default";q=10;w=60' }],
    ['numbers too large to be true', { ratelimit: '"default";r=99999999999;t=1', 'ratelimit-policy': '"default";q=10;w=60' }],
    ['an item without name', { ratelimit: ';r=1;t=2', 'ratelimit-policy': ';q=10' }],
    ['a header longer than 1 KiB', { ratelimit: `"${'x'.repeat(1100)}";r=1;t=2`, 'ratelimit-policy': '"default";q=10;w=60' }],
    ['X-RateLimit-* without any reset', { 'x-ratelimit-limit': '1200', 'x-ratelimit-remaining': '5' }],
    ['garbage', { ratelimit: 'limit=100, remaining=0, reset=42', 'ratelimit-policy': '100;w=60' }],
  ])('ignores %s', (_name, headers) => {
    expect(parse(headers)).toBeUndefined();
  });

  it('keeps the parameters of each list item, dropping values that are not whole numbers', () => {
    expect(parseList('"a";r=1;t=x;flag, b;q=2').map((i) => [i.name, Object.fromEntries(i.params)])).toEqual([
      ['a', { r: 1 }],
      ['b', { q: 2 }],
    ]);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), NOW)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), NOW)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers(), NOW)).toBeUndefined();
  });
});

describe('Cloudflare error lists', () => {
  const errors = [{ code: 1004, message: 'DNS Validation Error', error_chain: [{ code: 9005, message: 'Content for A record must be a valid IPv4 address.' }] }];

  it('describe the codes, messages and chained errors', () => {
    expect(describeErrors(errors)).toBe('1004: DNS Validation Error [9005: Content for A record must be a valid IPv4 address.]');
    expect(describeErrors([{ code: 1, message: 'x'.repeat(500) }])).toHaveLength('1: '.length + 201);
  });

  it('list the top-level codes first, then the chained ones', () => {
    expect(errorCodes([...errors, { code: 81058, message: 'An identical record already exists.' }])).toEqual([1004, 81058, 9005]);
  });
});
