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
 * mid-body raises BodyIncompleteError.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) return Promise.reject(new BodyTooLargeError(`request body over ${maxBytes} bytes`));
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
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNRESET' ? new BodyIncompleteError('the client closed the connection before the body ended', { cause: err }) : err));
  });
}

/** Pairs node's flat `rawHeaders` list into [name, value] tuples. */
export function headerPairs(req: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
