import { createDecipheriv } from 'node:crypto';
import type { SecretBytes } from '../secret-bytes.js';
import { DecryptionError } from '../errors.js';
import { nativeGcm } from '../native-gcm/binding.js';
import type { NativeGcmKey } from '../native-gcm/binding.js';
import { ChunkQueue } from './chunk-queue.js';
import type { RangePlan } from './sizes.js';
import {
  MAX_SEGMENTS,
  TAG_SIZE,
  assertObjectKey,
  deriveContentKey,
  encodeHeader,
  headerSize,
  nonceBuffer,
  parseSegmentHeader,
  segmentAads,
  setNonceSegment,
} from './format.js';

/** Options for opening a sealed object or a ranged slice of one. */
export interface OpenOptions {
  /** The same binding the object was sealed with; default empty. */
  readonly aad?: Buffer;
  /**
   * Open a slice: the input holds only `plan.segmentRange` of the sealed object, `header`
   * holds its `plan.headerRange`. Output is exactly the planned plaintext bytes.
   */
  readonly range?: { readonly header: Buffer; readonly plan: RangePlan };
}

interface Keyed {
  /** The content key for node:crypto (empty when the addon holds it). */
  key: Buffer;
  /** The content key inside OpenSSL, when the addon is in use. */
  gcm: NativeGcmKey | undefined;
  segmentSize: number;
  aads: readonly [Buffer, Buffer];
  nonce: Buffer;
}

/**
 * The synchronous core of the decryptor: sealed bytes in, verified plaintext out.
 *
 * Never returns plaintext of a segment before that segment's tag is verified. Every
 * failure (bad header, tag mismatch, wrong key or aad, truncation anywhere including at a
 * segment boundary, reordering, extension, trailing bytes) throws DecryptionError with no
 * hint; after one, the opener is dead and zeroes its key. Memory stays below one sealed
 * segment plus one input chunk. Throws InvalidCryptoArgumentError for a bad object key.
 */
export class SegmentOpener {
  readonly #objectKey: SecretBytes;
  readonly #aad: Buffer;
  readonly #queue = new ChunkQueue();
  #state: Keyed | undefined;
  #dead = false;
  #segment: number;
  /** Last segment expected (range mode) or undefined: read until the stream ends. */
  readonly #lastSegment: number | undefined;
  readonly #lastIsFinal: boolean;
  #skip: number;
  #keep: number;

  constructor(objectKey: SecretBytes, options: OpenOptions = {}) {
    assertObjectKey(objectKey);
    this.#objectKey = objectKey;
    this.#aad = options.aad ?? Buffer.alloc(0);
    const plan = options.range?.plan;
    this.#segment = plan?.firstSegment ?? 0;
    this.#lastSegment = plan?.lastSegment;
    this.#lastIsFinal = plan?.includesFinal ?? true;
    this.#skip = plan?.skip ?? 0;
    this.#keep = plan?.keep ?? Number.POSITIVE_INFINITY;
    if (options.range !== undefined) {
      const state = this.#keyFromHeader(options.range.header);
      if (state.segmentSize !== options.range.plan.segmentSize) this.#fail();
    }
  }

