/**
 * CRC-32C (Castagnoli) and CRC-64/NVME, table-driven, byte at a time. These are integrity
 * checks S3 clients send (x-amz-checksum-crc32c / -crc64nvme), not cryptography: they only
 * catch accidental corruption in transit. node:zlib has CRC-32 but not these two on Node 20.
 */

/** Reflected CRC-32C polynomial. */
const CRC32C_POLY = 0x82f63b78;
/** Reflected CRC-64/NVME polynomial 0x9a6c9329ac4bc9b5, as two 32-bit halves. */
const CRC64_POLY_HI = 0x9a6c9329;
const CRC64_POLY_LO = 0xac4bc9b5;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

const [CRC64_HI, CRC64_LO] = (() => {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let k = 0; k < 8; k++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry) {
        h = (h ^ CRC64_POLY_HI) >>> 0;
        l = (l ^ CRC64_POLY_LO) >>> 0;
      }
    }
    hi[i] = h;
    lo[i] = l;
  }
  return [hi, lo] as const;
})();

/** Running CRC-32C: update with bytes, then `digest()` gives the 4 big-endian bytes S3 base64-encodes. */
export class Crc32c {
  #crc = 0xffffffff;

  update(data: Uint8Array): this {
    let c = this.#crc;
    for (let i = 0; i < data.length; i++) c = (CRC32C_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
    this.#crc = c >>> 0;
    return this;
  }

  /** The check value as a number (e.g. "123456789" → 0xE3069283). */
  value(): number {
    return (this.#crc ^ 0xffffffff) >>> 0;
  }

  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.value());
    return b;
  }
}

/** Running CRC-64/NVME: update with bytes, then `digest()` gives the 8 big-endian bytes S3 base64-encodes. */
export class Crc64Nvme {
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  update(data: Uint8Array): this {
    let hi = this.#hi;
    let lo = this.#lo;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ (data[i] as number)) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ (CRC64_LO[idx] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (CRC64_HI[idx] as number)) >>> 0;
    }
    this.#hi = hi;
    this.#lo = lo;
    return this;
  }

  /** The check value as a bigint (e.g. "123456789" → 0xAE8B14860A799888n). */
  value(): bigint {
    return (BigInt((this.#hi ^ 0xffffffff) >>> 0) << 32n) | BigInt((this.#lo ^ 0xffffffff) >>> 0);
  }

  digest(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32BE((this.#hi ^ 0xffffffff) >>> 0, 0);
    b.writeUInt32BE((this.#lo ^ 0xffffffff) >>> 0, 4);
    return b;
  }
}
