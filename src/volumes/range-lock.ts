/**
 * Shared/exclusive locks over ranges of block numbers, granted first come first served.
 *
 * A request conflicts with every earlier one (held or still waiting) whose range overlaps
 * it, unless both are shared. Granting strictly in arrival order among conflicting
 * requests means a stream of reads can never starve a write, and two writes to the same
 * block always land in the order they were issued.
 */
export class RangeLock {
  readonly #entries: LockEntry[] = [];

  /**
   * Waits until the inclusive block range [first, last] may be used and returns the
   * release function (idempotent). Never rejects.
   */
  async acquire(first: number, last: number, exclusive: boolean): Promise<() => void> {
    const entry: LockEntry = { first, last, exclusive, granted: false, wake: noop };
    const blocked = conflictsBefore(this.#entries, this.#entries.length, entry);
    this.#entries.push(entry);
    if (blocked) {
      await new Promise<void>((resolve) => {
        entry.wake = resolve;
      });
    } else {
      entry.granted = true;
    }
    return () => this.#release(entry);
  }

  /**
   * Takes the range at once if nothing held or waiting conflicts with it, and returns its
   * release function (idempotent); else returns undefined and queues nothing (then call
   * `acquire`). Spares the caller a promise in the common, uncontended case.
   */
  tryAcquire(first: number, last: number, exclusive: boolean): (() => void) | undefined {
    const entry: LockEntry = { first, last, exclusive, granted: true, wake: noop };
    if (conflictsBefore(this.#entries, this.#entries.length, entry)) return undefined;
    this.#entries.push(entry);
    return () => this.#release(entry);
  }

  /** How many ranges are held or waited for; for tests and metrics. */
  get size(): number {
    return this.#entries.length;
  }

  #release(entry: LockEntry): void {
    const index = this.#entries.indexOf(entry);
    if (index < 0) return;
    this.#entries.splice(index, 1);
    for (let i = 0; i < this.#entries.length; i++) {
      const candidate = this.#entries[i];
      if (candidate === undefined || candidate.granted) continue;
      if (!conflictsBefore(this.#entries, i, candidate)) {
        candidate.granted = true;
        candidate.wake();
      }
    }
  }
}

interface LockEntry {
  readonly first: number;
  readonly last: number;
  readonly exclusive: boolean;
  granted: boolean;
  wake: () => void;
}

function conflicts(a: LockEntry, b: LockEntry): boolean {
  return (a.exclusive || b.exclusive) && a.first <= b.last && b.first <= a.last;
}

/**
 * Whether any of entries[0, end) conflicts with `entry`. A plain loop: this runs for every
 * request and every release, where a closure and a slice per call showed in profiles.
 */
function conflictsBefore(entries: readonly LockEntry[], end: number, entry: LockEntry): boolean {
  for (let i = 0; i < end; i++) {
    const other = entries[i];
    if (other !== undefined && conflicts(other, entry)) return true;
  }
  return false;
}

function noop(): void {}
