import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Cipher, Decipher } from 'node:crypto';
import { xtsSimdApply } from './xts-simd.js';
import type { XtsSimd } from './xts-simd.js';

/**
 * XTS-AES-256 (IEEE 1619) mode glue over long-lived AES-256-ECB cipher objects.
 *
 * XTS encrypts 16-byte block j of data unit n as C = ECB_K1(P ⊕ T_j) ⊕ T_j, where
 * T_0 = ECB_K2(tweak_n) and T_{j+1} = T_j · α in GF(2^128) (the tweak read as a
 * little-endian 128-bit number, shifted left by one, 0x87 folded into the low byte when
 * bit 127 falls out); decryption uses ECB_K1⁻¹ in the middle and the same T_j. The AES
 * is OpenSSL's (node:crypto `aes-256-ecb`, no padding); only the tweak chain and the XORs
 * are ours. The result is byte for byte that of node's `aes-256-xts` with one cipher
 * object per data unit (the tests check it), but a whole request costs three `update()`
 * calls instead of one cipher object per 4 KiB: Node cannot re-tweak an XTS cipher, and
 * creating one cost more than the AES it then ran.
 *
 * Data units are whole 16-byte blocks (no ciphertext stealing: volumes never need it).
 *
 * The two XOR-and-tweak passes run in WebAssembly SIMD when the caller passes a kernel
 * (`xts-simd.ts`, about twice as fast), else in the JavaScript loops below.
 *
 * These functions are self-contained on purpose (no module-level names but each other,
 * xtsSimdApply, `Buffer` and node:crypto's `createCipheriv` / `createDecipheriv`): the XTS
 * worker embeds their source (`XTS_MODE_SOURCE`, after XTS_SIMD_SOURCE), so the main thread
 * and the workers run the same code.
 */

/**
 * The cipher objects of one XTS key, plus reused scratch. Holds OpenSSL's key schedules
 * (and, on the per-unit path only, a reference to the key): `xtsEcbClose` releases them.
 */
export interface XtsEcb {
  /** ECB under K2 (the key's second half), encrypting: tweaks → T_0. */
  readonly tweak: Cipher;
  /** ECB under K1 (the key's first half), encrypting. */
  readonly encrypt: Cipher;
  /** ECB under K1, decrypting. */
  readonly decrypt: Decipher;
  /** The 64-byte key, kept only for the per-unit path (big-endian hosts); else undefined. */
  readonly perUnitKey: Uint8Array | undefined;
  /** The SIMD kernel for the passes (shared by every key of a thread), or undefined: JS. */
  readonly simd: XtsSimd | undefined;
  /** Reused buffer for P ⊕ T (or C ⊕ T): at most one request's worth lingers until close. */
  scratch: Buffer;
  /** Reused input of the tweak cipher: 16 bytes per unit, bytes 8–15 of each always zero. */
  tweaks: Buffer;
  closed: boolean;
}

/**
 * Opens the cipher objects for a 64-byte XTS key (K1 ‖ K2, as OpenSSL and IEEE 1619 order
 * them). Borrows `key`: OpenSSL copies it into its key schedules. `passes`: a SIMD kernel
 * (xtsSimdCreate, one per thread), 'js' (the default on a little-endian host), or
 * 'per-unit' (the default on a big-endian host, where the word-wise JS tweak chain does
 * not apply): then `key` is referenced and each unit gets its own `aes-256-xts` cipher.
 *
 * @throws Error if the key is not 64 bytes. Never checks that the two halves differ: the
 *   caller (SectorCipher) does.
 */
export function xtsEcbOpen(key: Uint8Array, passes?: XtsSimd | 'js' | 'per-unit'): XtsEcb {
  if (key.length !== 64) throw new Error('an XTS-AES-256 key is 64 bytes');
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const tweak = createCipheriv('aes-256-ecb', key.subarray(32, 64), null);
  const encrypt = createCipheriv('aes-256-ecb', key.subarray(0, 32), null);
  const decrypt = createDecipheriv('aes-256-ecb', key.subarray(0, 32), null);
  tweak.setAutoPadding(false);
  encrypt.setAutoPadding(false);
  decrypt.setAutoPadding(false);
  // The JS passes read words in host order: on a big-endian host, 'js' means per-unit.
  const mode = passes === undefined || passes === 'js' ? (littleEndian ? 'js' : 'per-unit') : passes;
  return {
    tweak, encrypt, decrypt, perUnitKey: mode === 'per-unit' ? key : undefined, simd: typeof mode === 'object' ? mode : undefined,
    scratch: Buffer.allocUnsafeSlow(0), tweaks: Buffer.alloc(0), closed: false,
  };
}

/**
 * Releases the key schedules: `final()` makes Node free each cipher context now, and
 * OpenSSL cleanses a context it frees (instead of leaving it to the garbage collector).
 * Zeroes the scratch. Idempotent; the XtsEcb must not be used afterwards.
 */
