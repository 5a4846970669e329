/**
 * Input bytes waiting to become a whole segment, kept as the caller's chunks (views, no
 * copies) so that misaligned 64 KiB reads cost nothing extra. `take` hands back pieces
 * that add up to the requested length; past a handful of pieces (a caller writing tiny
 * chunks) it joins them so that the cipher sees few large calls.
 */
export class ChunkQueue {
  #pieces: Buffer[] = [];
  #head = 0; // index of the first live piece; avoids O(n) shift() for many tiny chunks
  #length = 0;

  /** Bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Queues `chunk` without copying; the caller must not modify it afterwards. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#pieces.push(chunk);
    this.#length += chunk.length;
  }

  /** Removes and returns the first `n` bytes (n ≤ length) as one or more pieces. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.#pieces[this.#head];
      if (head === undefined) throw new Error('ChunkQueue.take past the end');
      if (head.length <= need) {
        out.push(head);
        this.#head += 1;
        need -= head.length;
      } else {
        out.push(head.subarray(0, need));
        this.#pieces[this.#head] = head.subarray(need);
        need = 0;
      }
    }
    this.#length -= n;
    if (this.#head > 64 && this.#head * 2 > this.#pieces.length) {
      this.#pieces = this.#pieces.slice(this.#head);
      this.#head = 0;
    }
    return out.length > MAX_PIECES ? [Buffer.concat(out, n)] : out;
  }

  /** Removes and returns the first `n` bytes as one contiguous buffer. */
  takeContiguous(n: number): Buffer {
    const pieces = this.take(n);
    return pieces.length === 1 && pieces[0] !== undefined ? pieces[0] : Buffer.concat(pieces, n);
  }

  /** Drops every queued reference. */
  clear(): void {
    this.#pieces = [];
    this.#head = 0;
    this.#length = 0;
  }
}

const MAX_PIECES = 8;
