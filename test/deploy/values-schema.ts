/**
 * The parts of charts/epictetus/values.schema.json that come from the service's settings table
 * (src/config/settings.ts): `properties.config` (one property per setting, refusing what the
 * setting's parser refuses), `properties.cloudflare.properties.apiToken` and `definitions` (the
 * boolean and empty values the chart's cross-setting rules refer to).
 *
 * A zod parser cannot be turned into a JSON schema mechanically (transforms and refinements are
 * code), so each setting's accepted values are written below as a regular expression, and the
 * tests (values-schema.test.ts) prove each against the setting's own parser on a corpus of values
 * that includes every number and word of its `accepts` text and the boundaries of its pattern.
 * A setting missing here fails the tests with a message saying what to add; then
 * `npx vitest run test/deploy -u` rewrites values.schema.json.
 *
 * Patterns are written for both regex engines that read them: Go's RE2 (Helm) and ECMAScript with
 * the `u` flag (Ajv): no look-around, no back-references, no inline flags.
 */
import type { Setting } from '../../src/config/settings.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** What one setting accepts: a pattern for the trimmed string, and the YAML scalars that print as an accepted string. */
export interface SettingSchema {
  /** A regular expression (no anchors) for the accepted values; surrounding whitespace is allowed when `trims`. */
  readonly pattern: string;
  /** The parser trims the value before reading it. */
  readonly trims: boolean;
  /** YAML booleans and numbers the chart accepts (it prints them as strings): JSON schemas. */
  readonly typed: readonly JsonObject[];
  /** Values worth probing besides the common corpus: the boundaries of the pattern. */
  readonly probes: readonly string[];
}

// ---- Regular-expression builders.

/** A word in any letter case: `[tT][rR][uU][eE]`. */
export const anyCase = (word: string): string =>
  [...word].map((c) => (c.toLowerCase() !== c.toUpperCase() ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');

const alt = (parts: readonly string[]): string => (parts.length === 1 ? parts[0]! : `(${parts.join('|')})`);

/** Same-length decimal strings lo..hi (lo <= hi), as a regular expression. */
function sameLength(lo: string, hi: string): string {
  if (lo === hi) return lo;
  if (lo.length === 1) return `[${lo}-${hi}]`;
  if (lo[0] === hi[0]) return lo[0]! + sameLength(lo.slice(1), hi.slice(1));
  const rest = lo.length - 1;
  const zeros = '0'.repeat(rest);
  const nines = '9'.repeat(rest);
  const parts: string[] = [];
  let first = Number(lo[0]);
  let last = Number(hi[0]);
  if (lo.slice(1) !== zeros) {
    parts.push(lo[0]! + sameLength(lo.slice(1), nines));
    first++;
  }
  const tail = hi.slice(1) !== nines ? hi[0]! + sameLength(zeros, hi.slice(1)) : undefined;
  if (tail !== undefined) last--;
  if (first <= last) parts.push(`${first === last ? String(first) : `[${first}-${last}]`}[0-9]{${rest}}`);
  if (tail !== undefined) parts.push(tail);
  return alt(parts);
}

/** Whole numbers lo..hi in canonical form (no leading zeros), 0 <= lo <= hi. */
export function integerRange(lo: number, hi: number): string {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || lo > hi) throw new Error(`integerRange(${lo}, ${hi})`);
  const parts: string[] = [];
  for (let digits = String(lo).length; digits <= String(hi).length; digits++) {
    const from = Math.max(lo, digits === 1 ? 0 : 10 ** (digits - 1));
    const to = Math.min(hi, 10 ** digits - 1);
    if (from <= to) parts.push(sameLength(String(from), String(to)));
  }
  return alt(parts);
}

/** A comma-separated list as the service splits one: items trimmed, empty items skipped. */
const list = (item: string, atLeastOne: boolean): string => {
  const items = `${item}(\\s*,[\\s,]*${item})*`;
  return atLeastOne ? `[\\s,]*${items}[\\s,]*` : `[\\s,]*(${items}[\\s,]*)?`;
};

// ---- What the common parsers of src/config/parsers.ts accept.

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** bool(): true/false, 1/0, yes/no, on/off in any case. */
export const bool = (): SettingSchema => ({
  pattern: alt([...TRUE_WORDS, ...FALSE_WORDS].map(anyCase)), trims: true,
  typed: [{ type: 'boolean' }, { enum: [0, 1] }], probes: [],
});

/** intIn(lo, hi): an optional minus sign and digits (leading zeros allowed) for a whole number in lo..hi. */
export function intIn(lo: number, hi: number): SettingSchema {
  return {
    pattern: alt([`0*${integerRange(lo, hi)}`, ...(lo === 0 ? ['-0+'] : [])]), trims: true,
    typed: [{ type: 'integer', minimum: lo, maximum: hi }],
    probes: [lo - 1, lo, hi, hi + 1].filter((n) => n >= 0).map(String),
  };
}

/** Several whole-number ranges (ttl(): 1, or 60..86400). */
export function intsIn(ranges: ReadonlyArray<readonly [number, number]>): SettingSchema {
  const each = ranges.map(([lo, hi]) => intIn(lo, hi));
  return {
    pattern: alt(each.map((s) => s.pattern)), trims: true,
    typed: each.flatMap((s) => s.typed), probes: each.flatMap((s) => s.probes),
  };
}

/** numberIn(lo, hi) with whole bounds: digits, optionally a dot and digits, for a number in lo..hi. */
export function numberIn(lo: number, hi: number): SettingSchema {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo >= hi) throw new Error(`numberIn(${lo}, ${hi}): whole bounds, lo < hi`);
  return {
    pattern: alt([`0*${integerRange(lo, hi - 1)}(\\.[0-9]+)?`, `0*${hi}(\\.0+)?`]), trims: true,
    typed: [{ type: 'number', minimum: lo, maximum: hi }],
    probes: [`${hi - 1}.5`, `${hi}.0`, `${hi}.5`, `${lo}.5`, ...(lo > 0 ? [`${lo - 1}.5`] : [])],
  };
}

