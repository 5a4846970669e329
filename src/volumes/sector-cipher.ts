import { timingSafeEqual } from 'node:crypto';
import type { SecretBytes } from '../crypto/secret-bytes.js';
import { SectorCipherKeyError, VolumeRangeError } from './errors.js';
import { xtsApply, xtsEcbClose, xtsEcbOpen } from './xts-mode.js';
import type { XtsEcb } from './xts-mode.js';
import { xtsSimdCreate } from './xts-simd.js';
import type { XtsSimd } from './xts-simd.js';

/** AES-256-XTS takes two AES-256 keys: 64 bytes in all. */
export const XTS_KEY_BYTES = 64;

/** The data unit of a volume: one XTS data unit per 4 KiB block. */
export const VOLUME_BLOCK_SIZE = 4096;

/** This thread's SIMD kernel for the XTS passes, made on first use (null: not yet). */
let simdKernel: XtsSimd | undefined | null = null;

/**
 * AES-256-XTS (IEEE 1619) over fixed-size blocks, the block number being the tweak
 * (the data unit sequence number, 128-bit little-endian, as IEEE 1619 and dm-crypt's
 * `plain64` use it).
 *
 * XTS is length-preserving and unauthenticated: it hides data and makes each block's
 * ciphertext depend on its position, but it cannot detect tampering, and rewriting a
 * block with the same plaintext gives the same ciphertext. That is the price of a block
 * device whose sector n is stored at sector n.
 *
 * The mode runs over long-lived AES-256-ECB cipher objects (`xts-mode.ts`): Node cannot
 * re-tweak an `aes-256-xts` cipher, and one cipher object per 4 KiB block cost more than
 * its AES. The output is byte for byte that of node's `aes-256-xts`.
 *
 * The cipher borrows `key`; it never copies or disposes it (its owner does that). The
 * cipher objects (OpenSSL's copy of the key schedule) are made on first use and released
 * by `dispose()`, or on the first use after `key` was disposed (which then throws).
 */
export class SectorCipher {
  readonly blockSize: number;
  readonly #key: SecretBytes;
  #ecb: XtsEcb | undefined;

  /**
   * @throws SectorCipherKeyError if the key is not 64 bytes, its two halves are equal
   *   (OpenSSL refuses those, as XTS then loses its security proof), or the block size is
   *   not a positive multiple of 16.
   */
  constructor(key: SecretBytes, blockSize: number = VOLUME_BLOCK_SIZE) {
    if (key.length !== XTS_KEY_BYTES) {
      throw new SectorCipherKeyError(`an AES-256-XTS key is ${XTS_KEY_BYTES} bytes`);
    }
    const raw = key.unsafeBytes();
    if (timingSafeEqual(raw.subarray(0, 32), raw.subarray(32))) {
      throw new SectorCipherKeyError('the two halves of an XTS key must differ');
    }
    if (!Number.isSafeInteger(blockSize) || blockSize < 16 || blockSize % 16 !== 0) {
      throw new SectorCipherKeyError('the block size must be a positive multiple of 16');
    }
    this.#key = key;
    this.blockSize = blockSize;
  }

  /**
   * Encrypts one block; returns a fresh buffer and leaves `plaintext` untouched.
   *
   * @throws VolumeRangeError for a wrong length or block number; Error once the key is disposed.
   */
  encryptBlock(blockNumber: number, plaintext: Uint8Array): Buffer {
    this.#checkBlock(plaintext.length);
    return this.#run(true, blockNumber, plaintext, 1);
  }

  /** Decrypts one block; returns a fresh buffer and leaves `ciphertext` untouched. Throws as `encryptBlock`. */
  decryptBlock(blockNumber: number, ciphertext: Uint8Array): Buffer {
    this.#checkBlock(ciphertext.length);
    return this.#run(false, blockNumber, ciphertext, 1);
  }

