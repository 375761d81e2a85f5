/** Which zone answers for each hostname: the longest active zone name it ends with (pure). */

export interface Zone {
  readonly id: string;
  readonly name: string;
  /** Cloudflare's zone status: only `active` zones answer for their names (default: active). */
  readonly status?: string;
  /** The account that holds the zone, when known. */
  readonly account?: string;
}

/** A zone that answers for its names: active (a pending or moved zone is not delegated to Cloudflare). */
export function isActive(z: Zone): boolean {
  return z.status === undefined || z.status === 'active';
}

function covers(zoneName: string, hostname: string): boolean {
  const name = zoneName.toLowerCase();
  return hostname === name || hostname.endsWith(`.${name}`);
}

/** The longest zone name `hostname` ends with, among any zones (no status or ambiguity checks). */
export function zoneFor(hostname: string, zones: readonly Zone[]): Zone | undefined {
  let best: Zone | undefined;
  for (const z of zones) if (covers(z.name, hostname) && (best === undefined || z.name.length > best.name.length)) best = z;
  return best;
}

export interface ZoneAssignment {
  /** hostname -> the one active zone that answers for it. */
  readonly home: ReadonlyMap<string, Zone>;
  /** hostname -> why it has no zone: nothing is written for it anywhere. */
  readonly problems: ReadonlyMap<string, string>;
}

/**
 * Each hostname goes to the active zone with the longest matching name. Zones that are not active
 * (pending, initializing, moved, ...) do not count: a new, not yet delegated `sub.example.com`
 * does not take `x.sub.example.com` away from `example.com`. Two active zones with the same
 * longest name (the same domain in two accounts) are an ambiguity: no zone is chosen.
 */
export function assignZones(hostnames: Iterable<string>, zones: readonly Zone[]): ZoneAssignment {
  const active = zones.filter(isActive);
  const home = new Map<string, Zone>();
  const problems = new Map<string, string>();
  for (const h of hostnames) {
    const matching = active.filter((z) => covers(z.name, h));
    if (matching.length === 0) {
      const inactive = zones.filter((z) => !isActive(z) && covers(z.name, h)).map((z) => `${z.name} (${z.status ?? '?'})`);
      problems.set(h, inactive.length > 0
        ? `no active zone: ${inactive.join(', ')} ${inactive.length === 1 ? 'is' : 'are'} not active`
        : 'no zone this token can manage');
      continue;
    }
    const longest = Math.max(...matching.map((z) => z.name.length));
    const best = matching.filter((z) => z.name.length === longest);
    if (best.length > 1) {
      problems.set(h, `ambiguous: ${best.length} active zones are named ${best[0]?.name} (${best.map((z) => `${z.id}${z.account ? ` in account ${z.account}` : ''}`).join(', ')})`);
      continue;
    }
    home.set(h, best[0]!);
  }
  return { home, problems };
}
