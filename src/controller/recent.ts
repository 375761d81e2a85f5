/** What the loop remembers for a while: deleted nodes' addresses, health removals, refused operations. */
import type { Refusal } from '../reconcile/plan.js';

/** IPs of nodes deleted recently -> node name, only to say which node a removal was for. */
export class FormerNodes {
  private readonly byIp = new Map<string, { name: string; at: number }>();

  constructor(private readonly memoryMs = 15 * 60_000) {}

  deleted(name: string, ips: readonly string[], at: number): void {
    for (const ip of ips) this.byIp.set(ip, { name, at });
  }

  map(now: number): Map<string, string> {
    const out = new Map<string, string>();
    for (const [ip, { name, at }] of this.byIp) {
      if (now - at > this.memoryMs) this.byIp.delete(ip);
      else out.set(ip, name);
    }
    return out;
  }
}

/** Health removals this recent count against the mass-removal guard together with new ones. */
export class HealthRemovalWindow {
  private removals: Array<{ key: string; at: number }> = [];

  constructor(readonly windowMs = 5 * 60_000) {}

  add(key: string, at: number): void {
    this.removals.push({ key, at });
  }

  counts(now: number): Map<string, number> {
    this.removals = this.removals.filter((r) => now - r.at < this.windowMs);
    const out = new Map<string, number>();
    for (const r of this.removals) out.set(r.key, (out.get(r.key) ?? 0) + 1);
    return out;
  }
}

/** Operations Cloudflare refused: set aside (not planned again) for a while, then tried once more. */
export class Refusals {
  private readonly byKey = new Map<string, Refusal & { until: number }>();

  constructor(private readonly memoryMs = 10 * 60_000) {}

  add(refused: ReadonlyMap<string, Refusal>, now: number): void {
    for (const [k, r] of refused) this.byKey.set(k, { ...r, until: now + this.memoryMs });
  }

  current(now: number): Map<string, Refusal> {
    const out = new Map<string, Refusal>();
    for (const [k, { until, ...r }] of this.byKey) {
      if (now >= until) this.byKey.delete(k);
      else out.set(k, r);
    }
    return out;
  }
}
