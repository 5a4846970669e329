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
  /** The read waiting for bytes: `deliver` takes them (as one buffer or as parts). */
  #pending: { length: number; deliver: () => void; reject: (e: Error) => void } | undefined;

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
    return this.#wait(length, () => this.#take(length));
  }

  /**
   * Resolves with exactly `length` bytes as the parts they arrived in, back to back, none
   * empty: no copy of the whole. A part that spans its whole ArrayBuffer (byteOffset 0,
   * byteLength that of the buffer) is a received chunk taken entirely, which nothing else
   * refers to, so the caller may transfer it; any other part shares its ArrayBuffer with
   * bytes that are not the caller's.
   */
  readParts(length: number): Promise<Buffer[]> {
    return this.#wait(length, () => this.#takeParts(length));
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

  /** `tryRead` returning parts, as `readParts` describes them. */
  tryReadParts(length: number): Buffer[] | undefined {
    if (this.#pending !== undefined || this.#buffered < length) return undefined;
    const out = this.#takeParts(length);
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
      pending.deliver();
      if (this.#buffered <= this.#highWater && this.#stream.isPaused()) this.#stream.resume();
    } else if (this.#ended) {
      this.#pending = undefined;
      pending.reject(new NbdProtocolError('connection closed mid-message'));
    } else if (this.#stream.isPaused()) {
      this.#stream.resume();
    }
  }

  #wait<T>(length: number, take: () => T): Promise<T> {
    if (this.#pending !== undefined) return Promise.reject(new Error('ByteReader: one read at a time'));
    return new Promise((resolve, reject) => {
      this.#pending = { length, deliver: () => resolve(take()), reject };
      this.#serve();
    });
  }

  #takeParts(length: number): Buffer[] {
    const parts: Buffer[] = [];
    let left = length;
    while (left > 0) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) break;
      if (chunk.length <= left) {
        if (chunk.length > 0) parts.push(chunk);
        this.#chunks.shift();
        left -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, left));
        this.#chunks[0] = chunk.subarray(left);
        left = 0;
      }
    }
    this.#buffered -= length;
    return parts;
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
