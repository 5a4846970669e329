/**
 * Keeps an in-memory cache exact against a store that other processes write: the store's
 * change count (a number that moves with every write, by any process; see
 * KeyStore.changeCount) is read at most once per synchronous run, and when it moved the cache
 * is dropped (`drop`).
 *
 * Once per run suffices: a request is handled in runs that begin after its bytes were read
 * from its socket, so after every write whose answer its client had seen; the one read made
 * in the run is after that write too. (No socket is read while a run lasts: a run is one
 * callback and the microtasks it queues; the memo is cleared by a microtask.)
 *
 * A value read from the store after `check()` returned `seen` may be kept in the cache only
 * while `stillAt(seen)`: then nothing dropped the cache since, and the value is at least as new
 * as the count. A count of NaN ("changing now") keeps nothing: it equals no count.
 */
export class ChangeWatch {
  readonly #count: () => number;
  readonly #drop: () => void;
  #seen = NaN;
  #checked = false;
  readonly #endRun = (): void => {
    this.#checked = false;
  };

  constructor(count: () => number, drop: () => void) {
    this.#count = count;
    this.#drop = drop;
  }

  /** Drops the cache if the store changed since it was last read; returns the count the cache is valid at. */
  check(): number {
    if (this.#checked) return this.#seen;
    // Read first: a read that throws (an I/O error) leaves the run unchecked, so the next
    // check reads again rather than answering the count the cache was read at.
    const now = this.#count();
    this.#checked = true;
    queueMicrotask(this.#endRun);
    if (now !== this.#seen) {
      this.#drop();
      this.#seen = now;
    }
    return now;
  }

  /** Whether what was read after check() returned `seen` may still be kept (see the class comment). */
  stillAt(seen: number): boolean {
    return seen === this.#seen;
  }
}
