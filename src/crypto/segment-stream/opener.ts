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

/** One segment taken from the queue, ready to open: its ciphertext, tag and final flag. */
interface Ready {
  readonly segment: number;
  readonly length: number;
  readonly ciphertext: Buffer[];
  readonly tag: Buffer;
  readonly final: boolean;
}

/**
 * Below this much ciphertext a call to updateAsync opens on the calling thread: a thread-pool
 * trip (~10 µs of latency) buys nothing for a segment or two of a small ranged read.
 */
const ASYNC_MIN_BYTES = 128 * 1024;
/** Segments per native batch (the addon's bound); a larger input is opened as several at once. */
const MAX_BATCH = 256;

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
  /** An updateAsync is in flight: every other call is refused until it settles. */
  #busy = false;
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
      return this.#openAll(state, this.#takeReady(state, false));
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
      const out = this.#openAll(state, this.#takeReady(state, true));
      this.#end();
      return out;
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * `update(chunk)`, followed by `final()` when `end`, with the segments opened on the libuv
   * thread pool (the addon's GcmKey#openBatch) when the addon is loaded and they hold at
   * least 128 KiB; on the calling thread otherwise. Resolves to the same plaintext, with the
   * same checks: nothing of a batch is returned unless every one of its tags verified, and
   * every failure rejects with DecryptionError and kills the opener. `chunk` and the bytes
   * queued before it must stay unchanged until the promise settles; at most one call may be
   * in flight (any call meanwhile is refused with DecryptionError). A dispose while it is in
   * flight makes it reject: nothing is returned after a dispose.
   */
  async updateAsync(chunk: Buffer, end: boolean): Promise<Buffer[]> {
    this.#alive();
    this.#queue.push(chunk);
    let state: Keyed | undefined;
    let ready: Ready[];
    try {
      state = this.#state ?? this.#readHeader();
      if (state === undefined && end) throw new DecryptionError();
      ready = state === undefined ? [] : this.#takeReady(state, end);
    } catch (err) {
      this.#fail(err);
    }
    const gcm = state?.gcm;
    if (state === undefined || gcm === undefined || ready.reduce((n, r) => n + r.length, 0) < ASYNC_MIN_BYTES) {
      try {
        const out = state === undefined ? [] : this.#openAll(state, ready);
        if (end) this.#end();
        return out;
      } catch (err) {
        this.#fail(err);
      }
    }
    const plain = ready.map((r) => Buffer.allocUnsafe(r.length));
    this.#busy = true;
    let ok: boolean;
    try {
      ok = (await Promise.all(batchesOf(ready).map((batch) => this.#openBatch(gcm, state, batch, plain)))).every(Boolean);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#busy = false;
    }
    // A refused batch zeroed its own outs; the others are dropped unreturned, as update() drops
    // the segments it opened before a failure.
    if (!ok || this.#dead) this.#fail();
    try {
      const out: Buffer[] = [];
      for (const piece of plain) this.#emit(piece, out);
      if (end) this.#end();
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
    if (this.#dead || this.#busy) throw new DecryptionError();
  }

  /** After the last segment: every planned byte was emitted; the key is zeroed. */
  #end(): void {
    if (this.#keep !== 0 && Number.isFinite(this.#keep)) throw new DecryptionError();
    this.dispose();
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

  /**
   * Takes from the queue every segment that is complete and known not to be the final one,
   * and with `end` (the input is over) the final one too, after checking that nothing is
   * missing or left over. Raises DecryptionError for a stream that cannot be whole.
   */
  #takeReady(state: Keyed, end: boolean): Ready[] {
    const ready: Ready[] = [];
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
      ready.push(this.#take(state.segmentSize, false));
    }
    if (!end) return ready;
    const rest = this.#queue.length;
    if (this.#lastSegment !== undefined && this.#segment > this.#lastSegment) {
      if (rest !== 0) throw new DecryptionError();
    } else {
      const allowEmpty = this.#segment === 0;
      if (!this.#lastIsFinal || rest < TAG_SIZE || (rest === TAG_SIZE && !allowEmpty)) throw new DecryptionError();
      ready.push(this.#take(rest - TAG_SIZE, true));
    }
    return ready;
  }

  #take(length: number, final: boolean): Ready {
    if (this.#segment >= MAX_SEGMENTS) throw new DecryptionError();
    const ciphertext = this.#queue.take(length);
    const tag = this.#queue.takeContiguous(TAG_SIZE);
    const segment = this.#segment;
    this.#segment += 1;
    return { segment, length, ciphertext, tag, final };
  }

  /** Opens `ready` in order on this thread; raises DecryptionError at the first bad tag. */
  #openAll(state: Keyed, ready: readonly Ready[]): Buffer[] {
    const out: Buffer[] = [];
    for (const r of ready) this.#open(state, r, out);
    return out;
  }

  #open(state: Keyed, r: Ready, out: Buffer[]): void {
    const nonce = setNonceSegment(state.nonce, r.segment);
    const aad = state.aads[r.final ? 1 : 0];
    if (state.gcm !== undefined) {
      // allocUnsafe: the addon writes every byte, and zeroes them all again on a bad tag.
      const plain = Buffer.allocUnsafe(r.length);
      if (!state.gcm.open(nonce, aad, r.ciphertext, r.tag, plain, 0)) throw new DecryptionError();
      this.#emit(plain, out);
      return;
    }
    const decipher = createDecipheriv('aes-256-gcm', state.key, nonce, { authTagLength: TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(r.tag);
    const plain = r.ciphertext.map((piece) => decipher.update(piece));
    decipher.final(); // throws on a bad tag: nothing from `plain` has left this function yet
    for (const piece of plain) this.#emit(piece, out);
  }

  /** `batch` (consecutive entries of the ready list, `plain` their outs by index) on the pool. */
  #openBatch(gcm: NativeGcmKey, state: Keyed, batch: { readonly from: number; readonly ready: readonly Ready[] }, plain: readonly Buffer[]): Promise<boolean> {
    const { from, ready } = batch;
    const first = ready[0]!;
    return gcm.openBatch(
      state.nonce,
      first.segment,
      state.aads[0],
      state.aads[1],
      ready[ready.length - 1]!.final,
      ready.map((r) => (r.ciphertext.length === 1 ? r.ciphertext[0]! : Buffer.concat(r.ciphertext, r.length))),
      ready.map((r) => r.tag),
      plain.slice(from, from + ready.length),
    );
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

/** `ready` cut into runs the addon takes in one call (at most MAX_BATCH segments each). */
function batchesOf(ready: readonly Ready[]): Array<{ readonly from: number; readonly ready: readonly Ready[] }> {
  const out: Array<{ from: number; ready: readonly Ready[] }> = [];
  for (let from = 0; from < ready.length; from += MAX_BATCH) out.push({ from, ready: ready.slice(from, from + MAX_BATCH) });
  return out;
}
