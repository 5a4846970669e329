import { closeSync, constants, fdatasync, open, writev } from 'node:fs';
import { Writable } from 'node:stream';

/** Bytes gathered before one write: one thread-pool trip per ~1 MiB of body. */
const BATCH_BYTES = 1024 * 1024;
/**
 * A batch buffer's size, written when full: past BATCH_BYTES, room for a 1 MiB object's
 * header and segment tags (1 MiB + 301 sealed bytes), so that it goes out in one write.
 */
const BATCH_CAPACITY = BATCH_BYTES + 4096;
/**
 * Bytes written since the last sync after which a sync starts in the background while the
 * body goes on arriving (large bodies only): the final fdatasync, which the PUT waits for,
 * then has at most about this much left to flush instead of the whole body (64 MiB: ~13%
 * of a PUT's time under load went to that one flush).
 */
const SYNC_EVERY_BYTES = 8 * 1024 * 1024;
/**
 * Pieces held by reference, at most, while a body still fits one write (see _write): past
 * this many (a writer of tiny pieces) they are copied into a batch instead, so that one
 * write never carries thousands of iovecs.
 */
const MAX_HELD_PIECES = 256;
/**
 * On Linux the file is created with O_DSYNC: a write on it returns only once its data (and
 * the size that makes it readable) is on stable storage, flushing the device cache as
 * fdatasync does. A body that fits one write is thus durable with that one write, one
 * thread-pool trip instead of two. Elsewhere every body takes the batches and fdatasync:
 * on macOS libuv's fdatasync is F_FULLFSYNC, which O_DSYNC does not match (the drive's
 * cache stays unflushed), and Windows has no O_DSYNC (the flag would be 0: no sync at all).
 */
const ONE_DSYNC_WRITE = process.platform === 'linux';
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (ONE_DSYNC_WRITE ? constants.O_DSYNC : 0);
/** Idle batch buffers kept for the next sinks (at most this many, ~1 MiB each). */
const MAX_SPARE = 8;
const spare: Buffer[] = [];

function takeBatchBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafe(BATCH_CAPACITY);
}

/** Only for a buffer no write is in flight from: the thread pool reads it until the write lands. */
function releaseBatchBuffer(buffer: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(buffer);
}

/**
 * A new file written as one stream, made durable before it reports finished. On Linux (see
 * ONE_DSYNC_WRITE) a body that fits one write (at most BATCH_CAPACITY bytes: a 1 MiB
 * object's sealed bytes) in at most MAX_HELD_PIECES pieces is held by reference and
 * written at the end with one vectored write on the descriptor opened with
 * O_DSYNC, which returns once the data is on stable storage: no copy and no separate
 * fdatasync (per 1 MiB PUT: a 1 MiB copy and one thread-pool trip less). A larger body
 * switches, at its first batch, to a second descriptor of the same file without O_DSYNC:
 * chunks are copied into ~1 MiB batch buffers taken from a small shared pool, each written
 * with one call while the next batch fills, so a writer of many small pieces (sealed
 * segments, 16-byte tags) costs few system calls and the disk write overlaps the request
 * body's arrival. Copying there rather than holding the writer's chunks is deliberate: a
 * chunk is garbage as soon as it was copied, instead of living until its batch was
 * written — long enough, under load, for V8 to promote it, so that only a full
 * mark-compact could free its memory. At most one write is in flight and one batch fills,
 * so memory stays near two batches; a large body also has one fdatasync running behind its
 * writes (every SYNC_EVERY_BYTES), so that little is left for the final one. `final` writes
 * the rest, waits for that background sync (and reports its error), `fdatasync`s the file
 * (data and size on stable storage) and closes it; only then does the stream finish and close.
 * Errors (open with `wx` on an existing path, write, sync) destroy the stream; the
 * descriptor is closed in every case, but never while a write or sync on it is in flight,
 * and nothing is written or synced once the stream was destroyed. Never reads the bytes it
 * writes; a chunk written to it may be held until the end, so a writer must not modify a
 * chunk after writing it; a batch buffer goes back to the pool only once no write from it
 * is in flight.
 */
