/** A monotonic clock and a wall clock that move only when a test says so (for LeaderElector). */
import type { LeaderClock } from '../../src/kube/leader.js';

/** Lets every promise callback and I/O callback that is ready run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export class ManualClock implements LeaderClock {
  private t = 1_000_000;
  /** Wall time minus monotonic time: stepping the wall clock changes only this. */
  private wallOffset = Date.UTC(2025, 0, 1) - 1_000_000;
  private sleepers: Array<{ at: number; wake: () => void }> = [];

  now(): number {
    return this.t;
  }

  wall(): number {
    return this.t + this.wallOffset;
  }

  /** Steps the wall clock (as NTP or an operator might); the monotonic clock does not move. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) { resolve(); return; }
      const sleeper = { at: this.t + ms, wake: () => { signal?.removeEventListener('abort', onAbort); resolve(); } };
      const onAbort = () => { this.sleepers = this.sleepers.filter((s) => s !== sleeper); resolve(); };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Moves the monotonic clock (and the wall clock with it), waking sleepers in time order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const due = this.sleepers.filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.t = Math.max(this.t, due.at);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.wake();
      await settle();
    }
    this.t = end;
    await settle();
  }
}
