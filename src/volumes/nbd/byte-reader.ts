import type { Duplex } from 'node:stream';
import { NbdProtocolError } from '../errors.js';

/**
 * Exact-length reads from a stream, for a protocol parser: `read(n)` resolves with
 * exactly n bytes, or rejects with NbdProtocolError once the stream ends or fails first.
 * Only one read may be pending at a time. Pauses the stream while more than
 * `highWater` bytes are buffered, so a fast client cannot make us buffer without bound.
 */
export class ByteReader {
  readonly #stream: Duplex;
  readonly #highWater: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;
  #pending: { length: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;

  readonly #onData = (chunk: Buffer): void => {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered > this.#highWater) this.#stream.pause();
    this.#serve();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#serve();
  };

  constructor(stream: Duplex, highWater: number) {
    this.#stream = stream;
    this.#highWater = highWater;
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onEnd);
    stream.on('error', this.#onEnd);
  }

  /** Resolves with exactly `length` bytes (a fresh or owned buffer). */
  read(length: number): Promise<Buffer> {
    if (this.#pending !== undefined) return Promise.reject(new Error('ByteReader: one read at a time'));
    return new Promise((resolve, reject) => {
      this.#pending = { length, resolve, reject };
      this.#serve();
    });
  }

  /**
   * Returns exactly `length` bytes at once if they are buffered and no read is pending,
   * else undefined (then use `read`): no promise, for a parser's fast path.
   */
  tryRead(length: number): Buffer | undefined {
    if (this.#pending !== undefined || this.#buffered < length) return undefined;
    const out = this.#take(length);
    if (this.#buffered <= this.#highWater && this.#stream.isPaused()) this.#stream.resume();
    return out;
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Stops listening to the stream (before handing it to TLS). */
  detach(): void {
    this.#stream.off('data', this.#onData);
    this.#stream.off('end', this.#onEnd);
    this.#stream.off('close', this.#onEnd);
    this.#stream.off('error', this.#onEnd);
  }

  #serve(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    if (this.#buffered >= pending.length) {
      this.#pending = undefined;
      pending.resolve(this.#take(pending.length));
      if (this.#buffered <= this.#highWater && this.#stream.isPaused()) this.#stream.resume();
    } else if (this.#ended) {
      this.#pending = undefined;
      pending.reject(new NbdProtocolError('connection closed mid-message'));
    } else if (this.#stream.isPaused()) {
      this.#stream.resume();
    }
  }

  #take(length: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= length) {
      // The common case needs no copy: a view of the first chunk.
      const out = first.subarray(0, length);
      if (first.length === length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(length);
      this.#buffered -= length;
      return out;
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) break;
      const n = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    this.#buffered -= length;
    return out;
  }
}
