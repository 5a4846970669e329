import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { BlockDevice, WriteOptions } from '../src/volumes/block-device.js';

/**
 * An unencrypted BlockDevice over a plain file: the baseline the NBD benchmark compares
 * the encrypted volume with (same server, same protocol code, no XTS, no locks).
 */
export class PlainFileDevice implements BlockDevice {
  readonly readOnly = false;
  private constructor(readonly size: number, private readonly file: FileHandle) {}

  static async create(path: string, size: number): Promise<PlainFileDevice> {
    const file = await open(path, 'w+');
    await file.truncate(size);
    return new PlainFileDevice(size, file);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    await this.file.read(out, 0, length, offset);
    return out;
  }

  async write(offset: number, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.file.write(data, 0, data.length, offset);
    if (options.fua === true) await this.file.datasync();
  }

  async flush(): Promise<void> {
    await this.file.sync();
  }

  async trim(): Promise<void> {}

  async writeZeroes(offset: number, length: number, options: WriteOptions = {}): Promise<void> {
    await this.write(offset, Buffer.alloc(length), options);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
