/**
 * charts/epictetus/values.schema.json against the service's settings table: its derived parts are
 * what test/deploy/values-schema.ts builds from src/config/settings.ts (`-u` rewrites them), and
 * each setting's schema accepts exactly what the setting's parser accepts, on a corpus that holds
 * every number and word of the setting's `accepts` text and the boundaries of its pattern.
 */
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { bool as boolParser, intIn as intParser } from '../../src/config/parsers.js';
import { SETTINGS, type Setting } from '../../src/config/settings.js';
import { CHART, defaultValues, valuesSchema } from './chart.js';
import { derive, integerRange, SETTING_SCHEMAS, settingJsonSchema, TOKEN_SCHEMA, withDerived, type JsonObject } from './values-schema.js';
import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new Map<string, ReturnType<Ajv['compile']>>();
const accepts = (schema: JsonObject, value: unknown): boolean => {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) compiled.set(key, validate = ajv.compile(schema));
  return validate(value) === true;
};

const settingOf = (name: string): Setting => {
  const s = (SETTINGS as readonly Setting[]).find((x) => x.env === name);
  if (!s) throw new Error(`no setting ${name}`);
  return s;
};
/** As loadConfig reads one variable: empty means the default. */
const serviceAccepts = (s: Setting, raw: string): boolean => {
  const given = raw.trim() === '' ? s.default : raw;
  return given !== undefined && s.parse.safeParse(given).success;
};

const configKeys = (): string[] => Object.keys(defaultValues().config as object);

/** Strings worth trying on any setting: numbers around the usual bounds, words of every kind of setting. */
const CORPUS: readonly string[] = [
  '', '  ', 'true', 'FALSE', ' yes ', 'no', 'On', 'off', 'maybe', 'truee',
  '0', '1', '-1', '-0', '00', '007', '2', '5', '10', '30', ' 30 ', '3 0', '59', '60', '61', '110', '299', '300', '301',
  '1000', '1001', '3600', '3601', '65535', '65536', '86400', '86401', '99999999999999999999',
  '0.5', '0.25', '1.0', '1.5', '.5', '5.', '1e3', '0x10', '+5', '300.0', '300.01',
  'abc', 'a b', 'A', 'aaaa', 'AAAA', 'A,AAAA', ' a , aaaa ', 'A,MX', 'MX', ',', 'A,,AAAA,',
  'both', 'ANY', 'either', 'critical', 'All', 'none', 'custom:', 'custom:a', 'custom: example.com/k , b', 'custom:bad key', 'custom:-x',
  'DEBUG', 'warn', 'Warning', 'Error', 'trace', 'console', 'JSON', 'yaml',
  'my-cluster', 'cluster.prod_1', '-bad', '_bad', 'x'.repeat(63), 'x'.repeat(64),
  'app.example.com', 'APP.Example.com.', 'app.example.com,www.example.com', ' app.example.com , ,www.example.com ', '*.example.com',
  'a.*.example.com', 'bad_name.example.com', 'localhost', 'app..example.com', '-app.example.com', 'app-.example.com',
  'app.example.123', 'app.example.1a', 'app.example.com..', `${'a'.repeat(63)}.com`, `${'a'.repeat(64)}.com`,
  '127.0.0.1', '0.0.0.0', '::', '::1', 'fe80::1', '256.1.1.1', '1.2.3',
  'role=ingress', 'role = ingress', 'zone in (a,b)', 'zone notin (a)', '!spot', 'key!=v', 'key==v', 'a=b,c', 'zone in ()',
  'a=b,', '=x', 'example.com/role=ingress', 'Example.com/role', 'a=', 'a in (b) ,c notin (d,e)',
  'http://127.0.0.1:8080', 'https://api.cloudflare.com/client/v4', 'HTTPS://x.example', 'ftp://x', 'not a url', 'http//x',
  '0123456789abcdef0123456789abcdef', '0123456789ABCDEF0123456789ABCDEF', '0123456789abcdef0123456789abcde',
  '0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210', '0123456789abcdef0123456789abcdef fedcba9876543210fedcba9876543210',
  'kube-system', 'Kube-System', 'my.lease', 'my_lease',
  'example.com/public-ip', 'flannel.alpha.coreos.com/public-ip', 'bad key', '/x', '/etc/kubeconfig',
];

