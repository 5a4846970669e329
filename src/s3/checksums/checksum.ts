import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c, Crc64Nvme } from './crc.js';

/** The x-amz-checksum-* algorithms S3 accepts, as they appear (lower-cased) in header names. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };

/** A running checksum; `digestBase64` may be called once, at the end. */
export interface Checksum {
  update(data: Uint8Array): void;
  digestBase64(): string;
}

/** True when `name` (lower-case) is one of CHECKSUM_ALGORITHMS. */
export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/**
 * True when `value` is a well-formed base64 digest for the algorithm (right length,
 * canonical base64): S3 refuses anything else with InvalidRequest before reading the body.
 */
export function isWellFormedChecksum(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[algorithm] && bytes.toString('base64') === value;
}

/** A fresh running checksum of the algorithm. Never throws. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'crc32': {
      let crc = 0;
      return {
        update: (d) => void (crc = crc32(d, crc)),
        digestBase64: () => {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(crc >>> 0);
          return b.toString('base64');
        },
      };
    }
    case 'crc32c':
      return wrap(new Crc32c());
    case 'crc64nvme':
      return wrap(new Crc64Nvme());
    case 'sha1':
    case 'sha256':
      return hash(createHash(algorithm));
    default: {
      const never: never = algorithm;
      return never;
    }
  }
}

function wrap(c: Crc32c | Crc64Nvme): Checksum {
  return { update: (d) => void c.update(d), digestBase64: () => c.digest().toString('base64') };
}

function hash(h: Hash): Checksum {
  return { update: (d) => void h.update(d), digestBase64: () => h.digest('base64') };
}
