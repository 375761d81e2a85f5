/**
 * The parts of Cloudflare's v4 answers the client uses, as zod schemas written from Cloudflare's
 * OpenAPI description (the DNS subset vendored under test/vendor/cloudflare-openapi): lenient on
 * extra fields (the API adds fields over time), strict on the types of the fields we read.
 */
import { z } from 'zod';

/** `errors[]` and `messages[]` of the envelope: `{code, message}`, sometimes with an `error_chain`. */
export interface ApiMessage {
  readonly code: number;
  readonly message: string;
  readonly error_chain?: readonly ApiMessage[] | undefined;
}

export const apiMessage: z.ZodType<ApiMessage> = z.looseObject({
  code: z.number(),
  message: z.string(),
  error_chain: z.array(z.lazy(() => apiMessage)).optional(),
});

/** `{success, errors, messages, result, result_info}`; `result` is checked by each call's own schema. */
export const envelope = z.looseObject({
  success: z.boolean(),
  errors: z.array(apiMessage),
  messages: z.array(z.unknown()).optional(),
  result: z.unknown(),
  result_info: z
    .looseObject({
      page: z.number().optional(),
      per_page: z.number().optional(),
      count: z.number().optional(),
      total_count: z.number().optional(),
      total_pages: z.number().optional(),
    })
    .nullish(),
});
export type Envelope = z.infer<typeof envelope>;

/** An error body, read loosely: whatever of `errors[]` is well-formed. */
export const errorBody = z.looseObject({ errors: z.array(z.unknown()) });

/** `zones_zone` (GET /zones, GET /zones/{id}); `status` is not in the 2024 description but always sent. */
export const zone = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  status: z.string().optional(),
  account: z.looseObject({ id: z.string(), name: z.string().optional() }).nullish(),
});

/** `dns-records_dns-record`: the fields a plan reads. */
export const dnsRecord = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  type: z.string().min(1),
  content: z.string().optional(),
  ttl: z.number().optional(),
  proxied: z.boolean().optional(),
  comment: z.string().nullish(),
});
export type ApiRecord = z.infer<typeof dnsRecord>;

/** `dns-records_dns-response-batch-object`: full records for every operation. */
export const batchResult = z.looseObject({
  deletes: z.array(dnsRecord).optional(),
  patches: z.array(dnsRecord).optional(),
  puts: z.array(dnsRecord).optional(),
  posts: z.array(dnsRecord).optional(),
});

/** `iam_response_single_segment` of GET /user/tokens/verify. */
export const tokenStatus = z.looseObject({ id: z.string(), status: z.string() });

export const zoneList = z.array(zone);
export const recordList = z.array(dnsRecord);

/**
 * `dnsRecord`'s rules checked by hand, on the object as parsed: a listing of thousands of
 * records is then used as it came, where zod would copy every record (its loose objects keep
 * the unknown fields, in a new object). Whatever fails here goes through zod, whose account of
 * the problem is the error message.
 */
export function isApiRecord(v: unknown): v is ApiRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  const text = (x: unknown) => typeof x === 'string' && x.length > 0;
  return text(r.id) && text(r.name) && text(r.type)
    && (r.content === undefined || typeof r.content === 'string')
    && (r.ttl === undefined || typeof r.ttl === 'number')
    && (r.proxied === undefined || typeof r.proxied === 'boolean')
    && (r.comment === undefined || r.comment === null || typeof r.comment === 'string');
}

/** A short account of why a value does not match, for error messages (paths and expectations, no values). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'result'}: ${i.message}`)
    .join('; ');
}
