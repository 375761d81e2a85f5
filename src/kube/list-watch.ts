/**
 * Lists a resource, then watches from the list's resourceVersion; reconnects when a watch
 * ends, re-lists on 410 Gone, and never stops until told to. Keeps only small snapshots.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import { backoffDelay } from '../util/retry.js';
import type { ResourceApi, WatchHandle } from './api.js';
import { resourceVersionOf } from './snapshot.js';

export interface Change<T> {
  readonly type: 'added' | 'modified' | 'deleted';
  readonly key: string;
  readonly before: T | undefined;
  readonly after: T | undefined;
  /** When the change was seen (ms epoch). */
  readonly at: number;
}

/** How one resource's objects become snapshots. */
export interface Codec<T> {
  /** The key of an API object (name, or namespace/name), or undefined when it has none. */
  key(object: unknown): string | undefined;
  snapshot(object: unknown): T | undefined;
  same(a: T, b: T): boolean;
}

export interface SourceStatus {
  readonly synced: boolean;
  readonly watching: boolean;
  readonly lists: number;
  readonly watchRestarts: number;
  readonly lastError: string | undefined;
}

type WatchEnd = { kind: 'closed' } | { kind: 'expired' } | { kind: 'relist' } | { kind: 'failed'; error: unknown };

export interface SourceOptions {
  readonly pageSize?: number;
  readonly backoffBaseMs?: number;
}

export class ListWatch<T> {
  readonly items = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private watching = false;
  private lists = 0;
  private watchRestarts = 0;
  private lastError: string | undefined;
  private handle: WatchHandle | undefined;
  private endWatch: ((end: WatchEnd) => void) | undefined;

  constructor(
    private readonly api: ResourceApi,
    private readonly codec: Codec<T>,
    private readonly log: Logger,
    private readonly onChanges: (changes: readonly Change<T>[]) => void,
    private readonly opts: SourceOptions = {},
  ) {}

  /** Start over from a fresh list (when what a snapshot keeps has changed). */
  resync(): void {
    this.endWatch?.({ kind: 'relist' });
  }

  status(): SourceStatus {
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
        this.log.warn({ err: this.lastError, attempt: failures + 1 }, 'list failed; retrying');
        await this.pause(failures++, signal);
        continue;
      }
      while (!signal.aborted) {
        const end = await this.watchOnce(signal);
        if (signal.aborted) return;
        this.watchRestarts++;
        if (end.kind === 'expired') {
          this.log.info({ resourceVersion: this.resourceVersion }, 'watch expired (410 Gone); re-listing');
          break;
        }
        if (end.kind === 'relist') break;
        if (end.kind === 'failed') {
          this.lastError = errorMessage(end.error);
          this.log.warn({ err: this.lastError, attempt: failures + 1 }, 'watch failed; reconnecting');
          await this.pause(failures++, signal);
          if (failures >= 5) break; // several failures in a row: start over from a fresh list
        } else {
          failures = 0;
          this.log.debug({ resourceVersion: this.resourceVersion }, 'watch ended; reconnecting');
        }
      }
    }
  }

  private async pause(attempt: number, signal: AbortSignal): Promise<void> {
    await sleep(backoffDelay(attempt, this.opts.backoffBaseMs ?? 500), undefined, { signal }).catch(() => undefined);
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv: string;
    do {
      const page = await this.api.list({ limit: this.opts.pageSize ?? 100, ...(cont ? { continue: cont } : {}) });
      for (const item of page.items) {
        const key = this.codec.key(item);
        const snap = key === undefined ? undefined : this.codec.snapshot(item);
        if (key !== undefined && snap !== undefined) fresh.set(key, snap);
      }
      rv = page.resourceVersion;
      cont = page.continue;
    } while (cont);
    this.lists++;
    const at = Date.now();
    const changes: Change<T>[] = [];
    for (const [key, before] of this.items) {
      if (!fresh.has(key)) changes.push({ type: 'deleted', key, before, after: undefined, at });
    }
    for (const [key, after] of fresh) {
      const before = this.items.get(key);
      if (before === undefined) changes.push({ type: 'added', key, before, after, at });
      else if (!this.codec.same(before, after)) changes.push({ type: 'modified', key, before, after, at });
    }
    this.items.clear();
    for (const [k, v] of fresh) this.items.set(k, v);
    this.resourceVersion = rv;
    this.synced = true;
    this.log.debug({ items: fresh.size, resourceVersion: rv, changes: changes.length }, 'listed');
    if (changes.length > 0) this.onChanges(changes);
  }

  private watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let settled = false;
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        this.endWatch = undefined;
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
          else finish({ kind: 'failed', error: new Error(`watch ERROR event: ${String(JSON.stringify(object) ?? object).slice(0, 300)}`) });
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
          const status = (err as { statusCode?: unknown }).statusCode ?? (err as { status?: unknown }).status;
          finish(status === 410 ? { kind: 'expired' } : { kind: 'failed', error: err });
        } else finish({ kind: 'closed' });
      };
      if (signal.aborted) { finish({ kind: 'closed' }); return; }
      this.watching = true;
      this.endWatch = finish;
      this.api.watch(this.resourceVersion, onEvent, onDone).then(
        (h) => { if (settled) h.abort(); else this.handle = h; },
        (err: unknown) => finish({ kind: 'failed', error: err }),
      );
    });
  }

  private apply(type: string, object: unknown): void {
    const at = Date.now();
    const key = this.codec.key(object);
    if (key === undefined) {
      this.log.debug({ type }, 'ignoring a watch object without a name');
      return;
    }
    if (type === 'DELETED') {
      const before = this.items.get(key);
      if (before === undefined) return;
      this.items.delete(key);
      this.onChanges([{ type: 'deleted', key, before, after: undefined, at }]);
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') {
      this.log.debug({ type }, 'ignoring unknown watch event type');
      return;
    }
    const after = this.codec.snapshot(object);
    if (after === undefined) return;
    const before = this.items.get(key);
    if (before !== undefined && this.codec.same(before, after)) return; // heartbeat: nothing that matters changed
    this.items.set(key, after);
    this.onChanges([{ type: before === undefined ? 'added' : 'modified', key, before, after, at }]);
  }
}
