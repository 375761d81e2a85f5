import { errors } from './status.js';

export type Output = 'json' | 'table';

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim());
      const parsed: Record<string, string> = {};
      for (const p of params) {
        const eq = p.indexOf('=');
        if (eq > 0) parsed[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params: parsed };
    })
    .filter((r) => r.type !== '');
}

/**
 * Picks the first acceptable answer the way the API server does. Kinds we cannot produce (protobuf,
 * YAML, aggregated discovery, PartialObjectMetadata) are skipped, so clients fall back to the plain
 * JSON they always list last; a client that accepts nothing we speak gets 406.
 */
export function negotiate(accept: string | undefined, tableAllowed: boolean): Output {
  if (!accept || accept.trim() === '') return 'json';
  for (const range of parseAccept(accept)) {
    const jsonish = range.type === 'application/json' || range.type === '*/*' || range.type === 'application/*';
    if (!jsonish) continue;
    const as = range.params.as;
    if (as === undefined) return 'json';
    if (tableAllowed && as === 'Table' && range.params.g === 'meta.k8s.io' && range.params.v === 'v1') return 'table';
  }
  throw errors.notAcceptable();
}

/** The media type of a request body, without parameters. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
