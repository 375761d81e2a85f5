/** The shape of each benchmark's part of the JSON document. */

export interface Target {
  readonly target: string;
  readonly met: boolean;
  /** Why it was missed (or what qualifies a pass). */
  readonly why?: string;
}

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json | undefined };

export interface BenchOutcome {
  readonly params: { readonly [key: string]: Json | undefined };
  readonly results: { readonly [key: string]: Json | undefined };
  readonly targets: readonly Target[];
}

export interface BenchReport extends Partial<BenchOutcome> {
  readonly durationS: number;
  /** os.loadavg() when the benchmark started and ended: other work on the machine skews timings. */
  readonly loadavg: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly error?: string;
}

export interface BenchOptions {
  readonly quick: boolean;
  /** Overrides the length of the heartbeat run of the memory benchmark (seconds). */
  readonly runSeconds?: number;
}