/** One of these words, in any case (the parser lower- or upper-cases before comparing). */
export const oneOf = (words: readonly string[]): SettingSchema => ({
  pattern: alt(words.map(anyCase)), trims: true, typed: [],
  probes: words.flatMap((w) => [w, w.toUpperCase(), `${w}x`]),
});

/** A string matching `pattern` (after trimming when `trims`). */
export const matching = (pattern: string, trims = true, probes: readonly string[] = []): SettingSchema => ({ pattern, trims, typed: [], probes });

/** Any string (the parser is text()). */
export const anyText = (): SettingSchema => ({ pattern: '[\\s\\S]*', trims: false, typed: [], probes: [] });

// ---- Names the service checks.

const HEX32 = '[0-9a-fA-F]{32}';
/** A DNS label: letters, digits and inner hyphens, at most 63. */
const LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
/** The last label of a hostname: a label that is not all digits (its length is not checked here). */
const TOP_LABEL = '([a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?|[0-9]+[a-zA-Z]|[0-9]+[a-zA-Z-][a-zA-Z0-9-]*[a-zA-Z0-9])';
/** src/reconcile/hostnames.ts: two labels or more, the first may be `*`, one trailing dot allowed (253 characters: not checked). */
const HOSTNAME = `(\\*|${LABEL})\\.(${LABEL}\\.)*${TOP_LABEL}\\.?`;
/** A qualified name (label keys and values; src/reconcile/selector.ts). */
const NAME = '[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?';
const LOWER_LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const LABEL_KEY = `(${LOWER_LABEL}(\\.${LOWER_LABEL})*/)?${NAME}`;
/** Requirements of a label selector: `!k`, `k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`. */
const SELECTOR_VALUES = `\\(\\s*(${NAME}\\s*|(${NAME})?\\s*(,\\s*(${NAME})?\\s*)+)\\)`;
const REQUIREMENT = `(!\\s*${LABEL_KEY}|${LABEL_KEY}(\\s*(=|==|!=)\\s*(${NAME})?|\\s+(in|notin)\\s*${SELECTOR_VALUES})?)`;
const TAINT_KEY = '([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?';
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = `(${OCTET}\\.){3}${OCTET}`;
/** A TCP port, 1–65535 (leading zeros aside). */
const PORT = integerRange(1, 65535);
/** IPv6, loosely: hexadecimal groups and colons, an IPv4 tail, a zone (the service checks it exactly). */
const IPV6 = '[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[0-9A-Za-z._~-]+)?';

