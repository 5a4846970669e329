import { createCipheriv } from 'node:crypto';
import type { SecretBytes } from '../secret-bytes.js';
import { InvalidCryptoArgumentError } from '../errors.js';
import { publicRandomBytes } from '../random-pool.js';
import { nativeGcm } from '../native-gcm/binding.js';
import type { NativeGcmKey } from '../native-gcm/binding.js';
import { ChunkQueue } from './chunk-queue.js';
import {
  DEFAULT_SEGMENT_SIZE,
  MAX_SEGMENTS,
  NONCE_PREFIX_SIZE,
  SALT_SIZE,
  TAG_SIZE,
  assertSegmentSize,
  deriveContentKey,
  encodeHeader,
  nonceBuffer,
  segmentAads,
  setNonceSegment,
} from './format.js';

/** Options for sealing one object. */
export interface SealOptions {
  /** Object binding (bucket, key, version/upload id), encoded by the caller; default empty. */
  readonly aad?: Buffer;
  /** Plaintext bytes per segment; default 64 KiB. Recorded in the header. */
  readonly segmentSize?: number;
}

/** Source of the header's random salt and nonce prefix. Tests inject a fixed one. */
export type RandomSource = (size: number) => Buffer;

/**
 * The synchronous core of the encryptor: plaintext chunks in, sealed bytes out.
 *
 * `update` returns the pieces of sealed stream that are ready (the header first, then
 * every segment known not to be the last); `final` seals the last segment (empty for an
 * empty object) and returns the rest. Memory stays below one segment plus one chunk: a
 * full segment is held back only until one more byte shows it is not the last. The
 * content key is zeroed after `final` or `dispose`. Never touches the object key's bytes
 * beyond the HKDF call, and never logs.
 *
 * With the native addon (src/crypto/native-gcm/) the content key lives only inside an
 * OpenSSL context from construction on (the JS copy is zeroed at once) and each segment is
 * sealed into one new buffer, ciphertext ‖ tag; without it, node:crypto does the same bytes.
 */
export class SegmentSealer {
  readonly #segmentSize: number;
  readonly #header: Buffer;
  readonly #aads: readonly [Buffer, Buffer];
  readonly #nonce: Buffer;
  readonly #queue = new ChunkQueue();
  /** The content key for node:crypto, when the addon is not in use. */
  #key: Buffer | undefined;
  /** The content key inside OpenSSL, when the addon is in use. */
  #gcm: NativeGcmKey | undefined;
  #segment = 0;
  #headerSent = false;

  /**
   * Throws InvalidCryptoArgumentError for a key that is not 32 live bytes or a segment
   * size outside the format's limits. `random` is for known-answer tests only.
   */
  constructor(objectKey: SecretBytes, options: SealOptions = {}, random: RandomSource = publicRandomBytes) {
    this.#segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    assertSegmentSize(this.#segmentSize);
    const salt = random(SALT_SIZE);
    const prefix = random(NONCE_PREFIX_SIZE);
    const key = deriveContentKey(objectKey, salt);
    const native = nativeGcm();
    if (native === undefined) {
      this.#key = key;
    } else {
      try {
        this.#gcm = new native.GcmKey(key, true);
      } finally {
        key.fill(0);
      }
    }
    this.#header = encodeHeader(this.#segmentSize, salt, prefix);
    this.#aads = segmentAads(this.#header, options.aad ?? Buffer.alloc(0));
    this.#nonce = nonceBuffer(prefix);
  }

  /** The header bytes this sealer writes (not secret). */
  get header(): Buffer {
    return this.#header;
  }

  /** Queues `chunk` (not copied; do not modify it) and returns the sealed bytes now ready. */
  update(chunk: Buffer): Buffer[] {
    const out = this.#start();
    this.#queue.push(chunk);
    // Strictly greater: a full segment with nothing after it may be the last one.
    while (this.#queue.length > this.#segmentSize) {
      this.#seal(this.#queue.take(this.#segmentSize), this.#segmentSize, false, out);
    }
    return out;
  }

  /** Seals the last segment, returns the remaining sealed bytes and zeroes the key. */
  final(): Buffer[] {
    const out = this.#start();
    const length = this.#queue.length;
    this.#seal(this.#queue.take(length), length, true, out);
    this.dispose();
    return out;
  }

  /** Zeroes the content key and drops queued plaintext. Idempotent. */
  dispose(): void {
    this.#key?.fill(0);
    this.#key = undefined;
    this.#gcm?.dispose();
    this.#gcm = undefined;
    this.#queue.clear();
  }

  #start(): Buffer[] {
    if (this.#headerSent) return [];
    this.#headerSent = true;
    return [this.#header];
  }

  #seal(pieces: Buffer[], length: number, final: boolean, out: Buffer[]): void {
    const key = this.#key;
    const gcm = this.#gcm;
    if (key === undefined && gcm === undefined) throw new InvalidCryptoArgumentError('sealer used after final or dispose');
    if (this.#segment >= MAX_SEGMENTS) throw new InvalidCryptoArgumentError('object exceeds the format limit');
    const nonce = setNonceSegment(this.#nonce, this.#segment);
    const aad = this.#aads[final ? 1 : 0];
    if (gcm !== undefined) {
      // allocUnsafe: the addon writes every byte of it (ciphertext, then the tag).
      const sealed = Buffer.allocUnsafe(length + TAG_SIZE);
      gcm.seal(nonce, aad, pieces, sealed, 0);
      out.push(sealed);
    } else if (key !== undefined) {
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
      cipher.setAAD(aad);
      for (const piece of pieces) out.push(cipher.update(piece));
      cipher.final();
      out.push(cipher.getAuthTag());
    }
    this.#segment += 1;
  }
}
