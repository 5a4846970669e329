import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { until } from '../helpers/until.js';

/**
 * One raw keep-alive connection that asks for /_cipherlake/health (no credentials needed)
 * as many times as told. `closed` says whether the server closed it (or refused it).
 */
export class HealthConnection {
  readonly #socket: Socket;
  #got = Buffer.alloc(0);
  closed = false;

  constructor(url: string, ca?: string) {
    const { hostname, port, protocol } = new URL(url);
    this.#socket = protocol === 'https:' ? tlsConnect({ host: hostname, port: Number(port), ca, servername: 'localhost' }) : tcpConnect(Number(port), hostname);
    this.#socket.on('data', (c: Buffer) => (this.#got = Buffer.concat([this.#got, c])));
    this.#socket.on('error', () => undefined); // a refused connection shows as `closed`
    this.#socket.on('close', () => (this.closed = true));
  }

  /** Sends one request and resolves with the status code of its answer; rejects if the connection closes first. */
  async ask(): Promise<number> {
    this.#got = Buffer.alloc(0);
    this.#socket.write('GET /_cipherlake/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await until(() => this.#complete() || this.closed, 'an answer or a close');
    if (!this.#complete()) throw new Error('closed without an answer');
    return Number(/^HTTP\/1\.1 (\d{3}) /.exec(this.#got.toString('latin1'))?.[1]);
  }

  #complete(): boolean {
    const text = this.#got.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text);
    return end >= 0 && length !== null && this.#got.length >= end + 4 + Number(length[1]);
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
