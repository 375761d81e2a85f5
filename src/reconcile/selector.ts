/** Kubernetes label selectors (`a=b,c!=d,e in (f,g),h,!i`): parsed once, matched purely. */

import type { LabelSelector, Requirement } from '../model/types.js';

export type { LabelSelector };

const NAME = '[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?';
const KEY = new RegExp(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*/)?${NAME}$`);
const VALUE = new RegExp(`^(${NAME})?$`);

function checkKey(key: string): string {
  if (!KEY.test(key) || key.length > 316) throw new Error(`invalid label key "${key}"`);
  return key;
}

function checkValue(v: string): string {
  if (!VALUE.test(v)) throw new Error(`invalid label value "${v}"`);
  return v;
}

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw new Error('unbalanced ")"');
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; } else cur += ch;
  }
  if (depth !== 0) throw new Error('unbalanced "("');
  parts.push(cur);
  return parts;
}

function parseRequirement(raw: string): Requirement {
  const s = raw.trim();
  if (s === '') throw new Error('empty requirement');
  let m = /^!\s*(\S+)$/.exec(s);
  if (m) return { key: checkKey(m[1] ?? ''), op: 'absent' };
  m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(s);
  if (m) {
    const values = (m[3] ?? '').split(',').map((v) => checkValue(v.trim()));
    if (values.length === 0 || (values.length === 1 && values[0] === '')) throw new Error(`"${m[2]}" needs at least one value`);
    return { key: checkKey(m[1] ?? ''), op: m[2] === 'in' ? 'in' : 'notin', values };
  }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(s);
  if (m) return { key: checkKey(m[1] ?? ''), op: m[2] === '!=' ? 'notin' : 'in', values: [checkValue(m[3] ?? '')] };
  if (/^\S+$/.test(s) && !/[=!()]/.test(s)) return { key: checkKey(s), op: 'exists' };
  throw new Error(`cannot parse "${s}"`);
}

/** Parses a selector; throws an Error whose message names the problem. */
export function parseSelector(text: string): LabelSelector {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('empty selector');
  return { text: trimmed, requirements: splitTop(trimmed).map(parseRequirement) };
}

export function matches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case 'exists': return v !== undefined;
      case 'absent': return v === undefined;
      case 'in': return v !== undefined && r.values.includes(v);
      case 'notin': return v === undefined || !r.values.includes(v);
    }
  });
}

export function selectorKeys(selector: LabelSelector): string[] {
  return selector.requirements.map((r) => r.key);
}
