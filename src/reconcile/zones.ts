/** Which zone each hostname belongs to: the longest zone name it ends with (pure). */

export interface Zone {
  readonly id: string;
  readonly name: string;
  /** Cloudflare's zone status: only `active` zones answer for their names (default: active). */
  readonly status?: string;
  /** The account that holds the zone, when known. */
  readonly account?: string;
}

export function zoneFor(hostname: string, zones: readonly Zone[]): Zone | undefined {
  let best: Zone | undefined;
  for (const z of zones) {
    const name = z.name.toLowerCase();
    if ((hostname === name || hostname.endsWith(`.${name}`)) && (best === undefined || name.length > best.name.length)) best = z;
  }
  return best;
}
