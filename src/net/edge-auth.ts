import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verifySignature, type ParsedSignature, type SignedRequestView } from '../iam/index.js';
import type { CallContext } from '../kms/index.js';
import type { EdgeDeps, TransportChannel } from './edge-router.js';
import { readBody } from './http-body.js';

/**
 * Reads a whole signed request body (refusing more than `maxBytes`), verifies its SigV4
 * signature against the body's hash, and returns the body with the caller's context.
 * Raises BodyTooLargeError or AuthenticationError; the callers map them to their protocol.
 */
export async function authenticateBody(
  deps: Pick<EdgeDeps, 'credentials'>,
  req: IncomingMessage,
  view: SignedRequestView,
  sig: ParsedSignature,
  maxBytes: number,
  time: Date,
  channel: TransportChannel,
): Promise<{ body: Buffer; call: CallContext }> {
  const body = await readBody(req, maxBytes);
  const verified = verifySignature(view, sig, deps.credentials, { now: time, bodySha256: sha256Hex(body) });
  const call: CallContext = {
    principal: verified.credential.principal,
    accessKeyId: verified.credential.accessKeyId,
    sourceIp: req.socket.remoteAddress ?? '',
    ...channel,
  };
  return { body, call };
}

// One-shot SHA-256 (node:crypto `hash`, Node ≥ 20.12): no Hash object per request.
function sha256Hex(b: Buffer): string {
  return hash('sha256', b, 'hex');
}
