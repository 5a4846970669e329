import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ObjectBackend, PendingObject, StoredRange } from '../../s3/object-backend.js';

/**
 * ObjectBackend on the local file system: bodies in `root/data/<xx>/<storageId>`, writes
 * in `root/tmp/` until committed. Committing fsyncs the file, renames it into place and
 * fsyncs the directory, so an acknowledged body survives a crash; leftovers of writes that
 * never committed are removed when the backend opens. Never sees plaintext.
 */
export class FsObjectBackend implements ObjectBackend {
  readonly #tmp: string;
  readonly #data: string;

  constructor(root: string) {
    this.#tmp = join(root, 'tmp');
    this.#data = join(root, 'data');
    mkdirSync(this.#data, { recursive: true, mode: 0o700 });
    rmSync(this.#tmp, { recursive: true, force: true });
    mkdirSync(this.#tmp, { recursive: true, mode: 0o700 });
  }

  async create(): Promise<PendingObject> {
    const storageId = randomUUID();
    const tmpPath = join(this.#tmp, storageId);
    const finalDir = join(this.#data, storageId.slice(0, 2));
    const finalPath = join(finalDir, storageId);
    const stream = createWriteStream(tmpPath, { flags: 'wx', mode: 0o600 });
    return {
      storageId,
      stream,
      commit: async () => {
        await fsyncPath(tmpPath, 'r+');
        mkdirSync(finalDir, { recursive: true, mode: 0o700 });
        await rename(tmpPath, finalPath);
        await fsyncPath(finalDir, 'r');
      },
      abort: async () => {
        stream.destroy();
        await rm(tmpPath, { force: true });
      },
    };
  }

  read(storageId: string, range?: StoredRange): Readable {
    const path = this.#path(storageId);
    return range === undefined ? createReadStream(path) : createReadStream(path, { start: range.start, end: range.endInclusive });
  }

  async delete(storageId: string): Promise<void> {
    await rm(this.#path(storageId), { force: true });
  }

  /** Storage ids of every committed body (for audits and tests). */
  listStorageIds(): string[] {
    return readdirSync(this.#data).flatMap((d) => readdirSync(join(this.#data, d)));
  }

  #path(storageId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(storageId)) throw new Error('malformed storage id');
    return join(this.#data, storageId.slice(0, 2), storageId);
  }
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
