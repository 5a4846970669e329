import type { Duplex } from 'node:stream';
import { ByteReader } from './byte-reader.js';

/** Buffered bytes above which a connection stops reading from the socket. */
const READ_HIGH_WATER = 64 * 1024 * 1024;

/**
 * One client connection: the stream we speak on (the TCP socket, then the TLS socket
 * after STARTTLS) and the reader over it. Mutable because STARTTLS swaps both.
 */
export class NbdConnection {
  stream: Duplex;
  reader: ByteReader;
  tls = false;
  /** The TLS-PSK identity whose key the client proved, once TLS is up with a PSK. */
  pskIdentity: string | undefined;
  /** The stream `sendBatched` corked, until its setImmediate or `flush()`. */
  #corked: Duplex | undefined;

  constructor(stream: Duplex) {
    this.stream = stream;
    this.reader = new ByteReader(stream, READ_HIGH_WATER);
  }

  /** Switches to `stream` (the TLS socket wrapping the old one). */
  upgrade(stream: Duplex): void {
    this.reader.detach();
    this.stream = stream;
    this.reader = new ByteReader(stream, READ_HIGH_WATER);
    this.tls = true;
  }

  /** Writes `parts` back to back, now; they go out contiguously. Never throws. */
  send(...parts: Buffer[]): void {
    if (this.stream.destroyed) return;
    this.stream.cork();
    for (const part of parts) this.stream.write(part);
    this.stream.uncork();
  }

  /**
   * Like `send`, but the stream stays corked until the end of this event-loop turn, so the
   * replies of every request that completed in the same turn leave in one vectored write:
   * one syscall, and one wake-up of the client, instead of one per reply. For the
   * transmission phase; `flush()` sends at once (before hanging up).
   */
  sendBatched(...parts: Buffer[]): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (this.#corked !== stream) {
      this.#corked = stream;
      stream.cork();
      setImmediate(() => this.#uncork(stream));
    }
    for (const part of parts) stream.write(part);
  }

  /** Sends whatever `sendBatched` is holding back. */
  flush(): void {
    const stream = this.#corked;
    if (stream !== undefined) this.#uncork(stream);
  }

  #uncork(stream: Duplex): void {
    if (this.#corked !== stream) return;
    this.#corked = undefined;
    stream.uncork();
  }
}
