/**
 * Kubernetes Events (events.k8s.io/v1, reporting controller `epictetus`), so that
 * `kubectl describe node` shows what Epictetus did and why. Rate-limited, fire-and-forget:
 * an Event that cannot be written is logged and dropped, never in the way of DNS work.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import type { KubeConnection } from './api.js';
import { microTime } from './micro-time.js';

export interface EventTarget {
  readonly kind: 'Node' | 'Service';
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly uid?: string | undefined;
}

export interface EventSpec {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

/** An events.k8s.io/v1 Event as written. */
export interface KubeEvent {
  readonly apiVersion: 'events.k8s.io/v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  /** MicroTime: six fractional digits. */
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  readonly type: 'Normal' | 'Warning';
  readonly note: string;
  readonly regarding: { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace?: string; readonly uid?: string };
}

export interface EventSink { create(namespace: string, body: KubeEvent): Promise<unknown> }

export interface EventRecorderOptions {
  readonly instance: string;
  /** The same object and reason at most once per this many ms. */
  readonly perObjectIntervalMs?: number;
  /** At most this many Events per minute in all. */
  readonly perMinute?: number;
}

export const REPORTING_CONTROLLER = 'epictetus';

export function eventSink(client: KubeConnection): EventSink {
  return {
    create: (namespace, body) => client.request({
      method: 'POST', path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      what: `create event in ${namespace}`, body,
    }),
  };
}

export class EventRecorder {
  private readonly last = new Map<string, number>();
  private window: number[] = [];
  private failures = 0;

  constructor(private readonly sink: EventSink, private readonly log: Logger, private readonly opts: EventRecorderOptions) {}

  /** Records an Event unless rate-limited; returns at once. */
  record(target: EventTarget, spec: EventSpec): void {
    const now = Date.now();
    const key = `${target.kind}/${target.namespace ?? ''}/${target.name}/${spec.reason}`;
    const interval = this.opts.perObjectIntervalMs ?? 60_000;
    if (now - (this.last.get(key) ?? -Infinity) < interval) return;
    this.window = this.window.filter((t) => now - t < 60_000);
    if (this.window.length >= (this.opts.perMinute ?? 60)) return;
    this.last.set(key, now);
    this.window.push(now);
    if (this.last.size > 10_000) this.prune(now, interval);
    // Events about cluster-scoped objects (Nodes) live in the default namespace.
    const namespace = target.namespace ?? 'default';
    const body: KubeEvent = {
      apiVersion: 'events.k8s.io/v1', kind: 'Event',
      metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace },
      eventTime: microTime(now),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.opts.instance.slice(0, 128),
      action: spec.action, reason: spec.reason, type: spec.type, note: spec.note.slice(0, 1000),
      regarding: { apiVersion: 'v1', kind: target.kind, name: target.name, ...(target.namespace ? { namespace: target.namespace } : {}), ...(target.uid ? { uid: target.uid } : {}) },
    };
    this.sink.create(namespace, body).catch(
      (err: unknown) => {
        this.failures++;
        const log = this.failures === 1 || this.failures % 100 === 0 ? this.log.warn.bind(this.log) : this.log.debug.bind(this.log);
        log({ err: errorMessage(err), reason: spec.reason, object: `${target.kind}/${target.name}`, failures: this.failures }, 'could not record a Kubernetes Event');
      },
    );
  }

  private prune(now: number, interval: number): void {
    for (const [k, t] of this.last) if (now - t >= interval) this.last.delete(k);
  }
}
