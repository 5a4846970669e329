import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { secretRandomBytes } from './random-pool.js';

const REDACTED = '[SecretBytes redacted]';

/**
 * Key material in memory.
 *
 * Its string, JSON and inspect forms are redacted, so a key that reaches a log line or an
 * error message shows nothing. `dispose()` zeroes the bytes; call it in `finally` once the
 * material is no longer needed. Equality is constant-time. The raw bytes are reachable
 * only through `unsafeBytes()`, whose name says what it does.
 */
export class SecretBytes {
  #bytes: Buffer;
  #disposed = false;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** Takes ownership of `bytes` (no copy): the caller must not keep using the buffer. */
  static adopt(bytes: Buffer): SecretBytes {
    return new SecretBytes(bytes);
  }

  /** Copies `bytes` into fresh memory owned by the SecretBytes. */
  static copyOf(bytes: Uint8Array): SecretBytes {
    return new SecretBytes(Buffer.from(bytes));
  }

  /** Fresh random material from the OS CSPRNG (short lengths through secretRandomBytes' pool, whose copy is zeroed at once). */
  static random(length: number): SecretBytes {
    return new SecretBytes(secretRandomBytes(length));
  }

  get length(): number {
    return this.#bytes.length;
  }

  /**
   * The raw bytes, shared (not copied). Only for handing to node:crypto or to a sealed
   * response; never log or persist what this returns. Throws once disposed.
   */
  unsafeBytes(): Buffer {
    if (this.#disposed) throw new Error('SecretBytes used after dispose');
    return this.#bytes;
  }

  /** Constant-time equality; false for different lengths. */
  equals(other: SecretBytes): boolean {
    const a = this.unsafeBytes();
    const b = other.unsafeBytes();
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Zeroes the bytes. Idempotent. */
  dispose(): void {
    if (!this.#disposed) {
      this.#bytes.fill(0);
      this.#disposed = true;
    }
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Runs `fn` with `secret` and zeroes it afterwards, whatever happens. */
export function withSecret<T>(secret: SecretBytes, fn: (s: SecretBytes) => T): T {
  try {
    return fn(secret);
  } finally {
    secret.dispose();
  }
}
