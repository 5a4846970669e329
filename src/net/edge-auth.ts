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
  return { body, call: callContext(verified.credential.principal, verified.credential.accessKeyId, req.socket.remoteAddress ?? '', channel) };
}

/** The call context of an authenticated request: the caller plus the channel's facts, assigned one by one (no spread per request). */
function callContext(principal: CallContext['principal'], accessKeyId: string, sourceIp: string, channel: TransportChannel): CallContext {
  const call: { -readonly [K in keyof CallContext]: CallContext[K] } = { principal, accessKeyId, sourceIp, secureTransport: channel.secureTransport };
  if (channel.tlsVersion !== undefined) call.tlsVersion = channel.tlsVersion;
  if (channel.cipherSuite !== undefined) call.cipherSuite = channel.cipherSuite;
  if (channel.vpcEndpointId !== undefined) call.vpcEndpointId = channel.vpcEndpointId;
  if (channel.endpointPolicy !== undefined) call.endpointPolicy = channel.endpointPolicy;
  return call;
}

// One-shot SHA-256 (node:crypto `hash`, Node ≥ 20.12): no Hash object per request.
function sha256Hex(b: Buffer): string {
  return hash('sha256', b, 'hex');
}