  /** Queues `chunk` (not copied) and returns the plaintext of every segment verified so far. */
  update(chunk: Buffer): Buffer[] {
    this.#alive();
    this.#queue.push(chunk);
    try {
      const state = this.#state ?? this.#readHeader();
      if (state === undefined) return [];
      return this.#openReady(state);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Ends the input: opens the last segment, checks nothing is missing or left over. */
  final(): Buffer[] {
    this.#alive();
    try {
      const state = this.#state ?? this.#readHeader();
      if (state === undefined) throw new DecryptionError();
      const out = this.#openReady(state);
      const rest = this.#queue.length;
      if (this.#lastSegment !== undefined && this.#segment > this.#lastSegment) {
        if (rest !== 0) throw new DecryptionError();
      } else {
        const allowEmpty = this.#segment === 0;
        if (!this.#lastIsFinal || rest < TAG_SIZE || (rest === TAG_SIZE && !allowEmpty)) throw new DecryptionError();
        this.#open(state, rest - TAG_SIZE, true, out);
      }
      if (this.#keep !== 0 && Number.isFinite(this.#keep)) throw new DecryptionError();
      this.dispose();
      return out;
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Zeroes the content key and drops queued ciphertext. Idempotent. */
  dispose(): void {
    this.#state?.key.fill(0);
    this.#state?.gcm?.dispose();
    this.#state = undefined;
    this.#dead = true;
    this.#queue.clear();
  }

  #alive(): void {
    if (this.#dead) throw new DecryptionError();
  }

  #fail(_cause?: unknown): never {
    // The cause is dropped on purpose: it could say which check failed.
    this.dispose();
    throw new DecryptionError();
  }

  #readHeader(): Keyed | undefined {
    if (this.#queue.length < headerSize) return undefined;
    return this.#keyFromHeader(this.#queue.takeContiguous(headerSize));
  }

  #keyFromHeader(bytes: Buffer): Keyed {
    const h = parseSegmentHeader(bytes);
    const header = encodeHeader(h.segmentSize, h.salt, h.noncePrefix);
    let key = deriveContentKey(this.#objectKey, h.salt);
    let gcm: NativeGcmKey | undefined;
    const native = nativeGcm();
    if (native !== undefined) {
      try {
        gcm = new native.GcmKey(key, false);
      } finally {
        key.fill(0);
      }
      key = Buffer.alloc(0);
    }
    this.#state = { key, gcm, segmentSize: h.segmentSize, aads: segmentAads(header, this.#aad), nonce: nonceBuffer(h.noncePrefix) };
    return this.#state;
  }

  /** Opens every segment that is complete and known not to be the final one. */
  #openReady(state: Keyed): Buffer[] {
    const out: Buffer[] = [];
    const unit = state.segmentSize + TAG_SIZE;
    for (;;) {
      const last = this.#lastSegment;
      if (last === undefined) {
        // Whole-stream mode: a full segment is the last one unless more bytes follow.
        if (this.#queue.length <= unit) break;
      } else if (this.#segment > last) {
        if (this.#queue.length > 0) throw new DecryptionError();
        break;
      } else if (this.#segment === last && this.#lastIsFinal) {
        if (this.#queue.length > unit) throw new DecryptionError();
        break;
      } else if (this.#queue.length < unit) {
        break;
      }
      this.#open(state, state.segmentSize, false, out);
    }
    return out;
  }

  #open(state: Keyed, plainLength: number, final: boolean, out: Buffer[]): void {
    if (this.#segment >= MAX_SEGMENTS) throw new DecryptionError();
    const ciphertext = this.#queue.take(plainLength);
    const tag = this.#queue.takeContiguous(TAG_SIZE);
    const nonce = setNonceSegment(state.nonce, this.#segment);
    const aad = state.aads[final ? 1 : 0];
    if (state.gcm !== undefined) {
      // allocUnsafe: the addon writes every byte, and zeroes them all again on a bad tag.
      const plain = Buffer.allocUnsafe(plainLength);
      if (!state.gcm.open(nonce, aad, ciphertext, tag, plain, 0)) throw new DecryptionError();
      this.#segment += 1;
      this.#emit(plain, out);
      return;
    }
    const decipher = createDecipheriv('aes-256-gcm', state.key, nonce, { authTagLength: TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const plain = ciphertext.map((piece) => decipher.update(piece));
    decipher.final(); // throws on a bad tag: nothing from `plain` has left this function yet
    this.#segment += 1;
    for (const piece of plain) this.#emit(piece, out);
  }

  /** Applies the range plan's skip/keep to verified plaintext. */
  #emit(piece: Buffer, out: Buffer[]): void {
    let p = piece;
    if (this.#skip > 0) {
      const drop = Math.min(this.#skip, p.length);
      this.#skip -= drop;
      p = p.subarray(drop);
    }
    if (p.length > this.#keep) p = p.subarray(0, this.#keep);
    this.#keep -= p.length;
    if (p.length > 0) out.push(p);
  }
}