  /**
   * Encrypts a run of whole blocks starting at `firstBlock`, in one pass. Returns one
   * ciphertext buffer per block (views of one buffer), so a caller can hand them to a
   * vectored write. `plaintext` is never modified.
   *
   * @throws VolumeRangeError if the length is not a whole number of blocks.
   */
  encryptBlocks(firstBlock: number, plaintext: Uint8Array): Buffer[] {
    const count = this.#blockCount(plaintext.length);
    if (count === 0) {
      checkBlockNumber(firstBlock);
      return [];
    }
    const all = this.#run(true, firstBlock, plaintext, count);
    const out: Buffer[] = new Array<Buffer>(count);
    for (let i = 0; i < count; i++) out[i] = all.subarray(i * this.blockSize, (i + 1) * this.blockSize);
    return out;
  }

  /**
   * Decrypts a run of whole blocks in place: block i of `data` is replaced by its
   * plaintext. `skip(i)` may return true to leave block i as it is (the volume uses it
   * for unwritten blocks, which read as zeros).
   *
   * @throws VolumeRangeError if the length is not a whole number of blocks.
   */
  decryptBlocksInPlace(firstBlock: number, data: Buffer, skip?: (index: number) => boolean): void {
    const count = this.#blockCount(data.length);
    if (count === 0) return;
    const plain = this.#run(false, firstBlock, data, count);
    for (let i = 0; i < count; i++) {
      if (skip?.(i) === true) continue;
      const start = i * this.blockSize;
      data.set(plain.subarray(start, start + this.blockSize), start);
    }
  }

  /**
   * Releases the cipher objects (OpenSSL frees and cleanses their key schedules now). A
   * later call makes new ones from the key, if it is still alive. Idempotent.
   */
  dispose(): void {
    if (this.#ecb !== undefined) xtsEcbClose(this.#ecb);
    this.#ecb = undefined;
  }

  #run(encrypt: boolean, firstBlock: number, data: Uint8Array, count: number): Buffer {
    checkBlockNumber(firstBlock);
    // count - 1 first: (firstBlock + count) - 1 rounds 2^53 + 1 down and would pass.
    checkBlockNumber(firstBlock + (count - 1));
    if (this.#key.disposed) this.dispose();
    // unsafeBytes() throws once the key is disposed: no cipher outlives its key's use.
    // undefined (an engine without WebAssembly SIMD): xtsEcbOpen picks the JavaScript passes.
    if (simdKernel === null) simdKernel = xtsSimdCreate();
    this.#ecb ??= xtsEcbOpen(this.#key.unsafeBytes(), simdKernel);
    return xtsApply(this.#ecb, encrypt, data, firstBlock, this.blockSize, false);
  }

  #blockCount(length: number): number {
    if (length % this.blockSize !== 0) {
      throw new VolumeRangeError('the data is not a whole number of blocks');
    }
    return length / this.blockSize;
  }

  #checkBlock(length: number): void {
    if (length !== this.blockSize) throw new VolumeRangeError('a block has the wrong length');
  }
}

/** The XTS tweak for a block: its number as a 128-bit little-endian integer. */
export function tweakFor(blockNumber: number): Buffer {
  checkBlockNumber(blockNumber);
  const tweak = Buffer.alloc(16);
  writeTweak(tweak, blockNumber);
  return tweak;
}

function checkBlockNumber(blockNumber: number): void {
  if (!Number.isSafeInteger(blockNumber) || blockNumber < 0) {
    throw new VolumeRangeError('a block number must be a non-negative safe integer');
  }
}

/** Writes the tweak of a checked block number into a 16-byte buffer (upper 8 bytes zero). */
function writeTweak(tweak: Buffer, blockNumber: number): void {
  tweak.writeUInt32LE(blockNumber % 0x1_0000_0000, 0);
  tweak.writeUInt32LE(Math.floor(blockNumber / 0x1_0000_0000), 4);
  tweak.fill(0, 8);
}
