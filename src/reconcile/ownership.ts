/**
 * Ownership lives in the record's comment: `epictetus:owner=<OWNER_ID>`. The comment is the only
 * field every Cloudflare plan offers (tags need a paid plan).
 */

const MARKER = /(?:^|\s)epictetus:owner=([A-Za-z0-9._-]+)(?=\s|$)/;

export function ownerMarker(owner: string): string {
  return `epictetus:owner=${owner}`;
}

/** The owner id a comment carries, or null when it carries no marker. */
export function ownerOf(comment: string | null): string | null {
  if (comment === null) return null;
  const m = MARKER.exec(comment);
  return m?.[1] ?? null;
}

/** The comment an adopted record gets: our marker, then whatever a human wrote, cut to fit. */
export function adoptedComment(existing: string | null, owner: string, maxLength: number): string {
  const marker = ownerMarker(owner);
  const rest = (existing ?? '').trim();
  if (rest === '') return marker;
  return `${marker} ${rest}`.slice(0, maxLength).trimEnd();
}