/**
 * What each setting accepts, keyed by its environment variable. CLOUDFLARE_API_TOKEN and
 * CLOUDFLARE_API_TOKEN_FILE come from a Secret, not from config:, and are not here.
 */
export const SETTING_SCHEMAS: Readonly<Record<string, SettingSchema>> = {
  CLOUDFLARE_ZONE_ID: matching(HEX32),
  CLOUDFLARE_ZONE_IDS: matching(list(HEX32, false)),
  DNS_HOSTNAMES: matching(list(HOSTNAME, false)),
  DNS_RECORD_TYPES: matching(list(alt([anyCase('A'), anyCase('AAAA')]), true)),
  WATCH_SERVICES: bool(),
  CA_TAINT_MODE: oneOf(['both', 'any']),
  KARPENTER_AWARE: bool(),
  REMOVE_ON_NOT_READY: bool(),
  REMOVE_ON_UNREACHABLE: bool(),
  NOT_READY_GRACE_SECONDS: intIn(0, 86400),
  UNHEALTHY_NODE_TAINTS: matching(alt([...['critical', 'all', 'none'].map(anyCase), `${anyCase('custom')}:${list(TAINT_KEY, true)}`]), true,
    ['custom:', 'custom:,', 'CUSTOM:a', 'custom:a,,b', 'custom:-a']),
  NODE_SELECTOR: matching(`${REQUIREMENT}(\\s*,\\s*${REQUIREMENT})*`, true,
    ['a in (x,)', 'a in (,)', 'a notin(x)', 'a in x', 'a,', ',a', '!', '!a=b', 'a=b=c', 'a in (x', 'a=(b)']),
  HONOR_EXCLUDE_LB_LABEL: bool(),
  EXTERNAL_IP_LABEL: matching(`(${TAINT_KEY})?`),
  MAX_UNHEALTHY_FRACTION: numberIn(0, 1),
  DNS_SYNC_INTERVAL: intIn(1, 86400),
  DNS_TTL: intsIn([[1, 1], [60, 86400]]),
  DNS_PROXIED: bool(),
  OWNER_ID: matching('[A-Za-z0-9][A-Za-z0-9._-]{0,62}'),
  OWNER_ID_ALIASES: matching(list('[A-Za-z0-9][A-Za-z0-9._-]{0,62}', false)),
  SERVICE_CLAIM_NAMESPACES: matching(list(alt(['\\*', LOWER_LABEL]), false)),
  SERVICE_CLAIM_DOMAINS: matching(list(alt(['\\*', `(\\*\\.)?${LABEL}\\.(${LABEL}\\.)*${TOP_LABEL}\\.?`]), false), true,
    ['*.com', '*', '*.example.com', 'Example.COM.', '**.example.com']),
  POLICY: oneOf(['sync', 'upsert-only']),
  SERVE_FROM_ENDPOINTS_OF: matching(`(${LOWER_LABEL}/${LOWER_LABEL})?`, true, ['a/b', 'a', 'a/b/c', 'A/b']),
  WATCH_ENDPOINT_SLICES: bool(),
  HEALTH_PROBE: matching(alt(['', anyCase('none'), anyCase('kube-proxy'), `${anyCase('tcp')}:0*${PORT}`, `${anyCase('http')}[sS]?://:0*${PORT}(/[^\\s?#]*)?(\\?[^\\s#]*)?`]), true,
    ['tcp:0', 'tcp:65536', 'http://:80', 'https://:443/x?y=1', 'http://host:80/', 'udp:53']),
  PROBE_ADDRESS: oneOf(['internal', 'external']),
  PROBE_INTERVAL_SECONDS: matching(alt(['0+\\.[2-9][0-9]*', `0*${integerRange(1, 3599)}(\\.[0-9]+)?`, '0*3600(\\.0+)?']), true,
    ['0.2', '0.19', '0.1', '0.25', '1', '1.5', '3599.9', '3600', '3600.0', '3600.1', '3601']),
  PROBE_TIMEOUT_SECONDS: matching(alt(['0+\\.0[5-9][0-9]*', '0+\\.[1-9][0-9]*', `0*${integerRange(1, 599)}(\\.[0-9]+)?`, '0*600(\\.0+)?']), true,
    ['0.05', '0.049', '0.01', '0.5', '600', '600.0', '600.5', '601']),
  PROBE_FAILURES: intIn(1, 100),
  PROBE_SUCCESSES: intIn(1, 100),
  PROBE_HOST: matching(`(${HOSTNAME})?`, true, ['x', 'a.b', 'not a host']),
  PROBE_TLS_VERIFY: bool(),
  MIN_RECORDS_PER_HOSTNAME: intIn(0, 1000),
  LOG_LEVEL: oneOf(['DEBUG', 'INFO', 'WARNING', 'WARN', 'ERROR']),
  LOG_FORMAT: oneOf(['console', 'json']),
  HEALTH_CHECK_INTERVAL: intIn(1, 3600),
  HEALTH_BIND_ADDRESS: matching(alt([IPV4, IPV6]), true, ['1.2.3.04', '1.2.3.4.5', '::ffff:1.2.3.4', 'fe80::1%eth0', 'localhost']),
  ENABLE_HEALTH_SERVER: bool(),
  HEALTH_PORT: intIn(0, 65535),
  LIVENESS_TIMEOUT: intIn(5, 86400),
  LEADER_ELECTION: bool(),
  LEASE_NAMESPACE: matching(`(${LOWER_LABEL})?`, true, ['a'.repeat(63), 'a'.repeat(64), 'a-', 'A']),
  LEASE_NAME: matching('[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?', true, ['a'.repeat(253), 'a'.repeat(254), 'a.', 'a..b']),
  RECORD_EVENTS: bool(),
  HOLD_NODE_DELETION: bool(),
  HOLD_MARGIN_SECONDS: intIn(0, 3600),
  HOLD_MAX_SECONDS: intIn(1, 86400),
  DRY_RUN: bool(),
  K8S_CONFIG_PATH: anyText(),
  MAX_RETRIES: intIn(0, 20),
  RETRY_DELAY: numberIn(0, 300),
  CLOUDFLARE_API_BASE_URL: matching(`${anyCase('http')}[sS]?://[^\\s]+`, true, ['http://', 'https://[::1]:8443/client/v4/', 'ws://x']),
};

