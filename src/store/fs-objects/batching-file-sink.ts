import { closeSync, fdatasync, open, writev } from 'node:fs';
import { Writable } from 'node:stream';

/** Bytes gathered before one vectored write: one thread-pool trip per ~1 MiB of body. */
const BATCH_BYTES = 1024 * 1024;

/**
 * A new file written as one stream, made durable before it reports finished: chunks are
 * gathered (by reference, never copied) into ~1 MiB batches, each written with one
 * `writev` while the next batch fills, so a writer of many small pieces (sealed segments,
 * 16-byte tags) costs few system calls and the disk write overlaps the request body's
 * arrival. At most one write is in flight and one batch waits, so memory stays near two
 * batches. `final` writes the rest, `fdatasync`s the file (data and size on stable
 * storage) and closes it; only then does the stream finish and close. Errors (open with
 * `wx` on an existing path, write, sync) destroy the stream; the descriptor is closed in
 * every case, but never while a write or sync on it is in flight, and nothing is written
 * or synced once the stream was destroyed. Never reads the bytes it writes.
 */
export class BatchingFileSink extends Writable {
  readonly #path: string;
  readonly #mode: number;
  #fd: number | undefined;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #position = 0;
  /** The write or sync in flight, if any: the descriptor is closed only once it landed. */
  #io: Promise<void> | undefined;
  /** Set by destroy: no write or sync starts after it (its descriptor is about to close). */
  #stopped = false;

  constructor(path: string, mode: number) {
    super({ highWaterMark: BATCH_BYTES });
    this.#path = path;
    this.#mode = mode;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, 'wx', this.#mode, (err, fd) => {
      if (err === null) this.#fd = fd;
      callback(err);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#add(chunk);
    this.#maybeFlush(callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const c of chunks) this.#add(c.chunk);
    this.#maybeFlush(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const fd = this.#fd;
    if (fd === undefined) return callback(new Error('file not open'));
    this.#flush()
      .then(() => this.#io)
      .then(() => {
        this.#mayStartIo();
        const syncing = new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
        syncing.catch(() => undefined);
        this.#io = syncing;
        return syncing;
      })
      .then(() => this.#close())
      .then(() => callback(), (err: Error) => callback(err));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A write or sync may still be in flight: let it land before its descriptor goes (a
    // closed number is reused by the next open, and a late write would land in that file).
    // A flush or final waiting for it sees #stopped and starts nothing more.
    this.#stopped = true;
    Promise.resolve(this.#io)
      .catch(() => undefined)
      .then(() => this.#close())
      .then(() => callback(error), () => callback(error));
  }

  #add(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
  }

  /** Below a batch: accept more at once. A full batch: write it once the previous write landed. */
  #maybeFlush(callback: (error?: Error | null) => void): void {
    if (this.#batchBytes < BATCH_BYTES) return callback();
    this.#flush().then(() => callback(), (err: Error) => callback(err));
  }

  /** Waits for the write in flight, then starts writing the current batch; resolves once it started. */
  async #flush(): Promise<void> {
    await this.#io;
    this.#mayStartIo();
    if (this.#batchBytes === 0) return;
    const fd = this.#fd;
    if (fd === undefined) throw new Error('file not open');
    const batch = this.#batch;
    const at = this.#position;
    this.#position += this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    const writing = writeAll(fd, batch, at);
    // Handled here so a failure between flushes is not an unhandled rejection; the next
    // flush, final or destroy awaits it and reports it.
    writing.catch(() => undefined);
    this.#io = writing;
  }

  /** Raises once the sink was destroyed: its descriptor is closing, no I/O may start on it. */
  #mayStartIo(): void {
    if (this.#stopped) throw new Error('file sink destroyed');
  }

  #close(): Promise<void> {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return Promise.resolve();
    // Synchronous: closing a new regular file whose I/O has landed (after fdatasync, or after
    // destroy waited for the write in flight) has nothing to flush, so it does not block;
    // it saves a thread-pool round trip (a worker wake-up and a loop wake-up) per object.
    try {
      closeSync(fd);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}

/** writev of every buffer at `position`, continuing after a short write. */
function writeAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (bufs: Buffer[], at: number): void =>
      writev(fd, bufs, at, (err, written) => {
        if (err !== null) return reject(err);
        let left = written;
        let i = 0;
        while (i < bufs.length && left >= bufs[i]!.length) left -= bufs[i++]!.length;
        if (i === bufs.length) return resolve();
        const rest = [bufs[i]!.subarray(left), ...bufs.slice(i + 1)];
        step(rest, at + written);
      });
    step(buffers, position);
  });
}
