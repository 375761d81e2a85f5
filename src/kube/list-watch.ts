/**
 * Lists a resource, then watches from the list's resourceVersion; reconnects when a watch
 * ends, re-lists on 410 Gone, and never stops until told to. Keeps only small snapshots.
 */
import { hash } from 'node:crypto';
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
  /**
   * Fields of an object that change without changing any snapshot (a heartbeat's time, the
   * resourceVersion): their string values are left out when the watch fingerprints an event's
   * JSON text. An event whose fingerprint is that of the last event parsed for the same object
   * changes nothing and is not parsed. undefined: every event is parsed.
   */
  volatile?(): readonly string[] | undefined;
  /**
   * Where the part of an event's text that snapshots are made from ends: the rest (such as a
   * Node's list of images) is left out of the fingerprint too. `checked`: the text's length
   * unless sure that nothing read comes later. Unchecked (cheaper) is enough to skip an event:
   * its part up to there then equals that of the last event parsed, whose end was checked.
   */
  readEnd?(text: string, checked: boolean): number;
}

/** metadata.name as an API server writes it (the first field of metadata), unescaped only. */
const NAME_IN_TEXT = /"metadata":\{"name":"([^"\\]*)"/;
/** metadata.resourceVersion: the first field of that name in an API server's output. */
const RV_IN_TEXT = /"resourceVersion":"([^"\\]*)"/;

/** The volatile fields' string values, as one global pattern (cached per list of fields). */
const patterns = new WeakMap<readonly string[], RegExp>();
export function volatilePattern(fields: readonly string[]): RegExp {
  let p = patterns.get(fields);
  if (p === undefined) {
    p = new RegExp(`(?:${fields.map(fieldPattern).join('|')})":"[^"\\\\]*"`, 'g');
    patterns.set(fields, p);
  }
  return p;
}

/**
 * `"lastHeartbeatTime` as `(?<="lastHeartbeat)Time`: the pattern starts with the last word of
 * each name (a few characters V8 can look for quickly along 16 KB of text) and checks the rest
 * behind it, which runs only where that word is found. The key's head stays in the masked text.
 */
function fieldPattern(field: string): string {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const word = Math.max(...[...field].map((c, i) => (i > 0 && c >= 'A' && c <= 'Z' ? i : 0)));
  return word === 0 ? `"${escape(field)}` : `(?<="${escape(field.slice(0, word))})${escape(field.slice(word))}`;
}

/**
 * SHA-1 of the text up to `end` with the volatile values (and the last word of their keys)
 * removed, as a 20-character one-byte string: kept per item, so no slice of a longer string
 * (which would keep that string too). 160 bits leave an accidental match out of reach, and SHA-1
 * is the fastest digest here (SHA extensions: 13.8 us per 16 KB against 15.5 for SHA-256) and 8
 * bytes a node smaller; a collision crafted on purpose would need write access to Nodes, which
 * already decides their records.
 */
function fingerprint(text: string, volatile: RegExp, end: number): string {
  return hash('sha1', (end < text.length ? text.slice(0, end) : text).replace(volatile, ''), 'latin1');
}

export interface SourceStatus {
  /** True once a list has succeeded (and stays true: later lists replace the items whole). */
  readonly synced: boolean;
  readonly watching: boolean;
  readonly lists: number;
  readonly watchRestarts: number;
  readonly lastError: string | undefined;
  /** Items that vanished in a re-list and wait for a second list to confirm it. */
  readonly unconfirmed: number;
}

type WatchEnd = { kind: 'closed' } | { kind: 'expired' } | { kind: 'relist' } | { kind: 'failed'; error: unknown };

export interface SourceOptions {
  readonly pageSize?: number;
  readonly backoffBaseMs?: number;
  /**
   * When a re-list drops more than this share of the items (or all of them), the dropped items
   * stay until another list confirms they are gone: an empty or collapsed answer is no evidence.
   */
  readonly confirmVanishedFraction?: number;
  /** How long to wait before the confirming list. */
  readonly confirmDelayMs?: number;
  /** What the codec keeps, as a number that grows when it keeps more (see `listedEpoch`). */
  readonly epoch?: () => number;
}

export class ListWatch<T> {
  readonly items = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private watching = false;
  private lists = 0;
  /** Lists started, and the start number of the last one that completed (see `refresh`). */
  private listsStarted = 0;
  private lastListStarted = 0;
  private watchRestarts = 0;
  private lastError: string | undefined;
  private handle: WatchHandle | undefined;
  private endWatch: ((end: WatchEnd) => void) | undefined;
  private relistWanted = false;
  private vanished: ReadonlySet<string> | undefined;
  private epochListed = -1;
  /** Per item, the fingerprint of the last event parsed for it (see Codec.volatile). */
  private readonly fingerprints = new Map<string, string>();
  /** Events skipped unparsed (their text matched the item's fingerprint). */
  private skipped = 0;

  constructor(
    private readonly api: ResourceApi,
    private readonly codec: Codec<T>,
    private readonly log: Logger,
    private readonly onChanges: (changes: readonly Change<T>[]) => void,
    private readonly opts: SourceOptions = {},
  ) {}

  /**
   * Start over from a fresh list (when what a snapshot keeps has changed), whatever the source is
   * doing: a watch open is ended, a list under way is followed by another, a pause is cut short.
   */
  resync(): void {
    this.relistWanted = true;
    this.endWatch?.({ kind: 'relist' });
    this.wake?.();
  }

  /**
   * Asks for a list that starts from now (see `resync`) and returns whether one has completed:
   * what was listed or watched before, a pause of the process included, may be old.
   */
  refresh(): () => boolean {
    const mark = this.listsStarted;
    this.resync();
    return () => this.lastListStarted > mark;
  }

