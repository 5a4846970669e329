import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSegmentEncryptor, DEFAULT_SEGMENT_SIZE, SecretBytes } from '../../crypto/index.js';
import type { ContentHeaders, ObjectRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding, type ObjectBinding, type SseMode } from '../sse/sealing.js';

/** What a write stores: the body, where, how it is sealed and what it says about itself. */
export interface WriteRequest {
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable;
  /** Called once the body has been read, before anything is committed; raises to refuse it. */
  readonly verify: () => void;
  readonly mode: SseMode;
  readonly content: ContentHeaders;
  readonly userMetadata: Readonly<Record<string, string>>;
  /** Verified checksums; read after `verify` ran. */
  readonly checksums: () => Readonly<Record<string, string>>;
  /** Object tags (already validated); absent or empty for none. */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * Writes one object: a fresh object key sealed by the mode (KMS errors raise before any
 * byte is read), the body encrypted as a segment stream bound to its location, written to
 * a temporary object that is fsynced and renamed only after `verify` accepted the body,
 * then the metadata committed, then the replaced body deleted. A failure anywhere leaves no
 * trace: nothing half-written is ever listed or read. Raises NoSuchBucketError, the
 * mode's errors, and whatever `verify` or the body stream raise.
 * The ETag is the MD5 of the plaintext for SSE-S3, opaque for SSE-KMS and SSE-C (as S3).
 */
export async function writeObject(deps: S3Deps, req: WriteRequest): Promise<ObjectRecord> {
  await deps.store.getBucket(req.bucket);
  const binding: ObjectBinding = { bucket: req.bucket, key: req.key, objectId: randomUUID() };
  const segmentSize = deps.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const objectKey = SecretBytes.random(32);
  try {
    const sealedKey = await req.mode.seal(objectKey, binding);
    const counter = new Counter(req.mode.label === 'SSE-S3');
    const pending = await deps.backend.create();
    try {
      await pipeline(req.body, counter, createSegmentEncryptor(objectKey, { aad: dataBinding(binding), segmentSize }), pending.stream);
      req.verify();
      await pending.commit();
    } catch (err) {
      await pending.abort();
      throw err;
    }
    const record: ObjectRecord = {
      ...binding,
      storageId: pending.storageId,
      size: counter.size,
      etag: `"${counter.md5Hex() ?? randomBytes(16).toString('hex')}"`,
      lastModified: deps.clock.now(),
      segmentSize,
      content: req.content,
      userMetadata: req.userMetadata,
      sealedKey,
      checksums: req.checksums(),
      ...(req.tags !== undefined && Object.keys(req.tags).length > 0 ? { tags: req.tags } : {}),
    };
    await commit(deps, record);
    return record;
  } finally {
    objectKey.dispose();
  }
}

async function commit(deps: S3Deps, record: ObjectRecord): Promise<void> {
  let replaced: string | undefined;
  try {
    replaced = await deps.store.putObject(record);
  } catch (err) {
    await deps.backend.delete(record.storageId);
    throw err;
  }
  if (replaced !== undefined) await deps.backend.delete(replaced);
}

/** Counts plaintext bytes and, only where S3 requires it (SSE-S3 ETags), computes MD5. */
class Counter extends Transform {
  size = 0;
  readonly #md5;
  constructor(md5: boolean) {
    super();
    this.#md5 = md5 ? createHash('md5') : undefined;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    this.#md5?.update(chunk);
    done(null, chunk);
  }
  md5Hex(): string | undefined {
    return this.#md5?.digest('hex');
  }
}
