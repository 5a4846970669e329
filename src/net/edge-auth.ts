import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verifySignature, type ParsedSignature, type SignedRequestView } from '../iam/index.js';
import type { CallContext } from '../kms/index.js';
import type { EdgeDeps, TransportChannel } from './edge-router.js';

/**
 * Verifies a signed request's SigV4 signature against the hash of its body (read whole by
 * the caller, e.g. with readBody) and returns the caller's context. Raises
 * AuthenticationError; the callers map it to their protocol. Synchronous: the edge awaits
 * only the body, not the verification.
 */
export function authenticatedCall(
  deps: Pick<EdgeDeps, 'credentials'>,
  req: IncomingMessage,
  view: SignedRequestView,
  sig: ParsedSignature,
  body: Buffer,
  time: Date,
  channel: TransportChannel,
): CallContext {
  const verified = verifySignature(view, sig, deps.credentials, { now: time, bodySha256: sha256Hex(body) });
  return callContext(verified.credential.principal, verified.credential.accessKeyId, req.socket.remoteAddress ?? '', channel);
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
