import type { IncomingMessage } from 'node:http';
import { CipherlakeError } from '../common/errors.js';

/** The request body was larger than the route allows. */
export class BodyTooLargeError extends CipherlakeError {
  readonly userError = true;
}

/** The client closed the connection before its body ended (node's 'aborted', ECONNRESET): its fault, not ours. */
export class BodyIncompleteError extends CipherlakeError {
  readonly userError = true;
}

/**
 * Reads a whole request body, refusing more than `maxBytes` (by Content-Length up front,
 * and by counting as it arrives, for chunked bodies) with BodyTooLargeError; a client gone
 * mid-body raises BodyIncompleteError. Never resolves before every byte of the body has arrived.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new BodyTooLargeError(`request body over ${maxBytes} bytes`);
  // The handler runs inside the HTTP parser's 'request' event, before the parser has pushed
  // the body bytes of the same packet; one microtask later it has (the body's end follows
  // only with the next parse). A Content-Length body whose bytes are all buffered by then
  // (every KMS call) is taken whole with one read(): HTTP framing gives the body exactly
  // that many bytes. This spares the flowing-mode machinery ('data', 'end' and 'error'
  // listeners, resume, flow and end ticks), which costs more than the rest of the read.
  await undefined;
  // An error emitted during that microtask (the request destroyed, the client gone) found no
  // listener yet and is not emitted again: it is read from the stream's state.
  const failed = req.errored;
  if (failed !== null) throw bodyError(failed);
  // Destroyed without an error (by a handler): neither 'end' nor 'error' will come.
  if (req.destroyed) throw closedEarly();
  if (req.readableLength === declared && req.readableFlowing === null && req.listenerCount('data') === 0) return readBuffered(req, maxBytes);
  return readStreamed(req, maxBytes);
}

/** The whole body of a request whose Content-Length bytes are all in its read buffer. */
function readBuffered(req: IncomingMessage, maxBytes: number): Buffer {
  const body = (req.read() as Buffer | null) ?? EMPTY;
  if (body.length > maxBytes) throw new BodyTooLargeError(`request body over ${maxBytes} bytes`);
  return body;
}

const EMPTY = Buffer.alloc(0);

/** A connection reset mid-body is the client's doing (BodyIncompleteError); anything else stays as it is. */
function bodyError(err: Error): Error {
  return (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? new BodyIncompleteError('the client closed the connection before the body ended', { cause: err }) : err;
}

function closedEarly(): BodyIncompleteError {
  return new BodyIncompleteError('the request was closed before its body ended');
}

function readStreamed(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`request body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', (err: Error) => reject(bodyError(err)));
    // 'close' follows 'end' or 'error' (which settled first); alone it is a request destroyed without an error.
    req.on('close', () => reject(closedEarly()));
  });
}

/** Pairs node's flat `rawHeaders` list into [name, value] tuples. */
export function headerPairs(req: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
