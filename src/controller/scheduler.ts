/**
 * When the loop runs: one job at a time, never sooner than a failure's back-off allows. Events
 * fire on the leading edge — the first after a quiet spell runs at once, later ones in a burst
 * gather into the next run — so a retirement is acted on at the network's speed and a burst of
 * a hundred still costs two runs. Every timer is clamped (see util/timers.ts).
 */
import { safeTimeout } from '../util/timers.js';

export interface Job {
  /** Re-read Cloudflare first. */
  readonly refresh: boolean;
  readonly reasons: readonly string[];
}

export interface SchedulerOptions {
  /** Events within this long after a run started wait for the next run. */
  readonly quietMs: number;
  readonly now?: () => number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  /** The run asked for: what for, and no later than `due` (ms epoch), also when asked while a job runs. */
  private pending: { refresh: boolean; reasons: Set<string>; due: number } | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private notBefore = 0;
  private lastStart = -Infinity;
  /** When the running job began (ms epoch), or undefined when idle. */
  busySince: number | undefined;
  /** The last time the loop did anything: a job ended or a timer fired. */
  lastProgressAt: number;

  constructor(private readonly runJob: (job: Job) => Promise<void>, private readonly opts: SchedulerOptions) {
    this.lastProgressAt = this.now();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Asks for a run within `delayMs` (no sooner than a back-off allows); a refresh re-reads Cloudflare. */
  request(reason: string, refresh: boolean, delayMs: number): void {
    if (this.stopped) return;
    this.pending = {
      refresh: refresh || (this.pending?.refresh ?? false),
      reasons: new Set([...(this.pending?.reasons ?? []), reason]),
      due: Math.min(this.pending?.due ?? Infinity, this.now() + Math.max(0, delayMs)),
    };
    if (this.running) return; // armed when the running job ends, with the delay asked for now
    this.arm();
  }

  private arm(): void {
    if (this.pending === undefined) return;
    const due = Math.max(this.pending.due, this.notBefore);
    if (this.timer && due >= this.timerDue) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = safeTimeout(() => this.fire(), due - this.now());
  }

  /** Something changed: run at once after a quiet spell, else with the rest of the burst. */
  trigger(reason: string): void {
    const since = this.now() - this.lastStart;
    this.request(reason, false, since >= this.opts.quietMs ? 0 : this.opts.quietMs - since);
  }

  /** No run before `at` (ms epoch), whatever asks for one: a Retry-After or a back-off. */
  holdOff(at: number): void {
    this.notBefore = at;
  }

  /** Called by a job when it succeeded: triggers may run at once again. */
  clearHoldOff(): void {
    this.notBefore = 0;
  }

  isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Resolves when no job is running or waiting (for tests and one-shot runs). */
  async idle(): Promise<void> {
    while (this.running || this.pending) {
      await (this.running ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  /** Stops timers and waits (bounded) for a running job. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pending = undefined;
    if (this.running) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.running, new Promise((r) => { t = setTimeout(r, graceMs); })]);
      clearTimeout(t);
    }
  }

  /** Marks progress from outside a job (a timer that fired). */
  tick(): void {
    this.lastProgressAt = this.now();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    if (this.stopped || this.running || !this.pending) return;
    if (this.now() < this.notBefore) { // a back-off started after this timer was set
      this.arm();
      return;
    }
    const job = { refresh: this.pending.refresh, reasons: [...this.pending.reasons] };
    this.pending = undefined;
    this.lastStart = this.now();
    this.busySince = this.lastStart;
    this.running = this.runJob(job).catch(() => undefined).finally(() => {
      this.running = undefined;
      this.busySince = undefined;
      this.lastProgressAt = this.now();
      if (!this.stopped) this.arm();
    });
  }
}
