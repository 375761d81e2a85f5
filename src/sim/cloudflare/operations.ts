import { randomBytes } from 'node:crypto';
import { cnameAlreadyExists, hostAlreadyExists, identicalRecord, recordNotFound, recordQuotaExceeded } from './errors.js';
import type { CommitKind, DnsRecordView } from './types.js';
import { isProxiable, resolveFields, type RecordFields, type ValidationLimits } from './validate.js';
import type { ZoneState } from './zone-state.js';

export interface Change {
  kind: CommitKind;
  record: DnsRecordView;
}

export interface OpContext {
  /** ISO time stamped on created and modified records */
  now: string;
  limits: ValidationLimits;
  maxRecordsPerZone: number;
}

/** 32 random hex digits, as Cloudflare's ids; drawn from a pool (one system call per 256 ids, not per id). */
let pool = Buffer.alloc(0);
let used = 0;
export const newId = (): string => {
  if (used + 16 > pool.length) {
    pool = randomBytes(4096);
    used = 0;
  }
  used += 16;
  return pool.toString('hex', used - 16, used);
};

export const copyRecord = (r: DnsRecordView): DnsRecordView => ({
  ...r,
  tags: [...r.tags],
  meta: { ...r.meta },
  settings: { ...r.settings },
});

function fieldsOf(r: DnsRecordView): RecordFields {
  return {
    name: r.name,
    type: r.type,
    content: r.content,
    ttl: r.ttl,
    proxied: r.proxied,
    comment: r.comment,
    tags: r.tags,
    settings: { ...r.settings },
  };
}

function toView(state: ZoneState, id: string, f: RecordFields, createdOn: string, modifiedOn: string): DnsRecordView {
  return {
    id,
    zone_id: state.zone.id,
    zone_name: state.zone.name,
    name: f.name,
    type: f.type,
    content: f.content,
    proxiable: isProxiable(f.type),
    proxied: f.proxied,
    ttl: f.ttl,
    comment: f.comment,
    tags: f.tags,
    created_on: createdOn,
    modified_on: modifiedOn,
    meta: {},
    settings: f.settings,
  };
}

function assertNotIdentical(state: ZoneState, f: RecordFields, ownId?: string): void {
  const other = state.identicalTo(f);
  if (other !== undefined && other !== ownId) throw identicalRecord();
}

/**
 * A CNAME may not share its name with an A, AAAA or CNAME record (81053), nor an A or AAAA record
 * with a CNAME (81054); `own` is the record being updated, which does not conflict with itself.
 */
function assertNoCnameConflict(state: ZoneState, f: RecordFields, own?: DnsRecordView): void {
  const others = (type: string): number => state.countAt(f.name, type) - (own && own.name === f.name && own.type === type ? 1 : 0);
  if (f.type === 'CNAME' && others('A') + others('AAAA') + others('CNAME') > 0) throw hostAlreadyExists();
  if ((f.type === 'A' || f.type === 'AAAA') && others('CNAME') > 0) throw cnameAlreadyExists();
}

/** The record with this id; 404 81044 when there is none. */
export function existingRecord(state: ZoneState, id: string): DnsRecordView {
  const record = state.get(id);
  if (!record) throw recordNotFound();
  return record;
}

export function createRecord(state: ZoneState, body: Record<string, unknown>, ctx: OpContext): Change {
  const fields = resolveFields(body, undefined, state.zone.name, ctx.limits);
  assertNotIdentical(state, fields);
  assertNoCnameConflict(state, fields);
  if (state.size >= ctx.maxRecordsPerZone) throw recordQuotaExceeded();
  const record = toView(state, newId(), fields, ctx.now, ctx.now);
  state.set(record);
  return { kind: 'create', record };
}

/** PATCH: unset fields keep their value. PUT: unset fields take their defaults. */
export function updateRecord(
  state: ZoneState,
  id: string,
  body: Record<string, unknown>,
  ctx: OpContext,
  mode: 'patch' | 'put',
): Change {
  const current = existingRecord(state, id);
  const base = mode === 'patch' ? fieldsOf(current) : undefined;
  const fields = resolveFields(body, base, state.zone.name, ctx.limits);
  assertNotIdentical(state, fields, id);
  assertNoCnameConflict(state, fields, current);
  const record = toView(state, id, fields, current.created_on, ctx.now);
  state.set(record);
  return { kind: 'update', record };
}

export function deleteRecord(state: ZoneState, id: string): Change {
  const record = state.remove(id);
  if (!record) throw recordNotFound();
  return { kind: 'delete', record };
}