export function xtsEcbClose(ecb: XtsEcb): void {
  if (ecb.closed) return;
  ecb.closed = true;
  for (const c of [ecb.tweak, ecb.encrypt, ecb.decrypt]) {
    try {
      c.final();
    } catch {
      // Only a partial block left in the context could make final() throw; none is ever
      // fed. Node frees the context either way.
    }
  }
  ecb.scratch.fill(0);
  ecb.scratch = Buffer.allocUnsafeSlow(0);
}

/**
 * Encrypts (or decrypts) `data`, a whole number of `unitSize`-byte data units, unit i
 * under data unit number `firstUnit + i` (128-bit little-endian tweak, as dm-crypt's
 * `plain64`). With `keepZeroUnits`, an all-zero input unit gives an all-zero output unit
 * (unwritten volume blocks read as zeros). Returns a new Buffer that owns its whole
 * ArrayBuffer (so it can be transferred); never modifies `data`.
 *
 * Never validates: `unitSize` must be a positive multiple of 16 dividing `data.length`,
 * and `firstUnit` + units a safe integer (SectorCipher and the pool check that).
 */
export function xtsApply(ecb: XtsEcb, encrypt: boolean, data: Uint8Array, firstUnit: number, unitSize: number, keepZeroUnits: boolean): Buffer {
  const units = data.length / unitSize;
  if (ecb.tweaks.length < units * 16) ecb.tweaks = Buffer.alloc(units * 16);
  const tweaks = ecb.tweaks;
  for (let i = 0; i < units; i++) {
    const n = firstUnit + i;
    tweaks.writeUInt32LE(n % 0x100000000, i * 16);
    tweaks.writeUInt32LE(Math.floor(n / 0x100000000), i * 16 + 4);
  }
  return xtsApplyTweaks(ecb, encrypt, data, tweaks.subarray(0, units * 16), unitSize, keepZeroUnits);
}

/**
 * Like `xtsApply`, with each unit's 16-byte tweak given as is (`tweaks`: 16 bytes per unit,
 * any 128-bit value). Returns a new Buffer owning its ArrayBuffer; never modifies `data`.
 */
export function xtsApplyTweaks(ecb: XtsEcb, encrypt: boolean, data: Uint8Array, tweaks: Uint8Array, unitSize: number, keepZeroUnits: boolean): Buffer {
  if (ecb.closed) throw new Error('the XTS cipher is closed');
  if (ecb.perUnitKey !== undefined) return xtsPerUnit(ecb.perUnitKey, encrypt, data, tweaks, unitSize, keepZeroUnits);
  // At most 1 MiB (or one unit) per pass pair: the scratch and the SIMD memory stay small.
  const chunk = Math.max(unitSize, Math.floor(1048576 / unitSize) * unitSize);
  if (data.length > chunk) {
    const whole = Buffer.allocUnsafeSlow(data.length);
    for (let at = 0; at < data.length; at += chunk) {
      const end = Math.min(at + chunk, data.length);
      const unitTweaks = tweaks.subarray((at / unitSize) * 16, (end / unitSize) * 16);
      whole.set(xtsApplyTweaks(ecb, encrypt, data.subarray(at, end), unitTweaks, unitSize, keepZeroUnits), at);
    }
    return whole;
  }
  const t0 = xtsOwned(ecb.tweak.update(tweaks));
  const out = ecb.simd !== undefined
    ? xtsOwned(xtsSimdApply(ecb.simd, encrypt ? ecb.encrypt : ecb.decrypt, t0, data, unitSize, keepZeroUnits))
    : xtsJsPasses(ecb, encrypt, data, t0, unitSize, keepZeroUnits);
  t0.fill(0);
  return out;
}

/** The two passes in JavaScript around one ECB update (`t0`: T_0 per unit, owned, aligned). */
function xtsJsPasses(ecb: XtsEcb, encrypt: boolean, data: Uint8Array, t0: Buffer, unitSize: number, keepZeroUnits: boolean): Buffer {
  const units = data.length / unitSize;
  if (ecb.scratch.length < data.length) {
    ecb.scratch.fill(0);
    ecb.scratch = Buffer.allocUnsafeSlow(data.length);
  }
  const input = data.byteOffset % 4 === 0 && data.buffer instanceof ArrayBuffer ? data : xtsOwned(data);
  const t0w = new Int32Array(t0.buffer, 0, t0.length >> 2);
  const zero = keepZeroUnits ? new Uint8Array(units) : undefined;
  xtsMaskIn(t0w, new Int32Array(input.buffer, input.byteOffset, input.length >> 2), new Int32Array(ecb.scratch.buffer, 0, data.length >> 2), units, unitSize >> 2, zero);
  const out = xtsOwned((encrypt ? ecb.encrypt : ecb.decrypt).update(ecb.scratch.subarray(0, data.length)));
  xtsMaskOut(t0w, new Int32Array(out.buffer, 0, out.length >> 2), units, unitSize >> 2, zero);
  return out;
}

