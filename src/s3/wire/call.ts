import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { VerifiedRequest } from '../../iam/index.js';
import type { CallContext } from '../../kms/index.js';
import { EntityTooLargeError } from '../errors.js';
import type { S3Deps } from '../s3-deps.js';
import { openPayload, type Payload } from './payload.js';
import type { Owner } from './xml.js';
import type { Readable } from 'node:stream';

/** Everything a route handler needs for one authenticated request. */
export interface S3Call {
  readonly deps: S3Deps;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Empty at service level. */
  readonly bucket: string;
  /** Empty at service and bucket level. */
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  /** The client connection was HTTPS (directly, or per the trusted proxy header). */
  readonly secure: boolean;
  readonly owner: Owner;
  /** The authenticated caller (the anonymous principal for an unsigned request) and its channel. */
  readonly caller: CallContext;
  /**
   * Authorizes another action or resource for this caller, beyond the route's own (which
   * the handler has already decided): DeleteObjects' keys, for example. Raises AccessDeniedError.
   */
  authorize(action: string, target: { readonly bucket: string; readonly key: string }): Promise<void>;
  /** Opens the (verified-on-finish) body; see openPayload. */
  payload(maxBytes?: number): Payload;
  /** Reads and verifies a small body (XML documents). Raises EntityTooLarge and the payload's errors. */
  readSmall(maxBytes?: number): Promise<Buffer>;
  /** Answers with status, headers and an optional body (XML when a string). */
  send(status: number, headers?: OutgoingHttpHeaders, body?: string): void;
  /** Extra facts for the audit event (the KMS key involved, for example). */
  note(detail: { keyIdentifier?: string }): void;
}

/** Builds the S3Call for a request whose signature has been verified. */
export function makeCall(
  base: Omit<S3Call, 'payload' | 'readSmall' | 'send' | 'note'>,
  verified: VerifiedRequest,
  source: Readable,
  notes: { keyIdentifier?: string },
): S3Call {
  const send = (status: number, headers: OutgoingHttpHeaders = {}, body?: string): void => {
    const common: OutgoingHttpHeaders = { 'x-amz-request-id': base.requestId, 'x-amz-id-2': base.requestId, date: base.deps.clock.now().toUTCString(), server: 'Cipherlake' };
    if (body === undefined) {
      base.res.writeHead(status, { ...common, 'content-length': 0, ...headers });
      base.res.end();
      return;
    }
    base.res.writeHead(status, { ...common, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...headers });
    base.res.end(body);
  };
  const payload = (maxBytes?: number): Payload => openPayload(base.req, verified, maxBytes, source);
  return {
    ...base,
    payload,
    send,
    note: (d) => Object.assign(notes, d),
    readSmall: async (maxBytes = 1024 * 1024) => {
      const p = payload(maxBytes);
      const chunks: Buffer[] = [];
      await pipeline(p.stream, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
      p.verify();
      const body = Buffer.concat(chunks);
      if (body.length > maxBytes) throw new EntityTooLargeError('');
      return body;
    },
  };
}
