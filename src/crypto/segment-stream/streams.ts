import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { SecretBytes } from '../secret-bytes.js';
import { SegmentOpener } from './opener.js';
import type { OpenOptions } from './opener.js';
import { SegmentSealer } from './sealer.js';
import type { SealOptions } from './sealer.js';

interface Core {
  update(chunk: Buffer): Buffer[];
  final(): Buffer[];
  dispose(): void;
}

/**
 * Wraps a synchronous core in a byte Transform; errors end the stream, the key is zeroed.
 * `observe` sees each input chunk before the core does (and may raise to fail the stream).
 */
function coreTransform(core: Core, observe?: (chunk: Buffer) => void): Transform {
  const pushAll = (t: Transform, pieces: Buffer[]): void => {
    for (const piece of pieces) if (piece.length > 0) t.push(piece);
  };
  return new Transform({
    transform(this: Transform, chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      try {
        observe?.(chunk);
        pushAll(this, core.update(chunk));
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(this: Transform, callback: TransformCallback): void {
      try {
        pushAll(this, core.final());
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    destroy(err: Error | null, callback: (error: Error | null) => void): void {
      core.dispose();
      callback(err);
    },
  });
}

/**
 * A Transform that seals plaintext chunks of any size into the segment stream format
 * (see src/crypto/FORMAT.md), with a fresh random salt and nonce prefix.
 *
 * Memory stays below one segment plus one chunk whatever the input size; written chunks
 * are held by reference until their segment is sealed, so do not modify a chunk after
 * writing it. Throws InvalidCryptoArgumentError synchronously for a key that is not 32
 * bytes or a segment size outside the format's limits. The caller keeps ownership of
 * `objectKey` (this never disposes it); the derived content key is zeroed at the end or
 * on destroy. Never logs. `observePlaintext`, if given, is called with each plaintext
 * chunk (read-only) before it is sealed — for a caller that counts or hashes the
 * plaintext without a Transform of its own in front; an error it raises fails the stream.
 */
export function createSegmentEncryptor(objectKey: SecretBytes, options: SealOptions = {}, observePlaintext?: (chunk: Buffer) => void): Transform {
  return coreTransform(new SegmentSealer(objectKey, options), observePlaintext);
}

/**
 * A Transform that opens a sealed stream (or, with `options.range`, a slice of one planned
 * by `planRange`) and emits plaintext.
 *
 * Never emits plaintext of a segment before its tag is verified. Every failure surfaces as
 * a stream error of class DecryptionError with no hint of which check failed, including a
 * stream cut at a segment boundary (reported at end of input). Plaintext of segments
 * verified before a failure may already have been emitted: a consumer that must not act
 * on a partial object waits for the stream to finish. Throws synchronously
 * InvalidCryptoArgumentError for a bad key, DecryptionError for a bad range header.
 */
export function createSegmentDecryptor(objectKey: SecretBytes, options: OpenOptions = {}): Transform {
  return coreTransform(new SegmentOpener(objectKey, options));
}

/**
 * Seals a whole in-memory object in one call. Same format and errors as
 * `createSegmentEncryptor`; for small objects and tests.
 */
export function sealBuffer(objectKey: SecretBytes, plaintext: Uint8Array, options: SealOptions = {}): Buffer {
  const sealer = new SegmentSealer(objectKey, options);
  try {
    const view = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
    return Buffer.concat([...sealer.update(view), ...sealer.final()]);
  } finally {
    sealer.dispose();
  }
}

/**
 * Opens a whole in-memory sealed object (or planned slice) in one call. Returns the
 * plaintext only if every segment verified; otherwise throws DecryptionError.
 */
export function openBuffer(objectKey: SecretBytes, sealed: Uint8Array, options: OpenOptions = {}): Buffer {
  return Buffer.concat(openSegments(objectKey, sealed, options));
}

/**
 * openBuffer without the final join: the plaintext as one buffer per segment, in order,
 * returned only once every segment (and the end of the stream) verified — for a server
 * that writes them out as they are instead of copying a whole object into one buffer.
 * Throws DecryptionError (nothing returned) on any failure.
 */
export function openSegments(objectKey: SecretBytes, sealed: Uint8Array, options: OpenOptions = {}): Buffer[] {
  const opener = new SegmentOpener(objectKey, options);
  try {
    const view = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    return [...opener.update(view), ...opener.final()];
  } finally {
    opener.dispose();
  }
}