  /** The `epoch` the last complete list was made with: every item carries at least that much. */
  listedEpoch(): number {
    return this.epochListed;
  }

  /** Watch events handled without parsing, because their text matched the item's fingerprint. */
  skippedEvents(): number {
    return this.skipped;
  }

  status(): SourceStatus {
    return {
      synced: this.synced, watching: this.watching, lists: this.lists, watchRestarts: this.watchRestarts, lastError: this.lastError,
      unconfirmed: this.vanished?.size ?? 0,
    };
  }

  private wake: (() => void) | undefined;

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
      if (this.vanished !== undefined) {
        await this.sleep(this.opts.confirmDelayMs ?? 2_000, signal);
        continue; // the confirming list
      }
      while (!signal.aborted && !this.relistWanted) {
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
    await this.sleep(backoffDelay(attempt, this.opts.backoffBaseMs ?? 500), signal);
  }

  /** Sleeps, cut short by `resync()` or the signal. */
  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    await sleep(ms, undefined, { signal: AbortSignal.any([signal, woken.signal]) }).catch(() => undefined);
    this.wake = undefined;
  }

  private async relist(): Promise<void> {
    this.relistWanted = false;
    const started = ++this.listsStarted;
    const epoch = this.opts.epoch?.() ?? 0;
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
    const gone = [...this.items.keys()].filter((k) => !fresh.has(k));
    const confirming = this.vanished;
    this.vanished = undefined;
    const fraction = this.opts.confirmVanishedFraction;
    if (fraction !== undefined && confirming === undefined && gone.length > 0 && (fresh.size === 0 || gone.length / this.items.size > fraction)) {
      // Not evidence yet: keep them, and ask again before acting.
      this.vanished = new Set(gone);
      for (const k of gone) fresh.set(k, this.items.get(k)!);
      this.log.warn({ vanished: gone.length, before: this.items.size, listed: fresh.size - gone.length, sample: gone.slice(0, 5) },
        `${gone.length} of ${this.items.size} items vanished in one re-list: keeping them until another list confirms it`);
    } else if (confirming !== undefined) {
      const confirmed = gone.filter((k) => confirming.has(k)).length;
      this.log.warn({ confirmed, kept: confirming.size - confirmed }, `a second list confirmed ${confirmed} of ${confirming.size} vanished items`);
    }
    for (const [key, before] of this.items) {
      if (!fresh.has(key)) changes.push({ type: 'deleted', key, before, after: undefined, at });
    }
    for (const [key, after] of fresh) {
      const before = this.items.get(key);
      if (before === undefined) changes.push({ type: 'added', key, before, after, at });
      else if (!this.codec.same(before, after)) changes.push({ type: 'modified', key, before, after, at });
      // Unchanged: the snapshot already known stays (its strings are the ones records and
      // verdicts share), as a watch event that changes nothing leaves it.
      else fresh.set(key, before);
    }
    // In place: an unchanged item keeps its entry (and the key string its snapshot shares).
    for (const key of gone) if (!fresh.has(key)) this.items.delete(key);
    for (const [k, v] of fresh) if (this.items.get(k) !== v) this.items.set(k, v);
    // A listed object may differ from the version fingerprinted before: fingerprint afresh.
    this.fingerprints.clear();
    this.resourceVersion = rv;
    this.synced = true;
    this.lastListStarted = started;
    this.epochListed = epoch;
    this.log.debug({ items: fresh.size, resourceVersion: rv, changes: changes.length }, 'listed');
    // Told even without changes: a re-list asked for new labels is news by itself.
    this.onChanges(changes);
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
      const fields = this.codec.volatile?.();
      const volatile = fields === undefined ? undefined : volatilePattern(fields);
      let pending: string | undefined;
      const prefilter = volatile === undefined ? undefined : (text: string): boolean => {
        pending = undefined;
        const name = NAME_IN_TEXT.exec(text)?.[1];
        if (name === undefined) return false;
        const end = this.codec.readEnd?.(text, false) ?? text.length;
        const print = fingerprint(text, volatile, end);
        if (this.fingerprints.get(name) !== print) {
          // Parsed: kept to compare the next events with, so only up to an end checked.
          const checked = this.codec.readEnd?.(text, true) ?? text.length;
          pending = checked === end ? print : fingerprint(text, volatile, checked);
          return false;
        }
        const rv = RV_IN_TEXT.exec(text)?.[1];
        if (rv) this.resourceVersion = rv;
        this.skipped++;
        return true;
      };
      const onEvent = (type: string, object: unknown) => {
        const print = pending;
        pending = undefined;
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
        this.apply(type, object, print);
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
      this.api.watch(this.resourceVersion, onEvent, onDone, prefilter).then(
        (h) => { if (settled) h.abort(); else this.handle = h; },
        (err: unknown) => finish({ kind: 'failed', error: err }),
      );
    });
  }

  private apply(type: string, object: unknown, print?: string): void {
    const at = Date.now();
    const key = this.codec.key(object);
    if (key === undefined) {
      this.log.debug({ type }, 'ignoring a watch object without a name');
      return;
    }
    this.fingerprints.delete(key);
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
    // The item is now what this event holds: later events with the same masked text change nothing.
    if (print !== undefined) this.fingerprints.set(key, print);
    if (before !== undefined && this.codec.same(before, after)) return; // heartbeat: nothing that matters changed
    this.items.set(key, after);
    this.onChanges([{ type: before === undefined ? 'added' : 'modified', key, before, after, at }]);
  }
}
