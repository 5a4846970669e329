import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import type { BlockDevice } from '../block-device.js';
import { NbdProtocolError } from '../errors.js';
import type { NbdConnection } from './connection.js';
import type { ExportRegistry, NbdPeer } from './export-registry.js';
import {
  FLAG_C_FIXED_NEWSTYLE, FLAG_C_NO_ZEROES, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT,
  INFO_BLOCK_SIZE, INFO_EXPORT, MAX_NAME_LENGTH, MAX_OPTION_LENGTH, MAX_PAYLOAD, NBDMAGIC,
  Opt, OPTION_REPLY_MAGIC, Rep, TF_CAN_MULTI_CONN, TF_HAS_FLAGS, TF_READ_ONLY, TF_SEND_FLUSH,
  TF_SEND_FUA, TF_SEND_TRIM, TF_SEND_WRITE_ZEROES,
} from './protocol.js';

/** What the handshake needs to know; built once by the server. */
export interface HandshakeConfig {
  readonly registry: ExportRegistry;
  /** Undefined: the server has no TLS (NOTLS mode). */
  readonly tls: { readonly context: SecureContext; readonly pskCallback?: PskLookup } | undefined;
  /** FORCEDTLS mode: every option but STARTTLS and ABORT is refused until TLS is up. */
  readonly requireTls: boolean;
}

/** TLS-PSK: the key for an identity, or undefined to refuse it. */
export type PskLookup = (identity: string) => Uint8Array | undefined;

/** The export a client chose. */
export interface ChosenExport {
  readonly name: string;
  readonly device: BlockDevice;
}

/**
 * Runs the fixed newstyle handshake on `conn`. Resolves with the chosen export, or
 * undefined when the client aborted. Rejects with NbdProtocolError when the client breaks
 * the protocol, asks for an unknown export with NBD_OPT_EXPORT_NAME (which cannot be
 * refused any other way), or fails the TLS handshake; the caller then closes the socket.
 */
export async function negotiate(conn: NbdConnection, config: HandshakeConfig): Promise<ChosenExport | undefined> {
  const greeting = Buffer.alloc(18);
  greeting.writeBigUInt64BE(NBDMAGIC, 0);
  greeting.writeBigUInt64BE(IHAVEOPT, 8);
  greeting.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  conn.send(greeting);
  const clientFlags = (await conn.reader.read(4)).readUInt32BE(0);
  if ((clientFlags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) !== 0 || (clientFlags & FLAG_C_FIXED_NEWSTYLE) === 0) {
    throw new NbdProtocolError('client flags not supported (fixed newstyle only)');
  }
  const noZeroes = (clientFlags & FLAG_C_NO_ZEROES) !== 0;
  for (;;) {
    const head = await conn.reader.read(16);
    if (head.readBigUInt64BE(0) !== IHAVEOPT) throw new NbdProtocolError('bad option magic');
    const option = head.readUInt32BE(8);
    const length = head.readUInt32BE(12);
    if (length > MAX_OPTION_LENGTH) throw new NbdProtocolError('option too long');
    const data = await conn.reader.read(length);
    const result = await handleOption(conn, config, option, data, noZeroes);
    if (result !== 'continue') return result === 'abort' ? undefined : result;
  }
}

async function handleOption(
  conn: NbdConnection, config: HandshakeConfig, option: number, data: Buffer, noZeroes: boolean,
): Promise<ChosenExport | 'abort' | 'continue'> {
  if (config.requireTls && !conn.tls && option !== Opt.StartTls && option !== Opt.Abort) {
    if (option === Opt.ExportName) throw new NbdProtocolError('NBD_OPT_EXPORT_NAME before TLS');
    reply(conn, option, Rep.ErrTlsReqd);
    return 'continue';
  }
  switch (option) {
    case Opt.ExportName:
      return exportName(conn, config, data, noZeroes);
    case Opt.Abort:
      reply(conn, option, Rep.Ack);
      return 'abort';
    case Opt.List:
      listExports(conn, config, data);
      return 'continue';
    case Opt.StartTls:
      await startTls(conn, config, data);
      return 'continue';
    case Opt.Info:
    case Opt.Go:
      return infoOrGo(conn, config, option, data);
    default:
      reply(conn, option, Rep.ErrUnsup);
      return 'continue';
  }
}

function exportName(conn: NbdConnection, config: HandshakeConfig, data: Buffer, noZeroes: boolean): ChosenExport {
  const name = data.toString('utf8');
  const device = data.length <= MAX_NAME_LENGTH ? config.registry.lookup(name, peerOf(conn)) : undefined;
  if (device === undefined) throw new NbdProtocolError('unknown export requested with NBD_OPT_EXPORT_NAME');
  const out = Buffer.alloc(noZeroes ? 10 : 134);
  out.writeBigUInt64BE(BigInt(device.size), 0);
  out.writeUInt16BE(transmissionFlags(device), 8);
  conn.send(out);
  return { name, device };
}

