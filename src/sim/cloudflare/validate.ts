import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { dnsValidation, type CfError } from './errors.js';

/** The record fields a client can set; everything else in a record is derived. */
export interface RecordFields {
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied: boolean;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
}

export interface ValidationLimits {
  commentMaxLength: number;
}

const SUPPORTED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'TXT']);
const PROXIABLE_TYPES = new Set(['A', 'AAAA', 'CNAME']);
const LABEL = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;
const MAX_TXT_WIRE_BYTES = 4096;

export const isProxiable = (type: string): boolean => PROXIABLE_TYPES.has(type);

const invalidName = (): CfError => dnsValidation(9000, 'DNS name is invalid.');

/** Lower-cased, Punycode, without a trailing dot; `undefined` when not a valid host name. */
function canonicalHost(raw: string): string | undefined {
  const trimmed = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (ascii === '' || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  const valid = labels.every((label, i) => LABEL.test(label) || (i === 0 && label === '*'));
  return valid ? ascii : undefined;
}

/**
 * The full record name as the API stores it: lower-case, `@` for the apex, and the zone
 * name appended to any name that does not already end with it (so every name is in the zone).
 */
export function normalizeName(raw: unknown, zoneName: string): string {
  if (typeof raw !== 'string' || raw === '') throw invalidName();
  const host = raw === '@' ? zoneName : canonicalHost(raw);
  if (host === undefined) throw invalidName();
  const full = host === zoneName || host.endsWith(`.${zoneName}`) ? host : `${host}.${zoneName}`;
  if (full.length > 253) throw invalidName();
  return full;
}

function normalizeContent(type: string, raw: unknown, name: string): string {
  const value = typeof raw === 'string' ? raw.trim() : undefined;
  switch (type) {
    case 'A':
      if (value !== undefined && isIPv4(value)) return value;
      throw dnsValidation(9005, 'Content for A record must be a valid IPv4 address.');
    case 'AAAA':
      // The API answers IPv6 addresses in their compressed, lower-case form.
      if (value !== undefined && isIPv6(value)) return new URL(`http://[${value}]`).hostname.slice(1, -1);
      throw dnsValidation(9006, 'Content for AAAA record must be a valid IPv6 address.');
    case 'CNAME': {
      const host = value === undefined ? undefined : canonicalHost(value);
      if (host !== undefined && host !== name) return host;
      throw dnsValidation(9007, 'Content for CNAME record is invalid.');
    }
    default: {
      if (value === undefined || value === '') throw dnsValidation(9009, 'Content for TXT record is invalid.');
      if (value.length + Math.ceil(value.length / 255) > MAX_TXT_WIRE_BYTES) {
        throw dnsValidation(9015, 'Record content exceeds the allowed length of 4096 wire format bytes.');
      }
      return value;
    }
  }
}

function normalizeTtl(raw: unknown): number {
  if (typeof raw === 'number' && Number.isInteger(raw) && (raw === 1 || (raw >= 60 && raw <= 86400))) return raw;
  throw dnsValidation(9021, 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.');
}

function normalizeComment(raw: unknown, limits: ValidationLimits): string | null {
  if (raw === null || raw === undefined || raw === '') return null;
  if (typeof raw !== 'string') throw dnsValidation(9101, 'Comment must be a string.');
  if (raw.length > limits.commentMaxLength) {
    throw dnsValidation(9101, `Comment is longer than ${limits.commentMaxLength} characters.`);
  }
  if (/[\r\n]/.test(raw)) throw dnsValidation(9102, 'Comment must not contain line breaks.');
  return raw;
}

function normalizeTags(raw: unknown): string[] {
  if (!Array.isArray(raw) || !raw.every((t) => typeof t === 'string')) {
    throw dnsValidation(9300, 'Tags must be an array of strings.');
  }
  // Free plan: the tag quota is zero.
  if (raw.length > 0) throw dnsValidation(9300, `DNS record has ${raw.length} tags, exceeding the quota of 0.`);
  return [];
}

function normalizeSettings(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw dnsValidation(9010, 'Settings must be an object.');
  }
  return { ...raw };
}

/**
 * Validates a request body the way the API does and returns the stored fields. `base` is the
 * existing record for PATCH (unset fields keep their value); without it, unset fields take
 * their defaults, as for POST and PUT.
 */
export function resolveFields(
  body: Record<string, unknown>,
  base: RecordFields | undefined,
  zoneName: string,
  limits: ValidationLimits,
): RecordFields {
  const pick = (key: keyof RecordFields): unknown => (key in body ? body[key] : base?.[key]);

  const rawType = pick('type');
  const type = typeof rawType === 'string' ? rawType.toUpperCase() : '';
  if (!SUPPORTED_TYPES.has(type)) {
    throw dnsValidation(9008, `Record type ${String(rawType)} is invalid or not supported by the simulator.`);
  }
  const name = normalizeName(pick('name'), zoneName);
  const content = normalizeContent(type, pick('content'), name);
  const ttl = normalizeTtl(pick('ttl') ?? 1);
  const proxied = pick('proxied') ?? false;
  if (typeof proxied !== 'boolean') throw dnsValidation(9003, "Invalid 'proxied' value, must be a boolean");
  if (proxied && !isProxiable(type)) throw dnsValidation(9004, 'This record type cannot be proxied.');
  return {
    name,
    type,
    content,
    // Proxied records always have an automatic TTL, whatever was sent.
    ttl: proxied ? 1 : ttl,
    proxied,
    comment: normalizeComment(pick('comment'), limits),
    tags: normalizeTags(pick('tags') ?? []),
    settings: normalizeSettings(pick('settings') ?? {}),
  };
}
