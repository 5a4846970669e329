import { connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A deliberately small NBD client for protocol tests: it can send well-formed and
 * malformed bytes and read whatever comes back. Not for real use.
 */
export class RawNbdClient {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawNbdClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawNbdClient(socket);
  }

  /** Exactly n bytes, or undefined if the server closed first. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.#buffer.length < n) {
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** Resolves true once the server has closed the connection. */
  async closedByServer(): Promise<boolean> {
    while (!this.#closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return true;
  }

  /** Handshake with NBD_OPT_GO for `name`; returns the option reply types seen. */
  async go(name: string): Promise<number[]> {
    await this.read(18);
    this.socket.write(u32(3));
    const nameBytes = Buffer.from(name);
    const data = Buffer.concat([u32(nameBytes.length), nameBytes, Buffer.from([0, 0])]);
    this.socket.write(Buffer.concat([Buffer.from('IHAVEOPT'), u32(7), u32(data.length), data]));
    const types: number[] = [];
    for (;;) {
      const head = await this.read(20);
      if (head === undefined) return types;
      const type = head.readUInt32BE(12);
      await this.read(head.readUInt32BE(16));
      types.push(type);
      if (type === 1 || type >= 0x8000_0000) return types;
    }
  }

  /** Sends one request (with payload for writes). */
  request(type: number, handle: number, offset: number, length: number, payload?: Buffer, flags = 0, magic = 0x25609513): void {
    const head = Buffer.alloc(28);
    head.writeUInt32BE(magic, 0);
    head.writeUInt16BE(flags, 4);
    head.writeUInt16BE(type, 6);
    head.writeBigUInt64BE(BigInt(handle), 8);
    head.writeBigUInt64BE(BigInt(offset), 16);
    head.writeUInt32BE(length, 24);
    this.socket.write(payload === undefined ? head : Buffer.concat([head, payload]));
  }

  /** Reads one simple reply; `readLengths` maps handles of reads to their lengths. */
  async reply(readLengths: Map<number, number>): Promise<{ handle: number; error: number; data?: Buffer } | undefined> {
    const head = await this.read(16);
    if (head === undefined) return undefined;
    const handle = Number(head.readBigUInt64BE(8));
    const error = head.readUInt32BE(4);
    const length = readLengths.get(handle);
    if (error !== 0 || length === undefined) return { handle, error };
    const data = await this.read(length);
    return data === undefined ? undefined : { handle, error, data };
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