export class BatchingFileSink extends Writable {
  readonly #path: string;
  readonly #mode: number;
  #fd: number | undefined;
  /** #fd was opened with O_DSYNC (only its final write, if any, goes to it). */
  #dsync = false;
  /** The chunks held by reference while the whole body may still fit one write; undefined once batching. */
  #held: Buffer[] | undefined = ONE_DSYNC_WRITE ? [] : undefined;
  #heldBytes = 0;
  /** The batch being filled (from the pool) and how many bytes of it are filled. */
  #batch: Buffer | undefined;
  #batchBytes = 0;
  #position = 0;
  /** The write, sync or open in flight, if any: the descriptor is closed only once it landed. */
  #io: Promise<void> | undefined;
  /** Set by destroy: no write or sync starts after it (its descriptor is about to close). */
  #stopped = false;
  /** Bytes whose write started since the last background sync started. */
  #unsynced = 0;
  /** The background sync in flight (never rejects: its error goes to #syncError). */
  #bgSync: Promise<void> | undefined;
  /** The first background sync's error: the final sync must report it (Linux reports a writeback error to one sync only). */
  #syncError: Error | undefined;
  #created = false;

  constructor(path: string, mode: number) {
    super({ highWaterMark: BATCH_BYTES });
    this.#path = path;
    this.#mode = mode;
  }

