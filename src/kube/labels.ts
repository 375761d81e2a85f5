/**
 * The node labels snapshots keep: the base ones, NODE_SELECTOR's and every claimed hostname's
 * selector's. Keys are only ever added, in order, so a count says which keys a list carried.
 */
export class LabelsOfInterest {
  private readonly keys: string[] = [];
  readonly set = new Set<string>();

  constructor(initial: Iterable<string>) {
    this.add(initial);
  }

  /** Adds keys; true when one was new (the nodes must then be re-listed to carry it). */
  add(keys: Iterable<string>): boolean {
    let added = false;
    for (const k of keys) {
      if (this.set.has(k)) continue;
      this.set.add(k);
      this.keys.push(k);
      added = true;
    }
    return added;
  }

  /** How many keys there are now (the epoch a list is made with). */
  get size(): number {
    return this.keys.length;
  }

  /** The keys a list made at `epoch` carries. */
  carried(epoch: number): ReadonlySet<string> {
    return new Set(this.keys.slice(0, Math.max(0, epoch)));
  }
}
