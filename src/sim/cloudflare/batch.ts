import { batchTooLarge, invalidBatch } from './errors.js';
import { createRecord, deleteRecord, updateRecord, type Change, type OpContext } from './operations.js';
import type { BatchOpCounts, DnsRecordView } from './types.js';
import type { ZoneState } from './zone-state.js';

type Body = Record<string, unknown>;

const LISTS = ['deletes', 'patches', 'puts', 'posts'] as const;
type ListName = (typeof LISTS)[number];

export type ParsedBatch = Record<ListName, Body[]>;
export type BatchResult = Record<ListName, DnsRecordView[]>;

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the shape of a batch body and the operation limit before anything runs. */
export function parseBatch(body: Body, limit: number): ParsedBatch {
  const parsed = {} as ParsedBatch;
  for (const list of LISTS) {
    const raw = body[list] ?? [];
    if (!Array.isArray(raw) || !raw.every(isObject)) throw invalidBatch(`${list} must be an array of objects.`);
    raw.forEach((op, i) => {
      if (list !== 'posts' && typeof op.id !== 'string') throw invalidBatch(`${list}[${i}].id is required.`);
    });
    parsed[list] = raw;
  }
  const total = LISTS.reduce((n, list) => n + parsed[list].length, 0);
  if (total > limit) throw batchTooLarge(total, limit);
  return parsed;
}

export const countOps = (b: ParsedBatch): BatchOpCounts => ({
  deletes: b.deletes.length,
  patches: b.patches.length,
  puts: b.puts.length,
  posts: b.posts.length,
});

/**
 * Applies the operations to a draft in the API's order: deletes, patches, puts, posts. The
 * first failing operation throws, and the caller's transaction then discards the draft.
 */
export function runBatch(draft: ZoneState, batch: ParsedBatch, ctx: OpContext): { value: BatchResult; changes: Change[] } {
  const changes: Change[] = [];
  const run = (list: ListName, op: (body: Body) => Change): DnsRecordView[] =>
    batch[list].map((body) => {
      const change = op(body);
      changes.push(change);
      return change.record;
    });
  const id = (body: Body): string => String(body.id);
  const value: BatchResult = {
    deletes: run('deletes', (b) => deleteRecord(draft, id(b))),
    patches: run('patches', (b) => updateRecord(draft, id(b), b, ctx, 'patch')),
    puts: run('puts', (b) => updateRecord(draft, id(b), b, ctx, 'put')),
    posts: run('posts', (b) => createRecord(draft, b, ctx)),
  };
  return { value, changes };
}