/** The token setting: its pattern also checks cloudflare.apiToken. */
export const TOKEN_SCHEMA: SettingSchema = matching('[A-Za-z0-9_-]{20,200}', true, ['a'.repeat(19), 'a'.repeat(20), 'a'.repeat(200), 'a'.repeat(201)]);

/** The full pattern of a string value: empty (the default) or an accepted value, with whitespace around it when the parser trims. */
export function stringPattern(s: SettingSchema, emptyMeansDefault: boolean): string {
  const ws = s.trims ? '\\s*' : '';
  return `^${ws}(${s.pattern})${emptyMeansDefault ? '?' : ''}${ws}$`;
}

/** The JSON schema of one setting's value under config:. */
export function settingJsonSchema(setting: Setting, s: SettingSchema): JsonObject {
  const str: JsonObject = { type: 'string', pattern: stringPattern(s, setting.default !== undefined) };
  const dflt = setting.default === undefined ? 'Required.' : setting.default === '' ? 'Empty is the service\'s default.' : `Empty means the service's default, ${setting.default}.`;
  return {
    description: `${setting.describe}. Accepts ${setting.accepts}. ${dflt}`,
    ...(s.typed.length === 0 ? str : { anyOf: [str, ...s.typed] }),
  };
}

/** The schemas of `definitions`: the values the chart's cross-setting rules (allOf) test for. */
export function definitions(): JsonObject {
  const words = (w: readonly string[]): JsonObject => ({ type: 'string', pattern: `^\\s*${alt(w.map(anyCase))}\\s*$` });
  return {
    booleanTrue: { description: 'A value bool() reads as true.', anyOf: [{ const: true }, { const: 1 }, words(TRUE_WORDS)] },
    booleanFalse: { description: 'A value bool() reads as false.', anyOf: [{ const: false }, { const: 0 }, words(FALSE_WORDS)] },
    empty: { description: 'An empty value: the service\'s default.', type: 'string', pattern: '^\\s*$' },
    zero: { description: 'A whole number intIn() reads as 0.', anyOf: [{ const: 0 }, { type: 'string', pattern: '^\\s*-?0+\\s*$' }] },
    noHostname: { description: 'A DNS_HOSTNAMES value that names no hostname.', type: 'string', pattern: '^[\\s,]*$' },
  };
}

