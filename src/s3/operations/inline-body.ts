import { Readable } from 'node:stream';
import { encryptedSize } from '../../crypto/index.js';
import { IncompleteBodyError } from '../errors.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { StoredRange } from '../object-backend.js';
import type { S3Deps } from '../s3-deps.js';

/**
 * Largest sealed body kept inline in the object's metadata record (64 KiB of ciphertext).
 * Such an object is committed by one grouped SQLite transaction whose single WAL fdatasync
 * acknowledges every PUT of the group, instead of a body file fsync, a directory fsync and
 * the WAL fsync per object. Bigger bodies would bloat the WAL and the database pages that
 * listings walk; they go to files.
 */
export const INLINE_BODY_MAX = 64 * 1024;

/**
 * True when a single-part body of `declaredSize` plaintext bytes (as the client declared
 * it) seals to at most INLINE_BODY_MAX bytes. False for an unknown or malformed size.
 * Never raises.
 */
export function fitsInline(declaredSize: number | undefined, segmentSize: number): boolean {
  if (declaredSize === undefined || !Number.isSafeInteger(declaredSize) || declaredSize < 0 || declaredSize > INLINE_BODY_MAX) return false;
  return encryptedSize(declaredSize, segmentSize) <= INLINE_BODY_MAX;
}

/**
 * Reads a whole body of at most `limit` bytes into one buffer. Rejects with what the stream
 * raises, or with IncompleteBodyError (and destroys the stream) once more than `limit`
 * bytes arrive: the client sent more than it declared; also with IncompleteBodyError when
 * the stream closes before its end without an error. Never buffers more than `limit`.
 */
export function readBodyLimited(body: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error): void => {
      settled = true;
      reject(err);
    };
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        const err = new IncompleteBodyError('');
        body.destroy(err);
        fail(err);
        return;
      }
      chunks.push(chunk);
    });
    body.once('end', () => {
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    body.once('error', fail);
    // Destroyed without an error, the stream closes without ending: never wait for it. Every
    // body closes, so the error (and its stack trace) is built only when nothing settled yet.
    body.once('close', () => {
      if (!settled) fail(new IncompleteBodyError(''));
    });
  });
}

/**
 * The stored (sealed) bytes of a single-part object, or `range` of them: from the record
 * when the body is inline, else from the backend. A range past the end yields what exists
 * (as a file read does), so truncation shows up as a decryption failure. Errors of a
 * backend read surface on the stream.
 */
export function readSealed(deps: S3Deps, o: ObjectRecord, range?: StoredRange): Readable {
  const inline = o.inlineBody;
  if (inline === undefined) return deps.backend.read(o.storageId, range);
  return Readable.from([range === undefined ? inline : inline.subarray(range.start, range.endInclusive + 1)], { objectMode: false });
}
