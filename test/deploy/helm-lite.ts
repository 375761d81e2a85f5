/**
 * A tiny Go-template renderer for the subset of Helm the chart uses, so the chart can be tested
 * without Helm: `{{ pipeline }}`, `{{- ... -}}` whitespace trimming, `{{/* comments *\/}}`,
 * `if`/`else`/`end`, `with`, `range` (over lists and maps, map keys sorted as in Go) with
 * `$k, $v :=`, `$v := pipeline`, variables, `$`, `define` and `include` (named templates shared
 * by every file of the chart, as Helm does), and the functions of `functions()` (Sprig semantics).
 *
 * It is stricter than Helm on purpose: an unknown action or function, or printing a value that
 * does not exist (Helm would print nothing), is an error, so a typo in a template or a template
 * outgrowing "plain" fails the tests instead of rendering quietly. Where the real `helm` binary is
 * installed, test/deploy/chart.ts renders with it and the tests compare the two.
 */

export interface RenderContext {
  readonly Values: Record<string, unknown>;
  readonly Release: { readonly Name: string; readonly Namespace: string; readonly Service: string };
  readonly Chart: { readonly Name: string; readonly Version: string; readonly AppVersion: string };
}

type TemplateNode =
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'out'; readonly pipe: string }
  | { readonly t: 'if' | 'with'; readonly pipe: string; readonly then: TemplateNode[]; readonly otherwise: TemplateNode[] }
  | { readonly t: 'range'; readonly keyVar: string | undefined; readonly valueVar: string | undefined; readonly pipe: string; readonly body: TemplateNode[] }
  | { readonly t: 'set'; readonly name: string; readonly pipe: string };

interface Scope {
  readonly dot: unknown;
  /** Variables live in a Map shared by the block that declared them (Go's scoping, flattened). */
  readonly vars: Map<string, unknown>;
}

/** Named templates (`define`), shared by every file of a chart. */
type Defines = Map<string, TemplateNode[]>;

type Token = { kind: 'text'; text: string } | { kind: 'action'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\{\{(-[ \t\r\n])?([\s\S]*?)([ \t\r\n]-)?\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] !== undefined) text = text.replace(/\s+$/, '');
    tokens.push({ kind: 'text', text });
    tokens.push({ kind: 'action', text: (m[2] ?? '').trim() });
    trimNext = m[3] !== undefined;
    last = m.index + m[0].length;
  }
  let rest = source.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  tokens.push({ kind: 'text', text: rest });
  return tokens;
}

function parse(tokens: Token[], defines: Defines): TemplateNode[] {
  let i = 0;
  // Parses until `end` / `else` / `else if <pipe>` (returned as the terminator) or the end of input.
  type End = { kind: 'end' } | { kind: 'else' } | { kind: 'elseif'; pipe: string } | { kind: 'eof' };
  // The branches of `if`/`with` after its `then` block: `else`, or `else if`, itself a chain, sharing the one `end`.
  const branches = (kw: 'if' | 'with', a: string, then: { nodes: TemplateNode[]; end: End }): TemplateNode[] => {
    if (then.end.kind === 'end') return [];
    if (then.end.kind === 'else') {
      const e = block();
      if (e.end.kind !== 'end') throw new Error(`${kw} ... else without end: {{${a}}}`);
      return e.nodes;
    }
    if (then.end.kind === 'elseif' && kw === 'if') {
      const pipe = then.end.pipe;
      const next = block();
      return [{ t: 'if', pipe, then: next.nodes, otherwise: branches('if', a, next) }];
    }
    throw new Error(`${kw} without end: {{${a}}}`);
  };
  const block = (): { nodes: TemplateNode[]; end: End } => {
    const nodes: TemplateNode[] = [];
    while (i < tokens.length) {
      const tok = tokens[i++]!;
      if (tok.kind === 'text') {
        if (tok.text !== '') nodes.push({ t: 'text', text: tok.text });
        continue;
      }
      const a = tok.text;
      if (a.startsWith('/*')) {
        if (!a.endsWith('*/')) throw new Error(`unterminated comment: {{${a}}}`);
        continue;
      }
      if (a === 'end') return { nodes, end: { kind: 'end' } };
      if (a === 'else') return { nodes, end: { kind: 'else' } };
      const elseIf = /^else\s+if\s+([\s\S]+)$/.exec(a);
      if (elseIf) return { nodes, end: { kind: 'elseif', pipe: elseIf[1]! } };
      const def = /^define\s+("(?:[^"\\]|\\.)*")$/.exec(a);
      if (def) {
        const name = JSON.parse(def[1]!) as string;
        const body = block();
        if (body.end.kind !== 'end') throw new Error(`define without end: {{${a}}}`);
        if (defines.has(name)) throw new Error(`template ${name} defined twice`);
        defines.set(name, body.nodes);
        continue;
      }
      const assign = /^(\$\w+)\s*:=\s*([\s\S]+)$/.exec(a);
      if (assign) {
        nodes.push({ t: 'set', name: assign[1]!, pipe: assign[2]! });
        continue;
      }
      const head = /^(if|with|range)\s+([\s\S]+)$/.exec(a);
      if (head) {
        const kw = head[1] as 'if' | 'with' | 'range';
        const rest = head[2]!;
        if (kw === 'range') {
          const r = /^(?:(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*)?([\s\S]+)$/.exec(rest);
          if (!r) throw new Error(`bad range: {{${a}}}`);
          const body = block();
          if (body.end.kind !== 'end') throw new Error(`range without end (or with else, unsupported): {{${a}}}`);
          const [, first, second, pipe] = r;
          // `range $v := x` binds the element; `range $k, $v := x` the key/index and the element.
          nodes.push({ t: 'range', keyVar: second === undefined ? undefined : first, valueVar: second ?? first, pipe: pipe!, body: body.nodes });
          continue;
        }
        const then = block();
        nodes.push({ t: kw, pipe: rest, then: then.nodes, otherwise: branches(kw, a, then) });
        continue;
      }
      if (/^(define|template|block|tpl|break|continue)\b/.test(a) || /^\$\w+\s*=[^=]/.test(a)) throw new Error(`unsupported action: {{${a}}}`);
      nodes.push({ t: 'out', pipe: a });
    }
    return { nodes, end: { kind: 'eof' } };
  };
  const { nodes, end } = block();
  if (end.kind !== 'eof') throw new Error(`unexpected {{${end.kind === 'elseif' ? 'else if' : end.kind}}}`);
  return nodes;
}