export interface Derived {
  readonly config: JsonObject;
  readonly apiToken: JsonObject;
  readonly definitions: JsonObject;
}

/** The derived parts from the settings; throws naming every setting of `config` with no entry in SETTING_SCHEMAS. */
export function derive(settings: readonly Setting[], configKeys: readonly string[]): Derived {
  const byName = new Map(settings.map((s) => [s.env, s]));
  const missing = configKeys.filter((k) => byName.has(k) && SETTING_SCHEMAS[k] === undefined);
  if (missing.length > 0) {
    throw new Error(`no JSON schema for ${missing.join(', ')}: add ${missing.length > 1 ? 'them' : 'it'} to SETTING_SCHEMAS in test/deploy/values-schema.ts `
      + '(bool(), intIn(lo, hi), numberIn(lo, hi), oneOf([...]), matching(pattern)), then run `npx vitest run test/deploy -u`');
  }
  const token = byName.get('CLOUDFLARE_API_TOKEN');
  if (!token) throw new Error('no CLOUDFLARE_API_TOKEN setting');
  const properties: JsonObject = {};
  for (const key of configKeys) {
    const setting = byName.get(key);
    if (setting) properties[key] = settingJsonSchema(setting, SETTING_SCHEMAS[key]!);
  }
  return {
    config: {
      type: 'object',
      description: 'Settings of the service, keyed by environment variable name (src/config/settings.ts); CLOUDFLARE_API_TOKEN comes from cloudflare.*. Generated from the settings table by test/deploy/values-schema.ts.',
      additionalProperties: false,
      properties,
    },
    apiToken: {
      type: 'string',
      description: `The token itself (the chart then creates the Secret); empty when cloudflare.existingSecret is set. Accepts ${token.accepts.replace(/;.*$/, '')}.`,
      pattern: stringPattern(TOKEN_SCHEMA, true),
    },
    definitions: definitions(),
  };
}

/** `schema` with its derived parts replaced by `derived`, key order kept. */
export function withDerived(schema: JsonObject, derived: Derived): JsonObject {
  const props = schema.properties as JsonObject;
  const cloudflare = props.cloudflare as JsonObject;
  return {
    ...schema,
    properties: {
      ...props,
      cloudflare: { ...cloudflare, properties: { ...(cloudflare.properties as JsonObject), apiToken: derived.apiToken } },
      config: derived.config,
    },
    definitions: derived.definitions,
  };
}
