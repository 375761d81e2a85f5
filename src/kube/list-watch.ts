/**
 * Lists Nodes, then watches from the list's resourceVersion; reconnects when a watch ends,
 * re-lists on 410 Gone, and never stops until told to. Keeps only snapshots.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import type { NodeSnapshot } from '../model/types.js';
import { backoffDelay } from '../util/retry.js';
import type { NodeApi, WatchHandle } from './api.js';
import { LABELS_OF_INTEREST, nodeName, resourceVersionOf, sameSnapshot, toSnapshot } from './snapshot.js';

export interface NodeChange {
  readonly type: 'added' | 'modified' | 'deleted';
  readonly name: string;
  readonly before: NodeSnapshot | undefined;
  readonly after: NodeSnapshot | undefined;
  /** When the change was seen (ms epoch). */
  readonly at: number;
}

export interface NodeSourceStatus {
  readonly synced: boolean;
  readonly watching: boolean;
  readonly lists: number;
  readonly watchRestarts: number;
  readonly lastError: string | undefined;
}

type WatchEnd = { kind: 'closed' } | { kind: 'expired' } | { kind: 'failed'; error: unknown };

export interface NodeSourceOptions {
  readonly pageSize?: number;
  readonly backoffBaseMs?: number;
  readonly labelsOfInterest?: readonly string[];
}

export class NodeSource {
  readonly nodes = new Map<string, NodeSnapshot>();
  private resourceVersion = '';
  private synced = false;
  private watching = false;
  private lists = 0;
  private watchRestarts = 0;
  private lastError: string | undefined;
  private handle: WatchHandle | undefined;

  constructor(
    private readonly api: NodeApi,
    private readonly log: Logger,
    private readonly onChanges: (changes: readonly NodeChange[]) => void,
    private readonly opts: NodeSourceOptions = {},
  ) {}

  status(): NodeSourceStatus {
    return { synced: this.synced, watching: this.watching, lists: this.lists, watchRestarts: this.watchRestarts, lastError: this.lastError };
  }

  /** Resolves after the first successful list; keeps watching in the background until `signal` aborts. */
  start(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => { this.handle?.abort(); reject(signal.reason); }, { once: true });
      void this.run(signal, resolve);
    });
  }

  private async run(signal: AbortSignal, listed: () => void): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.relist();
        failures = 0;
        listed();
      } catch (err) {
        this.lastError = errorMessage(err);
        this.log.warn({ err: this.lastError, attempt: failures + 1 }, 'listing nodes failed; retrying');
        await this.pause(failures++, signal);
        continue;
      }
      while (!signal.aborted) {
        const end = await this.watchOnce(signal);
        if (signal.aborted) return;
        this.watchRestarts++;
        if (end.kind === 'expired') {
          this.log.info({ resourceVersion: this.resourceVersion }, 'node watch expired (410 Gone); re-listing');
          break;
        }
        if (end.kind === 'failed') {
          this.lastError = errorMessage(end.error);
          this.log.warn({ err: this.lastError, attempt: failures + 1 }, 'node watch failed; reconnecting');
          await this.pause(failures++, signal);
          if (failures >= 5) break; // several failures in a row: start over from a fresh list
        } else {
          failures = 0;
          this.log.debug({ resourceVersion: this.resourceVersion }, 'node watch ended; reconnecting');
        }
      }
    }
  }

  private async pause(attempt: number, signal: AbortSignal): Promise<void> {
    await sleep(backoffDelay(attempt, this.opts.backoffBaseMs ?? 500), undefined, { signal }).catch(() => undefined);
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, NodeSnapshot>();
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await this.api.listNodes({ limit: this.opts.pageSize ?? 500, ...(cont ? { continue: cont } : {}) });
      for (const item of page.items) {
        const snap = toSnapshot(item, this.labels());
        if (snap) fresh.set(snap.name, snap);
      }
      rv = page.resourceVersion;
      cont = page.continue;
    } while (cont);
    this.lists++;
    const at = Date.now();
    const changes: NodeChange[] = [];
    for (const [name, before] of this.nodes) {
      if (!fresh.has(name)) changes.push({ type: 'deleted', name, before, after: undefined, at });
    }
    for (const [name, after] of fresh) {
      const before = this.nodes.get(name);
      if (before === undefined) changes.push({ type: 'added', name, before, after, at });
      else if (!sameSnapshot(before, after)) changes.push({ type: 'modified', name, before, after, at });
    }
    this.nodes.clear();
    for (const [k, v] of fresh) this.nodes.set(k, v);
    this.resourceVersion = rv;
    this.synced = true;
    this.log.debug({ nodes: fresh.size, resourceVersion: rv, changes: changes.length }, 'listed nodes');
    if (changes.length > 0) this.onChanges(changes);
  }

  private labels(): readonly string[] {
    return this.opts.labelsOfInterest ?? LABELS_OF_INTEREST;
  }

  private watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let settled = false;
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        this.watching = false;
        this.handle?.abort();
        this.handle = undefined;
        resolve(end);
      };
      const onEvent = (type: string, object: unknown) => {
        if (settled) return;
        if (type === 'ERROR') {
          const code = (object as { code?: unknown } | null)?.code;
          if (code === 410) finish({ kind: 'expired' });
          else finish({ kind: 'failed', error: new Error(`watch ERROR event: ${JSON.stringify(object).slice(0, 300)}`) });
          return;
        }
        const rv = resourceVersionOf(object);
        if (rv) this.resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        this.apply(type, object);
      };
      const onDone = (err: unknown) => {
        const timedOut = (err as { name?: unknown } | null)?.name === 'TimeoutError';
        if (err && !timedOut) {
          const status = (err as { statusCode?: unknown }).statusCode;
          finish(status === 410 ? { kind: 'expired' } : { kind: 'failed', error: err });
        } else finish({ kind: 'closed' });
      };
      if (signal.aborted) { finish({ kind: 'closed' }); return; }
      this.watching = true;
      this.api.watchNodes(this.resourceVersion, onEvent, onDone).then(
        (h) => { if (settled) h.abort(); else this.handle = h; },
        (err: unknown) => finish({ kind: 'failed', error: err }),
      );
    });
  }

  private apply(type: string, object: unknown): void {
    const at = Date.now();
    if (type === 'DELETED') {
      const name = nodeName(object);
      const before = name === undefined ? undefined : this.nodes.get(name);
      if (name === undefined || before === undefined) return;
      this.nodes.delete(name);
      this.onChanges([{ type: 'deleted', name, before, after: undefined, at }]);
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') {
      this.log.debug({ type }, 'ignoring unknown watch event type');
      return;
    }
    const after = toSnapshot(object, this.labels());
    if (after === undefined) {
      this.log.debug({ type }, 'ignoring watch object without a name');
      return;
    }
    const before = this.nodes.get(after.name);
    if (before !== undefined && sameSnapshot(before, after)) return; // heartbeat: nothing that matters changed
    this.nodes.set(after.name, after);
    this.onChanges([{ type: before === undefined ? 'added' : 'modified', name: after.name, before, after, at }]);
  }
}
