import { publicRandomBytes } from '../../crypto/index.js';
import type { SseLabel } from './sealing.js';

/**
 * Whether a body (object or part) sealed under `mode` gets the MD5 of its plaintext as its
 * ETag: true for SSE-S3 only, as S3. SSE-KMS, DSSE-KMS and SSE-C get an opaque one instead,
 * never a digest of their plaintext, which anyone allowed to HeadObject or ListParts could
 * test a guess against with no key (SSE-C included). Callers hash only when this is true:
 * MD5 runs at a third of AES-GCM's speed. Never raises.
 */
export function etagIsPlaintextMd5(mode: SseLabel): boolean {
  return mode === 'SSE-S3';
}

/**
 * The quoted ETag of a sealed body: `"<md5Hex>"` when the plaintext MD5 was computed (the
 * mode is one etagIsPlaintextMd5 accepts), else 16 fresh random bytes in hex. Never raises;
 * never derives anything from the plaintext or the key when `md5Hex` is undefined.
 */
export function sealedBodyEtag(md5Hex: string | undefined): string {
  return `"${md5Hex ?? publicRandomBytes(16).toString('hex')}"`;
}
