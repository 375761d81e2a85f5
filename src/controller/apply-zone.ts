/**
 * Applies one zone's changes in batches of at most BATCH_LIMIT operations (one atomic call
 * each). A batch Cloudflare refuses as a whole (a 4xx such as a CNAME at the name) is split in
 * halves until the refused operations are found; they are set aside with Cloudflare's answer and
 * the rest goes through. Once a create is refused for its name (a CNAME there), the other creates
 * at that name share the answer without a call of their own. Deletions go last, and not at all
 * in this pass once a create was refused: the caller plans again without it, so the safety floor
 * counts only records that exist.
 */
import { BATCH_LIMIT, type ApplyResult, type DnsProvider } from '../cloudflare/provider.js';
import { EpictetusError, errorCode, errorMessage } from '../model/errors.js';
import type { Changes, DnsRecord, RecordCreate, RecordDelete, RecordUpdate } from '../model/types.js';
import { opKey, type Refusal, type ZoneChanges } from '../reconcile/plan.js';

type Op =
  | { readonly kind: 'create'; readonly op: RecordCreate }
  | { readonly kind: 'update'; readonly op: RecordUpdate }
  | { readonly kind: 'delete'; readonly op: RecordDelete };

export interface ZoneApplyResult {
  readonly created: DnsRecord[];
  readonly updated: DnsRecord[];
  readonly deletedIds: string[];
  /** The planned changes Cloudflare committed (for logs, Events, metrics and the guard's window). */
  readonly committed: Changes;
  readonly refused: Map<string, Refusal>;
  /** Deletions not sent because a create was refused: plan again, then send them. */
  readonly deletesWithheld: boolean;
  readonly calls: number;
}

/** An answer that refuses the operations themselves (retrying the same batch cannot help). */
export function isRefusal(err: unknown): err is EpictetusError {
  return err instanceof EpictetusError && err.code === 'EPI_CF_REJECTED';
}

function toChanges(ops: readonly Op[]): Changes {
  return {
    creates: ops.flatMap((o) => (o.kind === 'create' ? [o.op] : [])),
    updates: ops.flatMap((o) => (o.kind === 'update' ? [o.op] : [])),
    deletes: ops.flatMap((o) => (o.kind === 'delete' ? [o.op] : [])),
  };
}

/**
 * Cloudflare's answers that refuse a name rather than one record: 81053 (an A, AAAA or CNAME
 * record with that host already exists) and 81054 (a CNAME record with that host already exists).
 */
const NAME_REFUSED_CODES: ReadonlySet<number> = new Set([81053, 81054]);

function keyOf(zoneId: string, o: Op): string {
  return o.kind === 'create' ? opKey.create(zoneId, o.op) : opKey[o.kind](zoneId, o.op.record.id);
}

/** Batches of creates and edits sent at once (a first sync of 5,000 nodes is 75 batches of 200). */
export const BATCHES_IN_FLIGHT = 2;

/**
 * `fn` over every item, at most `width` at a time, in order of start. After a failure no new item
 * starts; the ones running are waited for (their commits are counted), then the first error is thrown.
 */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failure !== undefined) throw failure.err;
}

function chunks(ops: readonly Op[], limit: number): Op[][] {
  const out: Op[][] = [];
  for (let i = 0; i < ops.length; i += limit) out.push(ops.slice(i, i + limit));
  return out;
}

export async function applyZone(
  provider: DnsProvider,
  changes: ZoneChanges,
  opts: { mayWrite?: () => boolean; signal?: AbortSignal; batchLimit?: number; onCommitted?: (r: ApplyResult) => void },
): Promise<ZoneApplyResult> {
  const zoneId = changes.zone.id;
  const committed = { creates: [] as RecordCreate[], updates: [] as RecordUpdate[], deletes: [] as RecordDelete[] };
  const out = { created: [] as DnsRecord[], updated: [] as DnsRecord[], deletedIds: [] as string[], committed, refused: new Map<string, Refusal>() };
  let calls = 0;
  const send = async (ops: readonly Op[]): Promise<void> => {
    calls++;
    const r = await provider.apply(zoneId, toChanges(ops), opts.mayWrite, opts.signal);
    out.created.push(...r.created);
    out.updated.push(...r.updated);
    out.deletedIds.push(...r.deletedIds);
    const c = toChanges(ops);
    committed.creates.push(...c.creates);
    committed.updates.push(...c.updates);
    committed.deletes.push(...c.deletes);
    opts.onCommitted?.(r);
  };
  /** Names Cloudflare refuses A/AAAA records at (a CNAME there): every create at one shares the answer. */
  const refusedNames = new Map<string, EpictetusError>();
  const nameOf = (o: Op): string | undefined => (o.kind === 'create' ? o.op.name.toLowerCase() : undefined);
  const refuse = (o: Op, err: EpictetusError) => {
    out.refused.set(keyOf(zoneId, o), { code: errorCode(err), apiCodes: err.apiCodes, message: errorMessage(err), at: new Date().toISOString() });
    const name = nameOf(o);
    if (name !== undefined && err.apiCodes.some((c) => NAME_REFUSED_CODES.has(c))) refusedNames.set(name, err);
  };
  /** Sends `ops` in one batch; when refused, halves it until the refused operations stand alone. */
  const isolate = async (input: readonly Op[]): Promise<void> => {
    // Creates at a name already refused as a whole are set aside with its answer, without a call.
    const ops = input.filter((o) => {
      const err = refusedNames.get(nameOf(o) ?? '');
      if (err !== undefined) refuse(o, err);
      return err === undefined;
    });
    if (ops.length === 0) return;
    try {
      await send(ops);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      if (ops.length === 1) {
        refuse(ops[0]!, err);
        return;
      }
      const mid = Math.ceil(ops.length / 2);
      await isolate(ops.slice(0, mid));
      await isolate(ops.slice(mid));
    }
  };
  const first: Op[] = [
    ...changes.creates.map((op): Op => ({ kind: 'create', op })),
    ...changes.updates.map((op): Op => ({ kind: 'update', op })),
  ];
  const deletes = changes.deletes.map((op): Op => ({ kind: 'delete', op }));
  const limit = opts.batchLimit ?? BATCH_LIMIT;
  const createRefused = () => [...out.refused.keys()].some((k) => k.startsWith('create '));
  const all = chunks([...first, ...deletes], limit);
  // The batches with no deletion (creates and edits: a first sync, many nodes joining) go two at a
  // time: each is its own transaction at Cloudflare, and their order does not matter. Those with
  // deletions follow one by one, once every create before them is committed.
  const lead = all.findIndex((b) => b.some((o) => o.kind === 'delete'));
  const together = lead < 0 ? all : all.slice(0, lead);
  await inParallel(together, BATCHES_IN_FLIGHT, async (batch) => {
    try {
      await send(batch);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      if (batch.length === 1) refuse(batch[0]!, err);
      else await isolate(batch);
    }
  });
  let withheld = false;
  for (const batch of lead < 0 ? [] : all.slice(lead)) {
    const others = batch.filter((o) => o.kind !== 'delete');
    const dels = batch.filter((o) => o.kind === 'delete');
    if (createRefused() && dels.length > 0) {
      await isolate(others);
      withheld = true;
      break;
    }
    try {
      await send(batch);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      if (batch.length === 1) {
        refuse(batch[0]!, err);
        continue;
      }
      await isolate(others);
      if (createRefused() && dels.length > 0) {
        withheld = true;
        break;
      }
      await isolate(dels);
    }
  }
  return { ...out, deletesWithheld: withheld, calls };
}