function listExports(conn: NbdConnection, config: HandshakeConfig, data: Buffer): void {
  if (data.length !== 0) {
    reply(conn, Opt.List, Rep.ErrInvalid);
    return;
  }
  for (const name of config.registry.list(peerOf(conn))) {
    const encoded = Buffer.from(name, 'utf8');
    const body = Buffer.alloc(4 + encoded.length);
    body.writeUInt32BE(encoded.length, 0);
    encoded.copy(body, 4);
    reply(conn, Opt.List, Rep.Server, body);
  }
  reply(conn, Opt.List, Rep.Ack);
}

async function startTls(conn: NbdConnection, config: HandshakeConfig, data: Buffer): Promise<void> {
  if (data.length !== 0 || conn.tls) {
    reply(conn, Opt.StartTls, Rep.ErrInvalid);
    return;
  }
  if (config.tls === undefined) {
    reply(conn, Opt.StartTls, Rep.ErrPolicy);
    return;
  }
  reply(conn, Opt.StartTls, Rep.Ack);
  // The client must wait for our ACK before its ClientHello; anything already buffered
  // would be plaintext smuggled into the TLS session.
  if (conn.reader.buffered > 0) throw new NbdProtocolError('data sent before the TLS handshake');
  const psk = config.tls.pskCallback;
  conn.reader.detach();
  const secure = new TLSSocket(conn.stream as Socket, {
    isServer: true,
    secureContext: config.tls.context,
    ...(psk === undefined
      ? {}
      : {
          pskCallback: (_socket: TLSSocket, identity: string) => {
            const key = psk(identity);
            // Remembered so the registry can tie exports to the identity that proved its key.
            if (key !== undefined) conn.pskIdentity = identity;
            return key ?? null;
          },
        }),
  });
  await new Promise<void>((resolve, reject) => {
    secure.once('secure', resolve);
    secure.once('error', (err) => reject(new NbdProtocolError('TLS handshake failed', { cause: err })));
    secure.once('close', () => reject(new NbdProtocolError('connection closed during the TLS handshake')));
  });
  conn.upgrade(secure);
}

function infoOrGo(conn: NbdConnection, config: HandshakeConfig, option: Opt, data: Buffer): ChosenExport | 'continue' {
  const nameLength = data.length >= 4 ? data.readUInt32BE(0) : -1;
  const requests = nameLength >= 0 && data.length >= 6 + nameLength ? data.readUInt16BE(4 + nameLength) : -1;
  if (requests < 0 || data.length !== 6 + nameLength + 2 * requests || nameLength > MAX_NAME_LENGTH) {
    reply(conn, option, Rep.ErrInvalid);
    return 'continue';
  }
  const name = data.toString('utf8', 4, 4 + nameLength);
  const device = config.registry.lookup(name, peerOf(conn));
  if (device === undefined) {
    reply(conn, option, Rep.ErrUnknown);
    return 'continue';
  }
  const exportInfo = Buffer.alloc(12);
  exportInfo.writeUInt16BE(INFO_EXPORT, 0);
  exportInfo.writeBigUInt64BE(BigInt(device.size), 2);
  exportInfo.writeUInt16BE(transmissionFlags(device), 10);
  reply(conn, option, Rep.Info, exportInfo);
  // Our limits equal the protocol defaults (any alignment, 4 KiB preferred, 32 MiB max),
  // so saying them is safe whether or not the client asked.
  const blockSize = Buffer.alloc(14);
  blockSize.writeUInt16BE(INFO_BLOCK_SIZE, 0);
  blockSize.writeUInt32BE(1, 2);
  blockSize.writeUInt32BE(4096, 6);
  blockSize.writeUInt32BE(MAX_PAYLOAD, 10);
  reply(conn, option, Rep.Info, blockSize);
  reply(conn, option, Rep.Ack);
  return option === Opt.Go ? { name, device } : 'continue';
}

/**
 * The transmission flags for a device. Multi-conn is safe: every connection to an
 * export shares one device object and one file, so a flush on any of them covers writes
 * completed on all of them.
 */
export function transmissionFlags(device: BlockDevice): number {
  let flags = TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_CAN_MULTI_CONN;
  if (device.readOnly) flags |= TF_READ_ONLY;
  else flags |= TF_SEND_TRIM | TF_SEND_WRITE_ZEROES;
  return flags;
}

/** Who the client proved to be (a TLS-PSK identity), for the registry. */
function peerOf(conn: NbdConnection): NbdPeer {
  return { tls: conn.tls, ...(conn.pskIdentity !== undefined ? { pskIdentity: conn.pskIdentity } : {}) };
}

function reply(conn: NbdConnection, option: number, type: Rep, body: Buffer = Buffer.alloc(0)): void {
  const head = Buffer.alloc(20);
  head.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  head.writeUInt32BE(option, 8);
  head.writeUInt32BE(type, 12);
  head.writeUInt32BE(body.length, 16);
  conn.send(head, body);
}
