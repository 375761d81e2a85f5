import { describe, expect, it } from 'vitest';
import { matches, parseSelector } from '../../src/reconcile/selector.js';

describe('label selectors', () => {
  const labels = { 'node-role.kubernetes.io/ingress': '', pool: 'edge', zone: 'a' };
  it.each([
    ['pool=edge', true], ['pool==edge', true], ['pool!=edge', false], ['pool!=core', true],
    ['pool in (edge, core)', true], ['pool notin (edge)', false], ['missing notin (x)', true],
    ['node-role.kubernetes.io/ingress', true], ['!node-role.kubernetes.io/ingress', false], ['!gpu', true],
    ['pool=edge,zone=a', true], ['pool=edge,zone=b', false], ['zone in (a,b),pool', true],
    ['node-role.kubernetes.io/ingress=', true],
  ])('%s -> %s', (text, want) => {
    expect(matches(parseSelector(text), labels)).toBe(want);
  });

  it.each([
    ['', 'empty selector'], ['pool in ()', 'needs at least one value'], ['pool in (a', 'unbalanced'],
    ['a=b)', 'unbalanced'], ['bad key=x', 'cannot parse'], ['-x=y', 'invalid label key'], ['x=-y-', 'invalid label value'],
    ['a,,b', 'empty requirement'], ['=x', 'cannot parse'],
  ])('rejects %j (%s)', (text, problem) => {
    expect(() => parseSelector(text)).toThrow(problem);
  });
});