/**
 * Pass 1: x = d ⊕ T_j over every 16-byte block, walking each unit's tweak chain from T_0
 * (`t0w`, four words per unit). Int32 words, since V8 keeps those unboxed; the chain
 * reads them as the little-endian 128-bit number w3:w2:w1:w0 (little-endian host only).
 * With `zero`, records which input units are all zeros.
 */
function xtsMaskIn(t0w: Int32Array, dw: Int32Array, xw: Int32Array, units: number, unitWords: number, zero: Uint8Array | undefined): void {
  for (let i = 0; i < units; i++) {
    let w0 = t0w[i * 4]! | 0, w1 = t0w[i * 4 + 1]! | 0, w2 = t0w[i * 4 + 2]! | 0, w3 = t0w[i * 4 + 3]! | 0;
    let any = 0;
    for (let j = i * unitWords, end = j + unitWords; j < end; j += 4) {
      const d0 = dw[j]! | 0, d1 = dw[j + 1]! | 0, d2 = dw[j + 2]! | 0, d3 = dw[j + 3]! | 0;
      any |= d0 | d1 | d2 | d3;
      xw[j] = d0 ^ w0;
      xw[j + 1] = d1 ^ w1;
      xw[j + 2] = d2 ^ w2;
      xw[j + 3] = d3 ^ w3;
      const carry = w3 >> 31;
      w3 = (w3 << 1) | (w2 >>> 31);
      w2 = (w2 << 1) | (w1 >>> 31);
      w1 = (w1 << 1) | (w0 >>> 31);
      w0 = (w0 << 1) ^ (carry & 0x87);
    }
    if (zero !== undefined) zero[i] = any === 0 ? 1 : 0;
  }
}

/** Pass 2: y ⊕= T_j, the same chain as pass 1; units marked in `zero` become zeros. */
function xtsMaskOut(t0w: Int32Array, yw: Int32Array, units: number, unitWords: number, zero: Uint8Array | undefined): void {
  for (let i = 0; i < units; i++) {
    if (zero !== undefined && zero[i] === 1) {
      yw.fill(0, i * unitWords, (i + 1) * unitWords);
      continue;
    }
    let w0 = t0w[i * 4]! | 0, w1 = t0w[i * 4 + 1]! | 0, w2 = t0w[i * 4 + 2]! | 0, w3 = t0w[i * 4 + 3]! | 0;
    for (let j = i * unitWords, end = j + unitWords; j < end; j += 4) {
      yw[j] = yw[j]! ^ w0;
      yw[j + 1] = yw[j + 1]! ^ w1;
      yw[j + 2] = yw[j + 2]! ^ w2;
      yw[j + 3] = yw[j + 3]! ^ w3;
      const carry = w3 >> 31;
      w3 = (w3 << 1) | (w2 >>> 31);
      w2 = (w2 << 1) | (w1 >>> 31);
      w1 = (w1 << 1) | (w0 >>> 31);
      w0 = (w0 << 1) ^ (carry & 0x87);
    }
  }
}

/**
 * `b` as a Buffer that owns its whole ArrayBuffer from offset 0 (Int32Array views need 4-byte
 * alignment, and a transfer takes the whole ArrayBuffer): `b` itself when it does (cipher
 * output does), else a copy.
 */
function xtsOwned(b: Uint8Array): Buffer {
  if (b.byteOffset === 0 && b.buffer instanceof ArrayBuffer && b.buffer.byteLength === b.length) return Buffer.from(b.buffer, 0, b.length);
  const copy = Buffer.allocUnsafeSlow(b.length);
  copy.set(b);
  return copy;
}

/** One `aes-256-xts` cipher object per unit: for engines without SIMD on big-endian hosts, and the tests' cross-check. */
function xtsPerUnit(key: Uint8Array, encrypt: boolean, data: Uint8Array, tweaks: Uint8Array, unitSize: number, keepZeroUnits: boolean): Buffer {
  const out = Buffer.allocUnsafeSlow(data.length);
  const zeros = Buffer.alloc(unitSize);
  for (let i = 0, at = 0; at < data.length; i++, at += unitSize) {
    const unit = data.subarray(at, at + unitSize);
    if (keepZeroUnits && zeros.equals(unit)) {
      out.fill(0, at, at + unitSize);
      continue;
    }
    const make = encrypt ? createCipheriv : createDecipheriv;
    out.set(make('aes-256-xts', key, tweaks.subarray(i * 16, i * 16 + 16)).update(unit), at);
  }
  return out;
}

/**
 * The source of this module's functions, for the XTS worker to embed (plain JavaScript as
 * this module was compiled or transpiled; it defines the same names: xtsEcbOpen,
 * xtsEcbClose, xtsApply, xtsApplyTweaks). The worker must define `__name` (tsx's
 * keep-names helper) and require `createCipheriv` / `createDecipheriv` itself.
 */
export const XTS_MODE_SOURCE = [xtsEcbOpen, xtsEcbClose, xtsApply, xtsApplyTweaks, xtsJsPasses, xtsMaskIn, xtsMaskOut, xtsOwned, xtsPerUnit]
  .map((f) => f.toString())
  .join('\n');