/** Numbers and words of a setting's `accepts` text, and its numbers' neighbours. */
function fromAccepts(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\d+(\.\d+)?/g)) {
    out.add(m[0]);
    if (m[1] === undefined) for (const d of [-1, 1]) out.add(String(Number(m[0]) + d));
  }
  for (const word of text.split(/\s+/)) {
    const w = word.replace(/^[("']+|[)"',;.:]+$/g, '');
    if (w !== '') out.add(w);
  }
  return [...out];
}

/** YAML booleans and numbers: the chart prints them as Go prints a float64 or a bool. */
const TYPED: readonly (number | boolean)[] = [true, false, 0, 1, 2, 30, 59, 60, 300, 3600, 65535, 86400, 86401, 0.5, 1.5, -1];

describe('values.schema.json', () => {
  it('its derived parts are what the settings table gives (`npx vitest run test/deploy -u` rewrites them)', async () => {
    const schema = valuesSchema() as JsonObject;
    const expected = withDerived(schema, derive(SETTINGS as readonly Setting[], configKeys()));
    await expect(`${JSON.stringify(expected, null, 2)}\n`).toMatchFileSnapshot(join(CHART, 'values.schema.json'));
  });

  it('has a schema for every setting values.yaml can set', () => {
    expect(() => derive(SETTINGS as readonly Setting[], configKeys())).not.toThrow();
    expect(Object.keys(SETTING_SCHEMAS).sort(), 'no schema for a setting that is gone').toEqual(configKeys().sort());
  });

  it('accepts exactly the strings each setting accepts', () => {
    const wrong: string[] = [];
    for (const name of configKeys()) {
      const setting = settingOf(name);
      const own = SETTING_SCHEMAS[name]!;
      const schema = settingJsonSchema(setting, own);
      const probes = new Set([...CORPUS, ...fromAccepts(setting.accepts), ...own.probes, setting.default ?? '', ` ${setting.default ?? ''} `]);
      for (const p of probes) {
        const service = serviceAccepts(setting, p);
        if (accepts(schema, p) !== service) wrong.push(`${name}=${JSON.stringify(p)}: the service ${service ? 'accepts' : 'refuses'} it, the schema does not`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('accepts a YAML boolean or number only where the service accepts how the chart prints it, and always for boolean and numeric settings', () => {
    const wrong: string[] = [];
    for (const name of configKeys()) {
      const setting = settingOf(name);
      const own = SETTING_SCHEMAS[name]!;
      const schema = settingJsonSchema(setting, own);
      for (const v of TYPED) {
        const service = serviceAccepts(setting, String(v));
        const chart = accepts(schema, v);
        if (chart && !service) wrong.push(`${name}: ${v} passes the schema, the service refuses "${v}"`);
        if (own.typed.length > 0 && service && !chart) wrong.push(`${name}: the service accepts "${v}", the schema refuses ${v}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses DNS_TTL=30 and 59 but takes 1, 60 and 86400, as strings or numbers', () => {
    const schema = settingJsonSchema(settingOf('DNS_TTL'), SETTING_SCHEMAS.DNS_TTL!);
    expect([30, '30', 59, '59', 0, '86401'].map((v) => accepts(schema, v))).toEqual([false, false, false, false, false, false]);
    expect([1, '1', 60, ' 60 ', 86400, '', '0060'].map((v) => accepts(schema, v))).toEqual([true, true, true, true, true, true, true]);
  });

  it('checks cloudflare.apiToken as the service checks CLOUDFLARE_API_TOKEN', () => {
    const { apiToken } = derive(SETTINGS as readonly Setting[], configKeys());
    const token = settingOf('CLOUDFLARE_API_TOKEN');
    const wrong = [...CORPUS, ...TOKEN_SCHEMA.probes, fakeToken('values'), 'REPLACE ME: a token']
      .filter((p) => accepts(apiToken, p) !== (p.trim() === '' || token.parse.safeParse(p).success));
    expect(wrong).toEqual([]);
  });

  it('its definitions are what bool(), intIn() and the hostname list read as false, true, 0 and nothing', () => {
    const defs = derive(SETTINGS as readonly Setting[], configKeys()).definitions;
    const def = (n: string) => defs[n] as JsonObject;
    const b = boolParser();
    const hostnames = settingOf('DNS_HOSTNAMES');
    const wrong: string[] = [];
    for (const v of [...CORPUS, ...TYPED]) {
      const s = String(v);
      const parsed = b.safeParse(s);
      if (accepts(def('booleanTrue'), v) !== (parsed.success && parsed.data)) wrong.push(`booleanTrue ${JSON.stringify(v)}`);
      if (accepts(def('booleanFalse'), v) !== (parsed.success && !parsed.data)) wrong.push(`booleanFalse ${JSON.stringify(v)}`);
      const n = intParser(-1000, 1000).safeParse(s);
      if (accepts(def('zero'), v) !== (n.success && n.data === 0)) wrong.push(`zero ${JSON.stringify(v)}`);
      if (typeof v === 'string') {
        const h = hostnames.parse.safeParse(s);
        if (accepts(def('noHostname'), v) !== (h.success && Array.isArray(h.data) && h.data.length === 0)) wrong.push(`noHostname ${JSON.stringify(v)}`);
        if (accepts(def('empty'), v) !== (s.trim() === '')) wrong.push(`empty ${JSON.stringify(v)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('integerRange matches exactly the whole numbers of its range', () => {
    const ranges: Array<[number, number]> = [[0, 0], [0, 9], [1, 1], [0, 20], [5, 86400], [60, 86400], [1, 3600], [0, 65535], [7, 7], [19, 201], [100, 999], [99, 1000], [123, 4567]];
    for (const [lo, hi] of ranges) {
      const re = new RegExp(`^${integerRange(lo, hi)}$`, 'u');
      const wrong: number[] = [];
      for (let n = 0; n <= Math.min(hi * 2 + 10, 100_000); n++) if (re.test(String(n)) !== (n >= lo && n <= hi)) wrong.push(n);
      expect(wrong, `${lo}..${hi}: ${re.source}`).toEqual([]);
    }
  });
});
