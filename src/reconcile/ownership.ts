/**
 * Ownership lives in the record's comment: `epictetus:owner=<OWNER_ID>`. The comment is the only
 * field every Cloudflare plan offers (tags need a paid plan).
 */
import type { DnsRecord } from '../model/types.js';

const MARKER = /(?:^|\s)epictetus:owner=([A-Za-z0-9._-]+)(?=\s|$)/;

export function ownerMarker(owner: string): string {
  return `epictetus:owner=${owner}`;
}

let last: { comment: string; owner: string | null } = { comment: '', owner: null };

/** The owner id a comment carries, or null when it carries no marker. */
export function ownerOf(comment: string | null): string | null {
  if (comment === null) return null;
  // Most records of a zone carry one of a few comments (shared strings): remember the last one.
  if (comment === last.comment) return last.owner;
  const owner = MARKER.exec(comment)?.[1] ?? null;
  last = { comment, owner };
  return owner;
}

/**
 * The comment an adopted record gets: our marker, then whatever a human wrote, kept whole.
 * Null when both cannot fit in `maxLength`: then the record is not adopted (a human's note is
 * never cut short).
 */
export function adoptedComment(existing: string | null, owner: string, maxLength: number): string | null {
  const marker = ownerMarker(owner);
  const rest = (existing ?? '').trim();
  const out = rest === '' ? marker : `${marker} ${rest}`;
  return out.length <= maxLength ? out : null;
}

/** A comment with another owner id's marker (an OWNER_ID alias) changed to ours, the rest kept. */
export function renamedComment(existing: string, owner: string): string {
  return existing.replace(MARKER, (whole) => whole.replace(/epictetus:owner=[A-Za-z0-9._-]+/, ownerMarker(owner)));
}

/**
 * Names whose A/AAAA records external-dns owns through its TXT registry: a TXT record with
 * `heritage=external-dns` at the name itself (external-dns' old format) or at the name with a
 * record-type prefix on its first label (`a-app.example.com`, `aaaa-…`, `cname-…`, the format
 * since v0.12). Custom --txt-prefix/--txt-suffix settings are not recognised.
 */
export function externalDnsNames(records: readonly DnsRecord[]): Set<string> {
  const out = new Set<string>();
  for (const r of records) {
    if (r.type !== 'TXT' || !r.content.includes('heritage=external-dns')) continue;
    const name = r.name.toLowerCase();
    out.add(name);
    const m = /^(?:a|aaaa|cname)-(.+)$/.exec(name);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}
