/**
 * The floors of "durable" and "encrypted + durable" for bench/s3-bench.ts (its `null-fsync`
 * and `null-sealed` rows): a bare node:http server with nothing of Cipherlake's but what a
 * durable (and encrypting) object store cannot skip. No auth, no metadata, no audit, no
 * group commit: every PUT pays its own fdatasync and its own directory fsync.
 *
 * Run: node --import tsx bench/null-durable-server.ts <fsync|sealed> <data dir>
 * Prints `PORT <n>` on stdout once listening on 127.0.0.1; exits on SIGTERM.
 *
 * PUT writes the body (`sealed`: sealed on the way with the segment stream format, AES-256-GCM
 * in 64 KiB segments, through the same createSegmentEncryptor Transform Cipherlake uses, so the
 * native AES-GCM addon when it is loaded, node:crypto otherwise) to a temporary file, fdatasyncs it, renames it to the object's
 * name, fsyncs the data directory and only then answers 200. GET streams the file in 1 MiB
 * reads (`sealed`: through createSegmentDecryptor, each segment's tag verified before its
 * plaintext is sent; a failure cuts the connection);
 * 404 when nothing was PUT at that path. One random key per process seals every object, bound
 * to the request path as additional data; the format's per-object random salt still gives
 * each object its own content key, which is what Cipherlake's per-object data key costs in
 * cipher work (the key's own wrapping is metadata, which this floor leaves out).
 */
import { createHash } from 'node:crypto';
import { close, createReadStream, fdatasync, fsync, open, openSync, writev } from 'node:fs';
import { open as openFile, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSegmentDecryptor, createSegmentEncryptor, plaintextSize, retainFreedHeapForServer, SecretBytes } from '../src/crypto/index.js';

/** What the server does to bodies: `fsync` stores them as they are, `sealed` seals them. */
export type DurableMode = 'fsync' | 'sealed';

/** A PUT's sink's high-water mark: ~1 MiB waits in the stream while a batch is written. */
const SINK_BATCH_BYTES = 1024 * 1024;
/**
 * Bytes a PUT's sink gathers before a write (one thread-pool trip per ~1 MiB): past 1 MiB,
 * room for a sealed 1 MiB object's header and tags, so that it goes out in one write as in
 * Cipherlake's BatchingFileSink.
 */
const SINK_WRITE_BYTES = SINK_BATCH_BYTES + 4096;
/** Pieces gathered at most before a write (a writer of tiny pieces: 16-byte tags), so one writev stays well under IOV_MAX. */
const SINK_MAX_PIECES = 256;
/** Bytes per GET read: 1 MiB, as Cipherlake's file backend reads. */
const READ_BYTES = 1024 * 1024;

/**
 * A Writable onto a new file (`wx`, 0600): chunks are held by reference until SINK_WRITE_BYTES
 * (or SINK_MAX_PIECES pieces) have gathered and then go out in one writev, while the next ones
 * wait in the stream's buffer; `final` writes the rest and fdatasyncs before the stream
 * finishes, so a finished sink's bytes are on stable storage. (Writing each chunk as it came
 * cost a 1 MiB PUT 3–5 writes, each a thread-pool trip.) Errors (an existing path, a short
 * write, a failed sync) fail the stream; the descriptor is closed in every case.
 */
class DurableFileSink extends Writable {
  readonly #path: string;
  #fd: number | undefined;
  #held: Buffer[] = [];
  #heldBytes = 0;

  constructor(path: string) {
    super({ highWaterMark: SINK_BATCH_BYTES });
    this.#path = path;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, 'wx', 0o600, (err, fd) => {
      if (err === null) this.#fd = fd;
      callback(err);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#hold([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#hold(chunks.map((c) => c.chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush((err) => (err ? callback(err) : fdatasync(this.#fd!, (syncErr) => callback(syncErr))));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return callback(error);
    close(fd, (err) => callback(error ?? err));
  }

  /** Holds `chunks` (request and cipher output buffers are never reused: no copy), writing once a batch has gathered. */
  #hold(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    for (const c of chunks) {
      this.#held.push(c);
      this.#heldBytes += c.length;
    }
    if (this.#heldBytes < SINK_WRITE_BYTES && this.#held.length < SINK_MAX_PIECES) return callback();
    this.#flush(callback);
  }

  /** Writes what is held, if anything. */
  #flush(callback: (error?: Error | null) => void): void {
    const chunks = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    if (chunks.length === 0) return callback();
    this.#writeAll(chunks, callback);
  }

  #writeAll(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const want = chunks.reduce((n, c) => n + c.length, 0);
    // libuv writes every iovec of a regular file unless the disk fails; a short write is an error here, not a retry.
    writev(this.#fd!, chunks, (err, written) => callback(err ?? (written === want ? null : new Error(`short write: ${written} of ${want}`))));
  }
}

