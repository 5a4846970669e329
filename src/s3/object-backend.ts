import type { Readable, Writable } from 'node:stream';

/** A byte range, inclusive at both ends. */
export interface StoredRange {
  readonly start: number;
  readonly endInclusive: number;
}

/**
 * An object body being written: bytes go to `stream` (a temporary location, never
 * readable as an object). `commit` makes it durable and visible under its storage id
 * (fsync, then atomic rename, then fsync of the directory) and must be called only after
 * `stream` finished; the caller commits the metadata after it. `abort` discards it.
 * `stream` may hold a written chunk by reference until it finishes (FsObjectBackend holds a
 * body of up to ~1 MiB for one write at the end): never modify or reuse a chunk once written.
 */
export interface PendingObject {
  readonly storageId: string;
  readonly stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * An open committed body for positional reads into the caller's buffers (large GETs reuse
 * two buffers and read ahead instead of allocating one per read). `close` once done.
 */
export interface BodyReader {
  /**
   * Reads up to `length` bytes at `position` into `buffer` from `offset`, looping until
   * that many arrived or the body ended; resolves with the count (short only at the end).
   */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Releases the body; idempotent. */
  close(): Promise<void>;
}

/**
 * Where sealed object bodies live. Only ciphertext crosses this interface.
 * Implementations: FsObjectBackend (files under DATA_DIR/objects); an upstream S3 backend later.
 */
export interface ObjectBackend {
  /** Starts writing a new body under a fresh storage id. */
  create(): Promise<PendingObject>;
  /** Reads a committed body, or the given range of it. Errors surface on the stream. */
  read(storageId: string, range?: StoredRange): Readable;
  /**
   * Reads the first `limit` bytes of a committed body (all of it if shorter) into one
   * buffer, for small objects: no stream, as few I/O calls as the store allows. A caller
   * that must see the exact length asks for one byte more than it expects. With `into`
   * (at least `limit` bytes), reads into it and returns a view of it.
   */
  readHead(storageId: string, limit: number, into?: Buffer): Promise<Buffer>;
  /** Opens a committed body for positional reads (see BodyReader); raises when it is missing. */
  openReader(storageId: string): Promise<BodyReader>;
  /** Removes a committed body; succeeds if it is already gone. */
  delete(storageId: string): Promise<void>;
}