  /**
   * Whether this sink created its file (its `wx` open succeeded). Final once the stream
   * closed: a caller removing the file of a failed sink must not remove one that existed
   * before (the open failed with EEXIST: another writer's file).
   */
  get created(): boolean {
    return this.#created;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, CREATE, this.#mode, (err, fd) => {
      if (err === null) {
        this.#fd = fd;
        this.#dsync = ONE_DSYNC_WRITE;
        this.#created = true;
      }
      callback(err);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const held = this.#held;
    if (held === undefined) return this.#copyFrom(chunk, 0, callback);
    if (this.#heldBytes + chunk.length <= BATCH_CAPACITY && held.length < MAX_HELD_PIECES) {
      held.push(chunk);
      this.#heldBytes += chunk.length;
      return callback();
    }
    // Too large for one write: batches from now on, starting with what was held.
    this.#held = undefined;
    const batch = (this.#batch = takeBatchBuffer());
    for (const piece of held) this.#batchBytes += piece.copy(batch, this.#batchBytes);
    this.#heldBytes = 0;
    this.#copyFrom(chunk, 0, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const fd = this.#fd;
    if (fd === undefined) return callback(new Error('file not open'));
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined && held.length > 0) {
      // The whole body in one write on the O_DSYNC descriptor: durable once it returns.
      const writing = writeAll(fd, held, 0);
      writing.catch(() => undefined);
      this.#io = writing;
      writing.then(() => this.#close()).then(() => callback(), (err: Error) => callback(err));
      return;
    }
    this.#flush()
      .then(() => this.#io)
      .then(() => this.#bgSync)
      .then(() => {
        if (this.#syncError !== undefined) throw this.#syncError;
        this.#mayStartIo();
        // The descriptor now, not `fd`: the flush may have reopened the file (a small body of
        // more than MAX_HELD_PIECES pieces batches only here) and closed `fd`, whose number a
        // concurrent open may already reuse — the sync would then land on another file.
        const written = this.#fd;
        if (written === undefined) throw new Error('file not open');
        const syncing = new Promise<void>((resolve, reject) => fdatasync(written, (err) => (err === null ? resolve() : reject(err))));
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
    this.#held = undefined;
    // The batch being filled has no write in flight: back to the pool now.
    if (this.#batch !== undefined) releaseBatchBuffer(this.#batch);
    this.#batch = undefined;
    this.#batchBytes = 0;
    Promise.allSettled([this.#io, this.#bgSync])
      .then(() => this.#close())
      .then(() => callback(error), () => callback(error));
  }

  /**
   * Copies `chunk` from `from` into the batch; each time the batch is full, starts its write
   * (once the previous one landed) and goes on with the rest. Calls back once all of it is
   * copied, or with the error of a write that failed.
   */
  #copyFrom(chunk: Buffer, from: number, callback: (error?: Error | null) => void): void {
    // Copied: the caller may reuse or drop the chunk as soon as we call back.
    let at = from;
    while (at < chunk.length) {
      const batch = (this.#batch ??= takeBatchBuffer());
      const n = chunk.copy(batch, this.#batchBytes, at);
      this.#batchBytes += n;
      at += n;
      // Written only once full, not at BATCH_BYTES: a 1 MiB object's last tag still fits.
      if (this.#batchBytes === batch.length) {
        const rest = at;
        this.#flush().then(
          () => (rest < chunk.length ? this.#copyFrom(chunk, rest, callback) : callback()),
          (err: Error) => callback(err),
        );
        return;
      }
    }
    callback();
  }

  /**
   * Before a body's first batch is written: the same file opened again without O_DSYNC (its
   * writes are synced behind and at the end instead), the O_DSYNC descriptor closed (no I/O
   * was ever started on it). Resolves with the new descriptor.
   */
  #reopen(): Promise<number> {
    const opening = new Promise<number>((resolve, reject) =>
      open(this.#path, constants.O_WRONLY, (err, fd) => {
        if (err !== null) return reject(err);
        const dsync = this.#fd;
        this.#fd = fd;
        this.#dsync = false;
        // A throw here would be uncaught (an fs callback): the stream fails instead, and the
        // new descriptor, now #fd, is closed with it.
        try {
          if (dsync !== undefined) closeSync(dsync);
        } catch (closeErr) {
          return reject(closeErr as Error);
        }
        resolve(fd);
      }),
    );
    // Destroy waits for it: the descriptor it brings is then the one closed.
    this.#io = opening.then(() => undefined);
    this.#io.catch(() => undefined);
    return opening;
  }

  /** Waits for the write in flight, then starts writing the current batch; resolves once it started. */
  async #flush(): Promise<void> {
    await this.#io;
    this.#mayStartIo();
    if (this.#batchBytes === 0) return;
    if (this.#fd === undefined) throw new Error('file not open');
    const fd = this.#dsync ? await this.#reopen() : this.#fd;
    this.#mayStartIo();
    const batch = this.#batch;
    if (batch === undefined) return;
    const filled = batch.subarray(0, this.#batchBytes);
    const at = this.#position;
    this.#position += this.#batchBytes;
    this.#batch = undefined;
    this.#batchBytes = 0;
    // Back to the pool once the write landed, whether it succeeded or not.
    const writing = writeAll(fd, [filled], at).finally(() => releaseBatchBuffer(batch));
    // Handled here so a failure between flushes is not an unhandled rejection; the next
    // flush, final or destroy awaits it and reports it.
    writing.catch(() => undefined);
    this.#io = writing;
    this.#unsynced += filled.length;
    if (this.#unsynced >= SYNC_EVERY_BYTES && this.#bgSync === undefined) this.#syncBehind(fd, writing);
  }

  /**
   * Once `written` landed, fdatasyncs the file in the background (writes go on meanwhile,
   * from another thread-pool thread): what the final sync will have left to flush. Its
   * error is kept for the final sync to report.
   */
  #syncBehind(fd: number, written: Promise<void>): void {
    this.#unsynced = 0;
    const bg: Promise<void> = written
      .then(() => {
        this.#mayStartIo();
        return new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
      })
      .catch((err: Error) => {
        this.#syncError ??= err;
      })
      .finally(() => {
        if (this.#bgSync === bg) this.#bgSync = undefined;
      });
    this.#bgSync = bg;
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
