import { errors } from './status.js';

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOperator;
  values: string[];
}

export type Labels = Readonly<Record<string, string>>;
export type Matcher = (labels: Labels) => boolean;

type Token = { kind: 'id'; text: string } | { kind: 'op'; text: string };

const OPERATOR_CHARS = new Set(['=', '!', '(', ')', ',', '<', '>']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (c === ' ' || c === '\t') {
      i++;
    } else if (OPERATOR_CHARS.has(c)) {
      const two = input.slice(i, i + 2);
      const text = two === '==' || two === '!=' ? two : c;
      tokens.push({ kind: 'op', text });
      i += text.length;
    } else {
      let j = i;
      while (j < input.length && !OPERATOR_CHARS.has(input.charAt(j)) && input.charAt(j) !== ' ' && input.charAt(j) !== '\t') j++;
      tokens.push({ kind: 'id', text: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

function fail(message: string): never {
  throw errors.badRequest(`unable to parse requirement: ${message}`);
}

/** Parses a label selector the way k8s.io/apimachinery/pkg/labels.Parse does (=, ==, !=, in, notin, key, !key, <, >). */
export function parseLabelSelector(input: string): LabelRequirement[] {
  const tokens = tokenize(input);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token | undefined => tokens[pos++];

  const identifier = (what: string): string => {
    const t = next();
    if (t?.kind !== 'id') fail(`found '${t?.text ?? ''}', expected: ${what}`);
    return t.text;
  };

  while (pos < tokens.length) {
    let requirement: LabelRequirement;
    if (peek()?.text === '!') {
      next();
      requirement = { key: identifier('identifier after !'), op: '!', values: [] };
    } else {
      const key = identifier('identifier');
      const op = peek();
      if (op === undefined || op.text === ',') {
        requirement = { key, op: 'exists', values: [] };
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        if (next()?.text !== '(') fail(`expected '(' after ${op.text}`);
        const values: string[] = [];
        for (;;) {
          const t = next();
          if (t === undefined) fail("found '', expected: ',', ')'");
          if (t.text === ')') break;
          if (t.text === ',') continue;
          if (t.kind !== 'id') fail(`found '${t.text}', expected: ',', ')' or identifier`);
          values.push(t.text);
        }
        if (op.text === 'in' && values.length === 0) fail(`for 'in', 'notin' operators, values set can't be empty`);
        requirement = { key, op: op.text, values };
      } else if (op.text === '=' || op.text === '==' || op.text === '!=' || op.text === '<' || op.text === '>') {
        next();
        const t = peek();
        const value = t?.kind === 'id' ? (next(), t.text) : '';
        const kinds: Record<string, LabelOperator> = { '=': '=', '==': '=', '!=': '!=', '<': 'lt', '>': 'gt' };
        requirement = { key, op: kinds[op.text] ?? '=', values: [value] };
        if ((requirement.op === 'lt' || requirement.op === 'gt') && !/^-?\d+$/.test(value)) {
          fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
        }
      } else {
        fail(`found '${op.text}', expected: =, !=, ==, in, notin`);
      }
    }
    validateKey(requirement.key);
    requirements.push(requirement);
    const sep = next();
    if (sep !== undefined && sep.text !== ',') fail(`found '${sep.text}', expected: ','`);
  }
  return requirements;
}

function validateKey(key: string): void {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (!/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(name) || name.length > 63) {
    fail(`key: Invalid value: ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}

export function matchesRequirement(r: LabelRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(value ?? '');
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value ?? '')) return false;
      const a = Number(value);
      const b = Number(r.values[0]);
      return r.op === 'gt' ? a > b : a < b;
    }
  }
}

export function labelMatcher(selector: string | undefined): Matcher {
  const requirements = parseLabelSelector(selector ?? '');
  return (labels) => requirements.every((r) => matchesRequirement(r, labels));
}

// ---- field selectors (k8s.io/apimachinery/pkg/fields) ----

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Splits on unescaped commas; values may escape `\`, `,` and `=` with a backslash. */
export function parseFieldSelector(input: string): FieldRequirement[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (c === '\\' && i + 1 < input.length) {
      current += c + input.charAt(++i);
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts
    .filter((p) => p.trim() !== '')
    .map((part) => {
      const m = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(part.trim());
      if (!m) throw errors.badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
      const op = m[2] === '!=' ? '!=' : '=';
      return { field: m[1] ?? '', op, value: (m[3] ?? '').replace(/\\(.)/g, '$1') };
    });
}