/** Go's notion of "empty", used by `if`, `with`, `not`, `default`. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Sprig's strval: fmt's %v for the scalars values.yaml can hold. */
function strval(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<nil>';
  throw new Error(`cannot turn ${JSON.stringify(v)} into a string`);
}

type Fn = (...args: unknown[]) => unknown;

/** The error `fail` and `required` raise: Helm prints its message as the reason the chart does not render. */
export class TemplateFailure extends Error {}

const num = (v: unknown, fn: string): number => {
  if (typeof v === 'number') return v;
  throw new Error(`${fn}: ${JSON.stringify(v)} is not a number`);
};

/** Sprig's toInt (`int`): numbers truncated, numeric strings parsed, anything else 0. */
function toInt(v: unknown): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Math.trunc(Number(v));
  return 0;
}

function functions(toYaml: (v: unknown) => string, include: (name: string, dot: unknown) => string): Record<string, Fn> {
  const indent = (n: unknown, s: unknown) => {
    const pad = ' '.repeat(Number(n));
    return pad + strval(s).replaceAll('\n', `\n${pad}`);
  };
  return {
    quote: (...args) => args.filter((a) => a !== null && a !== undefined).map((a) => JSON.stringify(strval(a))).join(' '),
    toString: (v: unknown) => strval(v),
    toYaml: (v) => toYaml(v).replace(/\n$/, ''),
    indent,
    nindent: (n, s) => `\n${indent(n, s)}`,
    default: (d, ...given) => (given.length > 0 && truthy(given[0]) ? given[0] : d),
    required: (msg, v) => {
      if (v === null || v === undefined || v === '') throw new TemplateFailure(strval(msg));
      return v;
    },
    lower: (s) => strval(s).toLowerCase(),
    trim: (s) => strval(s).trim(),
    list: (...args) => args,
    has: (needle, haystack) => Array.isArray(haystack) && haystack.some((x) => x === needle),
    not: (v) => !truthy(v),
    eq: (a, b) => a === b,
    ne: (a, b) => a !== b,
    and: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
    or: (...args) => args.find((a) => truthy(a)) ?? args[args.length - 1],
    empty: (v) => !truthy(v),
    int: toInt,
    gt: (a, b) => num(a, 'gt') > num(b, 'gt'),
    hasKey: (m, k) => typeof m === 'object' && m !== null && !Array.isArray(m) && Object.hasOwn(m, strval(k)),
    keys: (m) => Object.keys(m as object),
    contains: (sub, s) => strval(s).includes(strval(sub)),
    trunc: (n, s) => strval(s).slice(0, num(n, 'trunc')),
    trimSuffix: (suffix, s) => (strval(s).endsWith(strval(suffix)) && strval(suffix) !== '' ? strval(s).slice(0, -strval(suffix).length) : strval(s)),
    printf: (format, ...args) => {
      let i = 0;
      return strval(format).replace(/%[sdv%]/g, (m) => (m === '%%' ? '%' : strval(args[i++])));
    },
    include: (name, dot) => include(strval(name), dot),
    fail: (msg) => {
      throw new TemplateFailure(strval(msg));
    },
  };
}