/** The server's state: mode, where objects live, the directory's descriptor, the sealing key. */
interface Store {
  readonly mode: DurableMode;
  readonly dir: string;
  readonly dirFd: number;
  readonly key: SecretBytes;
  tmpCounter: number;
}

/** An object's file: a hash of its path, so any path maps to one safe name. */
function objectFile(store: Store, path: string): string {
  return join(store.dir, createHash('sha256').update(path).digest('hex'));
}

/** fsync of the data directory (the rename's durability), one per PUT: no group commit. */
function syncDir(store: Store): Promise<void> {
  return new Promise((resolve, reject) => fsync(store.dirFd, (err) => (err === null ? resolve() : reject(err))));
}

async function put(store: Store, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const tmp = join(store.dir, `.tmp-${process.pid}-${store.tmpCounter++}`);
  const sink = new DurableFileSink(tmp);
  try {
    if (store.mode === 'sealed') await pipeline(req, createSegmentEncryptor(store.key, { aad: Buffer.from(path, 'utf8') }), sink);
    else await pipeline(req, sink);
    await rename(tmp, objectFile(store, path));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(store);
  res.writeHead(200, { etag: '"00000000000000000000000000000000"', 'content-length': 0 });
  res.end();
}

async function get(store: Store, path: string, res: ServerResponse): Promise<void> {
  const file = objectFile(store, path);
  const size = await stat(file).then((s) => s.size, () => undefined);
  if (size === undefined) {
    res.writeHead(404, { 'content-length': 0 });
    return void res.end();
  }
  res.writeHead(200, { 'content-length': store.mode === 'sealed' ? plaintextSize(size) : size, 'content-type': 'application/octet-stream' });
  // 1 MiB reads with one read ahead, as Cipherlake's file backend streams a body.
  const source = createReadStream(file, { highWaterMark: READ_BYTES });
  const body = store.mode === 'sealed' ? source.pipe(createSegmentDecryptor(store.key, { aad: Buffer.from(path, 'utf8') })) : source;
  // A failed read or tag check fails the decryptor too (pipe does not forward errors), and a
  // decryptor that failed or was destroyed (the client left) closes the file (pipe only unpipes).
  source.once('error', (err) => body.destroy(err));
  body.once('close', () => source.destroy());
  await sendBody(res, body);
}

/**
 * Writes `body` to `res` and ends it; resolves once sent, rejects on the body's error (the
 * caller then cuts the connection). Every piece of one tick (a read's 16 verified segments)
 * is written in that tick, so node:http's cork sends them in one vectored write, and
 * backpressure is checked once per tick, as Cipherlake's streamOut does: a `pipeline` into
 * `res` waits for a drain after every 64 KiB piece, one syscall each, which made this floor
 * slower than the server it bounds.
 */
function sendBody(res: ServerResponse, body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    let checking = false;
    body.on('data', (chunk: Buffer) => {
      res.write(chunk);
      if (checking) return;
      checking = true;
      process.nextTick(() => {
        checking = false;
        if (!res.writableNeedDrain) return;
        body.pause();
        res.once('drain', () => body.resume());
      });
    });
    body.on('end', () => res.end(() => resolve()));
    body.on('error', reject);
    res.on('close', () => {
      if (res.writableFinished) return;
      body.destroy();
      reject(new Error('client closed the connection'));
    });
  });
}

function handle(store: Store, req: IncomingMessage, res: ServerResponse): void {
  const path = req.url?.split('?')[0] ?? '/';
  const work = req.method === 'PUT' ? put(store, path, req, res) : req.method === 'GET' ? get(store, path, res) : Promise.reject(new Error(`method ${req.method}`));
  work.catch((err: unknown) => {
    process.stderr.write(`${req.method} ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
    // Headers already sent (a GET failing mid-body): only cutting the connection tells the client.
    if (res.headersSent) return void res.destroy();
    req.resume();
    res.writeHead(500, { 'content-length': 0, connection: 'close' });
    res.end();
  });
}

/**
 * Starts the server for `mode` over the existing directory `dir` on 127.0.0.1 (an ephemeral
 * port) and prints `PORT <n>` once listening. Never returns an error to the caller: a
 * request that fails answers 500 (or, mid-body, has its connection cut) and is logged to
 * stderr without any body or key bytes.
 */
export function serveDurableNull(mode: DurableMode, dir: string): void {
  const store: Store = { mode, dir, dirFd: openSync(dir, 'r'), key: SecretBytes.random(32), tmpCounter: 0 };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => handle(store, req, res));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

const [, , modeArg, dirArg] = process.argv;
if ((modeArg === 'fsync' || modeArg === 'sealed') && dirArg !== undefined) {
  // The same heap policy as `cipherlake server` (src/crypto/native-gcm/README.md), in both modes.
  retainFreedHeapForServer();
  serveDurableNull(modeArg, dirArg);
}
