import type { BlockDevice, WriteOptions } from '../block-device.js';
import { NbdProtocolError, VolumeClosedError, VolumeRangeError, VolumeReadOnlyError } from '../errors.js';
import type { NbdConnection } from './connection.js';
import { Cmd, CMD_FLAG_FUA, CMD_FLAG_NO_HOLE, Errno, MAX_PAYLOAD, REQUEST_MAGIC, SIMPLE_REPLY_MAGIC } from './protocol.js';

/** One parsed request. */
interface Request {
  readonly type: number;
  readonly flags: number;
  /** The client's 8-byte handle as two 32-bit halves (numbers: no Buffer to allocate). */
  readonly handleHigh: number;
  readonly handleLow: number;
  /** -1 when the offset is beyond what we can represent (every device is smaller). */
  readonly offset: number;
  readonly length: number;
  /** A write's payload as the parts it arrived in (`ByteReader.readParts`). */
  readonly payload: readonly Buffer[] | undefined;
}

/** Thrown by a READ that fails: a simple reply cannot carry that, so we hang up after it. */
class ReadFailed extends Error {}

/**
 * Serves NBD requests on `conn` until the client sends NBD_CMD_DISC (resolves once the
 * requests in flight have been answered) or breaks the protocol (rejects with
 * NbdProtocolError; the caller closes the connection). Requests run concurrently, up to
 * `maxInFlight`, and each is answered as soon as it completes, so replies may come out of
 * order, as the protocol allows. A request the protocol lets us refuse (bad range,
 * unknown command or flag) gets an error reply and touches nothing.
 */
export async function serveTransmission(conn: NbdConnection, device: BlockDevice, maxInFlight: number): Promise<void> {
  // A count and one waiter instead of a set of promises: no extra promise per request.
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const done = (): void => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (;;) {
    if (failure !== undefined) throw failure;
    const next = nextRequest(conn);
    const request = next instanceof Promise ? await next : next;
    if (request.type === Cmd.Disc) {
      while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
      return;
    }
    inFlight++;
    execute(device, request).then(
      (data) => {
        const header = replyHeader(request, 0);
        if (data === undefined) conn.sendBatched(header);
        else conn.sendBatched(header, data);
        done();
      },
      (cause: unknown) => {
        const err = request.type === Cmd.Read && !(cause instanceof ReadFailed) ? new ReadFailed('read failed', { cause }) : cause;
        conn.sendBatched(replyHeader(request, errnoFor(err, request.type)));
        if (err instanceof ReadFailed) {
          failure = new NbdProtocolError('a read failed; hanging up as simple replies require');
          conn.flush();
          conn.stream.destroy();
        }
        done();
      },
    );
    if (inFlight >= maxInFlight) await new Promise<void>((resolve) => (wake = resolve));
  }
}

/**
 * The next request: parsed at once when its bytes are already buffered (the usual case
 * with a pipelining client), which spares a promise and a microtask turn per request;
 * else a promise of it.
 */
function nextRequest(conn: NbdConnection): Request | Promise<Request> {
  const head = conn.reader.tryRead(28);
  if (head === undefined) return conn.reader.read(28).then((h) => withPayload(conn, h));
  return withPayload(conn, head);
}

function withPayload(conn: NbdConnection, head: Buffer): Request | Promise<Request> {
  const header = parseHeader(head);
  if (header.type !== Cmd.Write) return header;
  // The payload length is the only framing we have: past our limit we cannot stay in
  // step safely, so the connection goes.
  if (header.length > MAX_PAYLOAD) throw new NbdProtocolError('write payload too large');
  // As parts: a large payload spans several socket chunks, and joining them would copy
  // every byte on the event loop; the device can take the chunks as they are.
  const payload = conn.reader.tryReadParts(header.length);
  if (payload !== undefined) return { ...header, payload };
  return conn.reader.readParts(header.length).then((p) => ({ ...header, payload: p }));
}

function parseHeader(head: Buffer): Request {
  if (head.readUInt32BE(0) !== REQUEST_MAGIC) throw new NbdProtocolError('bad request magic');
  const offsetHigh = head.readUInt32BE(16);
  const offsetLow = head.readUInt32BE(20);
  return {
    flags: head.readUInt16BE(4),
    type: head.readUInt16BE(6),
    handleHigh: head.readUInt32BE(8),
    handleLow: head.readUInt32BE(12),
    // Offsets of 2^53 and above are not safe integers: mark them out of range.
    offset: offsetHigh >= 0x20_0000 ? -1 : offsetHigh * 0x1_0000_0000 + offsetLow,
    length: head.readUInt32BE(24),
    payload: undefined,
  };
}

async function execute(device: BlockDevice, r: Request): Promise<Buffer | undefined> {
  const fua = (r.flags & CMD_FLAG_FUA) !== 0;
  const allowed = r.type === Cmd.WriteZeroes ? CMD_FLAG_FUA | CMD_FLAG_NO_HOLE : CMD_FLAG_FUA;
  if ((r.flags & ~allowed) !== 0 || r.offset < 0) {
    throw r.type === Cmd.Read ? new ReadFailed() : new InvalidRequest();
  }
  switch (r.type) {
    case Cmd.Read:
      if (r.length > MAX_PAYLOAD) throw new ReadFailed();
      // A rejection becomes ReadFailed in serveTransmission (no extra promise here).
      return device.read(r.offset, r.length);
    case Cmd.Write:
      await writePayload(device, r.offset, r.payload ?? [], { fua, donate: true });
      return undefined;
    case Cmd.Flush:
      await device.flush();
      return undefined;
    case Cmd.Trim:
      await device.trim(r.offset, r.length, { fua });
      return undefined;
    case Cmd.WriteZeroes:
      await device.writeZeroes(r.offset, r.length, { fua, noHole: (r.flags & CMD_FLAG_NO_HOLE) !== 0 });
      return undefined;
    default:
      throw new InvalidRequest();
  }
}

/**
 * Writes a payload given as parts. Donating is safe: a part that spans its whole
 * ArrayBuffer is a socket chunk nothing else refers to, and the join is ours.
 */
function writePayload(device: BlockDevice, offset: number, parts: readonly Buffer[], options: WriteOptions): Promise<void> {
  if (device.writeParts !== undefined) return device.writeParts(offset, parts, options);
  return device.write(offset, parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts), options);
}

/** Unknown command or flag: EINVAL, the connection stays up. */
class InvalidRequest extends Error {}

/** Maps a failure to the errno the protocol carries; never leaks the error's text. */
function errnoFor(err: unknown, type: number): number {
  if (err instanceof InvalidRequest) return Errno.EINVAL;
  if (err instanceof VolumeReadOnlyError) return Errno.EPERM;
  if (err instanceof VolumeClosedError) return Errno.ESHUTDOWN;
  if (err instanceof VolumeRangeError) {
    return type === Cmd.Write || type === Cmd.WriteZeroes ? Errno.ENOSPC : Errno.EINVAL;
  }
  if (err instanceof ReadFailed) {
    const cause = err.cause;
    return cause === undefined || cause instanceof VolumeRangeError ? Errno.EINVAL : errnoFor(cause, type);
  }
  return Errno.EIO;
}

function replyHeader(r: Request, error: number): Buffer {
  // allocUnsafe: a slice of Node's shared pool, not an ArrayBuffer per reply; every byte
  // is written below.
  const out = Buffer.allocUnsafe(16);
  out.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  out.writeUInt32BE(error, 4);
  out.writeUInt32BE(r.handleHigh, 8);
  out.writeUInt32BE(r.handleLow, 12);
  return out;
}
