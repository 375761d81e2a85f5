/** IP address parsing without node:net, so the pure core can use it. */

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** Returns the RFC 5952 canonical form of an IPv6 address, or null when it is not one. */
export function canonicalIPv6(input: string): string | null {
  let s = input.toLowerCase();
  if (s.includes('%') || !s.includes(':')) return null;
  const embedded = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (embedded) {
    const v4 = embedded[2] ?? '';
    if (!isIPv4(v4)) return null;
    const o = v4.split('.').map(Number) as [number, number, number, number];
    s = `${embedded[1]}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === null || rest === null) return null;
  const total = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) return null;
    groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  } else {
    if (total !== 8) return null;
    groups = head;
  }
  // Compress the longest run (length >= 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** Canonical text of an IPv4 or IPv6 address, or null when it is neither. */
export function canonicalIp(s: string): { family: 4 | 6; ip: string } | null {
  const t = s.trim();
  if (isIPv4(t)) return { family: 4, ip: t };
  const v6 = canonicalIPv6(t);
  return v6 === null ? null : { family: 6, ip: v6 };
}

const V4_NON_PUBLIC: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/**
 * Why an address cannot be published (private, loopback, link-local, multicast, reserved...),
 * or null when it can. Documentation ranges are allowed: the simulators and examples use them.
 */
export function nonPublicReason(ip: { family: 4 | 6; ip: string }): string | null {
  if (ip.family === 4) {
    const n = v4ToInt(ip.ip);
    for (const [base, bits] of V4_NON_PUBLIC) {
      const size = 2 ** (32 - bits);
      const start = v4ToInt(base);
      if (n >= start && n < start + size) return `${ip.ip} is in the non-public range ${base}/${bits}`;
    }
    return null;
  }
  const first = parseInt(ip.ip.split(':')[0] || '0', 16);
  if (ip.ip === '::' || ip.ip === '::1') return `${ip.ip} is unspecified or loopback`;
  if ((first & 0xfe00) === 0xfc00) return `${ip.ip} is a unique local address (fc00::/7)`;
  if ((first & 0xffc0) === 0xfe80) return `${ip.ip} is link-local (fe80::/10)`;
  if ((first & 0xff00) === 0xff00) return `${ip.ip} is multicast (ff00::/8)`;
  if (ip.ip.startsWith('::ffff:')) return `${ip.ip} is an IPv4-mapped address`;
  return null;
}
