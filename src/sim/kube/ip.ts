import { fieldErrors, type FieldError } from './status.js';

/** An IP address as Go's net.IP holds it: 16 bytes, IPv4 ones in their IPv4-mapped form. */
export interface ParsedIP {
  bytes: number[];
  /** Written as IPv4 (dotted quad) or as IPv4-mapped IPv6 (::ffff:a.b.c.d): what Go's To4() != nil means. */
  v4: boolean;
  /** An IPv4 octet had a leading 0 (accepted by ParseIPSloppy, refused by strict validation). */
  leadingZeros: boolean;
  /** Written in IPv6 syntax (so "::ffff:1.2.3.4" is v4 and mapped). */
  mapped: boolean;
}

const V4_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseV4(text: string): { bytes: number[]; leadingZeros: boolean } | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let leadingZeros = false;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    if (part.length > 1 && part.startsWith('0')) leadingZeros = true;
    bytes.push(n);
  }
  return { bytes, leadingZeros };
}

function parseV6(text: string): { bytes: number[]; leadingZeros: boolean } | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  let leadingZeros = false;
  const groups = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] ?? '';
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseV4(piece);
        if (!v4) return undefined;
        leadingZeros ||= v4.leadingZeros;
        out.push(...v4.bytes);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        const n = parseInt(piece, 16);
        out.push(n >> 8, n & 0xff);
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const all = groups(text, true);
    return all?.length === 16 ? { bytes: all, leadingZeros } : undefined;
  }
  const head = groups(halves[0] ?? '', false);
  const tail = groups(halves[1] ?? '', true);
  if (!head || !tail || head.length + tail.length > 14) return undefined;
  return { bytes: [...head, ...new Array<number>(16 - head.length - tail.length).fill(0), ...tail], leadingZeros };
}

/** netutils.ParseIPSloppy: IPv4 or IPv6 text (no zone); IPv4 octets may carry leading zeros. */
export function parseIP(text: string): ParsedIP | undefined {
  if (text.includes(':')) {
    const v6 = parseV6(text);
    if (!v6) return undefined;
    const v4 = V4_PREFIX.every((b, i) => v6.bytes[i] === b);
    return { bytes: v6.bytes, v4, leadingZeros: v6.leadingZeros, mapped: v4 };
  }
  const v4 = parseV4(text);
  return v4 && { bytes: [...V4_PREFIX, ...v4.bytes], v4: true, leadingZeros: v4.leadingZeros, mapped: false };
}

/** Go's net.IP.String(): dotted quad for IPv4, RFC 5952 for IPv6. */
export function formatIP(ip: ParsedIP): string {
  if (ip.v4) return ip.bytes.slice(12).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** validation.IsValidIPForLegacyField with strict validation (on by default in v1.33). */
export function legacyIPErrors(field: string, value: string): FieldError[] {
  const ip = parseIP(value);
  if (!ip) return [fieldErrors.invalid(field, value, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
  const errs: FieldError[] = [];
  if (ip.leadingZeros) errs.push(fieldErrors.invalid(field, value, 'must not have leading 0s'));
  if (ip.mapped) errs.push(fieldErrors.invalid(field, value, 'must not be an IPv4-mapped IPv6 address'));
  return errs;
}

/** validation.IsValidIP: strict, and in canonical form. */
export function strictIPErrors(field: string, value: string): FieldError[] {
  const errs = legacyIPErrors(field, value);
  if (errs.length > 0) return errs;
  const ip = parseIP(value);
  if (ip && formatIP(ip) !== value) errs.push(fieldErrors.invalid(field, value, `must be in canonical form (${JSON.stringify(formatIP(ip))})`));
  return errs;
}

/** ValidateEndpointIP: no unspecified, loopback or link-local addresses. */
export function endpointIPErrors(field: string, value: string): FieldError[] {
  const ip = parseIP(value);
  if (!ip) return [fieldErrors.invalid(field, value, 'must be a valid IP address')];
  const b = ip.bytes;
  const errs: FieldError[] = [];
  const v4 = b.slice(12);
  if (ip.v4 ? v4.every((x) => x === 0) : b.every((x) => x === 0)) errs.push(fieldErrors.invalid(field, value, `may not be unspecified (${value})`));
  if (ip.v4 ? v4[0] === 127 : b.slice(0, 15).every((x) => x === 0) && b[15] === 1) {
    errs.push(fieldErrors.invalid(field, value, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  }
  if (ip.v4 ? v4[0] === 169 && v4[1] === 254 : b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) {
    errs.push(fieldErrors.invalid(field, value, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  }
  if (ip.v4 ? v4[0] === 224 && v4[1] === 0 && v4[2] === 0 : b[0] === 0xff && ((b[1] ?? 0) & 0x0f) === 0x02) {
    errs.push(fieldErrors.invalid(field, value, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  }
  return errs;
}