/** Splits on `sep` outside quotes and parentheses. */
function splitTop(s: string, sep: (c: string) => boolean): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      cur += c;
      if (c === '\\') cur += s[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (depth === 0 && sep(c)) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quoted || depth !== 0) throw new Error(`unbalanced quotes or parentheses: ${s}`);
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function field(base: unknown, path: string, expr: string): unknown {
  let cur = base;
  for (const key of path.split('.').filter((k) => k !== '')) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur)) {
      throw new Error(`nil pointer evaluating ${expr} (at .${key})`);
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function evalArg(arg: string, scope: Scope, fns: Record<string, Fn>): unknown {
  if (arg.startsWith('(') && arg.endsWith(')')) return evalPipe(arg.slice(1, -1), scope, fns);
  if (arg.startsWith('"')) return JSON.parse(arg) as string;
  if (/^-?\d+(\.\d+)?$/.test(arg)) return Number(arg);
  if (arg === 'true' || arg === 'false') return arg === 'true';
  if (arg === 'nil') return null;
  if (arg === '.') return scope.dot;
  if (arg.startsWith('.')) return field(scope.dot, arg, arg);
  if (arg.startsWith('$')) {
    const m = /^(\$\w*)(\..*)?$/.exec(arg);
    if (!m) throw new Error(`bad variable: ${arg}`);
    if (!scope.vars.has(m[1]!)) throw new Error(`undefined variable ${m[1]}`);
    return field(scope.vars.get(m[1]!), m[2] ?? '', arg);
  }
  throw new Error(`cannot evaluate ${arg}`);
}

function evalPipe(pipe: string, scope: Scope, fns: Record<string, Fn>): unknown {
  let piped: { value: unknown } | undefined;
  for (const command of splitTop(pipe, (c) => c === '|')) {
    const words = splitTop(command, (c) => /\s/.test(c));
    const [head, ...rest] = words;
    if (head === undefined) throw new Error(`empty command in ${pipe}`);
    if (/^[A-Za-z]\w*$/.test(head) && !['true', 'false', 'nil'].includes(head)) {
      const fn = fns[head];
      if (!fn) throw new Error(`unsupported function ${head}`);
      const args = rest.map((w) => evalArg(w, scope, fns));
      piped = { value: fn(...args, ...(piped ? [piped.value] : [])) };
    } else {
      if (rest.length > 0 || piped) throw new Error(`${head} is not a function: ${command}`);
      piped = { value: evalArg(head, scope, fns) };
    }
  }
  if (!piped) throw new Error('empty pipeline');
  return piped.value;
}

function print(v: unknown, pipe: string): string {
  if (v === undefined) throw new Error(`{{ ${pipe} }} has no value`);
  if (v === null) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`{{ ${pipe} }} prints a ${Array.isArray(v) ? 'list' : 'map'}: use toYaml`);
}

function exec(nodes: readonly TemplateNode[], scope: Scope, fns: Record<string, Fn>): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.text;
    else if (n.t === 'out') out += print(evalPipe(n.pipe, scope, fns), n.pipe);
    else if (n.t === 'set') scope.vars.set(n.name, evalPipe(n.pipe, scope, fns));
    else if (n.t === 'if') out += exec(truthy(evalPipe(n.pipe, scope, fns)) ? n.then : n.otherwise, { ...scope, vars: new Map(scope.vars) }, fns);
    else if (n.t === 'with') {
      const v = evalPipe(n.pipe, scope, fns);
      out += truthy(v) ? exec(n.then, { dot: v, vars: new Map(scope.vars) }, fns) : exec(n.otherwise, { ...scope, vars: new Map(scope.vars) }, fns);
    } else if (n.t === 'range') {
      const v = evalPipe(n.pipe, scope, fns);
      let entries: Array<[unknown, unknown]>;
      if (v === null || v === undefined) entries = [];
      else if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
      else if (typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
      else throw new Error(`range over ${typeof v}: ${n.pipe}`);
      for (const [k, x] of entries) {
        const vars = new Map(scope.vars);
        if (n.keyVar) vars.set(n.keyVar, k);
        if (n.valueVar) vars.set(n.valueVar, x);
        out += exec(n.body, { dot: x, vars }, fns);
      }
    }
  }
  return out;
}

/**
 * Renders the files of a chart's templates/ folder (name -> source) as Helm does: named
 * templates are collected from every file first, files whose name starts with `_` print nothing.
 * `toYaml` is the YAML serializer Sprig's toYaml stands for. Returns name -> rendered text.
 */
export function renderFiles(files: Readonly<Record<string, string>>, ctx: RenderContext, toYaml: (v: unknown) => string): Record<string, string> {
  const defines: Defines = new Map();
  const parsed = Object.entries(files).map(([name, source]) => [name, parse(tokenize(source), defines)] as const);
  const include = (name: string, dot: unknown): string => {
    const body = defines.get(name);
    if (!body) throw new Error(`no template "${name}"`);
    return exec(body, { dot, vars: new Map([['$', dot]]) }, fns);
  };
  const fns = functions(toYaml, include);
  const out: Record<string, string> = {};
  for (const [name, nodes] of parsed) {
    if (name.split('/').pop()!.startsWith('_')) continue;
    out[name] = exec(nodes, { dot: ctx, vars: new Map([['$', ctx]]) }, fns);
  }
  return out;
}

/** Renders one template on its own (no named templates from other files). */
export function renderTemplate(source: string, ctx: RenderContext, toYaml: (v: unknown) => string): string {
  return renderFiles({ 'template.yaml': source }, ctx, toYaml)['template.yaml']!;
}
