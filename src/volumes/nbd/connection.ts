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

  /** Writes `parts` back to back; they go out contiguously even with replies interleaving. */
  send(...parts: Buffer[]): void {
    if (this.stream.destroyed) return;
    this.stream.cork();
    for (const part of parts) this.stream.write(part);
    this.stream.uncork();
  }
}
