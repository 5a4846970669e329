import { createHash, createHmac, hash, timingSafeEqual } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { AuthenticationError } from '../errors.js';
import type { Credential, CredentialLookup } from '../principals.js';
import { amzDateToMillis, headerValue, queryPairs, type ParsedSignature, type SignedRequestView } from './parse.js';
import { uriEncode } from './uri-encode.js';

/** The largest clock difference AWS tolerates between client and server. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** What a verified signature establishes. */
export interface VerifiedRequest {
  readonly credential: Credential;
  readonly signature: ParsedSignature;
  /** The payload hash that was signed: a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* mode. */
  readonly payloadHash: string;
  /** Derived signing key, for verifying aws-chunked chunk signatures. Never log it. */
  readonly signingKey: Buffer;
}

export interface VerifyOptions {
  readonly now: Date;
  /** The body's SHA-256 (hex) when the body has been read; undefined for streamed bodies. */
  readonly bodySha256?: string;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const NEEDS_COLLAPSE = /[^\S ]| {2}/;
const signingKeys = new Map<string, Buffer>();
/** Per credential object, so the hot path skips hashing the secret for the shared cache key. */
const signingKeysByCredential = new WeakMap<Credential, Map<string, Buffer>>();

/**
 * Verifies a SigV4 signature in constant time.
 *
 * Raises AuthenticationError with kind UnknownAccessKey, InvalidToken, RequestExpired,
 * SignatureMismatch or ContentHashMismatch. Never reveals the expected signature.
 */
export function verifySignature(
  view: SignedRequestView,
  sig: ParsedSignature,
  credentials: CredentialLookup,
  options: VerifyOptions,
): VerifiedRequest {
  const credential = credentials.find(sig.accessKeyId);
  if (credential === undefined) {
    throw new AuthenticationError('UnknownAccessKey', 'The security token included in the request is invalid.');
  }
  checkSessionToken(credential, sig, options.now);
  checkTime(sig, options.now);
  const payloadHash = signedPayloadHash(view, sig, options.bodySha256);
  const canonical = canonicalRequest(view, sig, payloadHash);
  const stringToSign = `AWS4-HMAC-SHA256\n${sig.amzDate}\n${credentialScope(sig)}\n${sha256Hex(canonical)}`;
  const signingKey = deriveSigningKey(credential, sig.date, sig.region, sig.service);
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  const given = decodedSignature(sig.signature);
  // Exactly 64 hex digits, as AWS requires: decoding stops at the first non-hex pair, so a
  // right signature followed by anything must be refused by its length, not by its bytes.
  if (sig.signature.length !== 64 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AuthenticationError(
      'SignatureMismatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  // The (cheap) inequality first: a body signed by its hash (KMS, most S3 calls) is equal and skips the pattern.
  if (options.bodySha256 !== undefined && payloadHash !== options.bodySha256 && /^[0-9a-f]{64}$/.test(payloadHash)) {
    throw new AuthenticationError('ContentHashMismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return { credential, signature: sig, payloadHash, signingKey };
}

// The given signature's bytes are decoded into one scratch buffer instead of a new one per
// request. It is one byte longer than a digest, so that a signature decoding to more than
// 32 bytes still differs in length from the digest, as Buffer.from(hex) did.
const givenScratch = Buffer.alloc(33);

/** The bytes of a hex signature (as Buffer.from(hex): up to the first non-hex pair), as a view valid until the next call. */
function decodedSignature(signature: string): Buffer {
  return givenScratch.subarray(0, givenScratch.write(signature, 'hex'));
}

function checkSessionToken(credential: Credential, sig: ParsedSignature, now: Date): void {
  if (credential.sessionToken === undefined) {
    // Long-term keys have no token: AWS refuses one sent with them (a stale AWS_SESSION_TOKEN) rather than ignore it.
    // An empty value is taken as none, since nothing shows AWS refuses it and a client may send one.
    if (sig.securityToken !== undefined && sig.securityToken !== '') {
      throw new AuthenticationError('InvalidToken', 'The security token included in the request is invalid.');
    }
    return;
  }
  if (sig.securityToken === undefined || !constantTimeEqual(sig.securityToken, credential.sessionToken)) {
    throw new AuthenticationError('InvalidToken', 'The security token included in the request is invalid.');
  }
  if (credential.expiresAt !== undefined && now.getTime() >= credential.expiresAt.getTime()) {
    throw new AuthenticationError('InvalidToken', 'The security token included in the request is expired');
  }
}

function checkTime(sig: ParsedSignature, now: Date): void {
  const t = amzDateToMillis(sig.amzDate);
  if (Number.isNaN(t)) throw new AuthenticationError('IncompleteSignature', `Invalid X-Amz-Date: ${sig.amzDate.slice(0, 32)}`);
  // amzDate matched YYYYMMDDTHHMMSSZ above: this is `amzDate.slice(0, 8) !== date` without the slice.
  if (sig.date.length !== 8 || !sig.amzDate.startsWith(sig.date)) {
    throw new AuthenticationError('SignatureMismatch', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${sig.date}' != '${sig.amzDate.slice(0, 8)}'`);
  }
  const skew = now.getTime() - t;
  if (sig.presigned) {
    if (skew < -MAX_CLOCK_SKEW_MS) throw new AuthenticationError('RequestExpired', 'Request is not valid yet');
    if (skew > (sig.expiresSeconds ?? 0) * 1000) throw new AuthenticationError('RequestExpired', 'Request has expired');
    return;
  }
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
    const when = new Date(now.getTime() + (skew > 0 ? -MAX_CLOCK_SKEW_MS : MAX_CLOCK_SKEW_MS));
    throw new AuthenticationError(
      'RequestExpired',
      `Signature expired: ${sig.amzDate} is now ${skew > 0 ? 'earlier' : 'later'} than ${formatAmzDate(when)} (${formatAmzDate(now)} ${skew > 0 ? '-' : '+'} 15 min.)`,
    );
  }
}

function signedPayloadHash(view: SignedRequestView, sig: ParsedSignature, bodySha256: string | undefined): string {
  const declared = headerValue(view, 'x-amz-content-sha256');
  if (sig.presigned) return declared ?? 'UNSIGNED-PAYLOAD';
  if (declared !== undefined) return declared;
  return bodySha256 ?? EMPTY_SHA256;
}

/** The SigV4 canonical request (exported for tests). */
export function canonicalRequest(view: SignedRequestView, sig: ParsedSignature, payloadHash: string): string {
  return `${view.method}\n${canonicalUri(view.rawPath, sig.service)}\n${canonicalQuery(view.rawQuery, sig.presigned)}\n${canonicalHeaders(view, sig.signedHeaders)}\n${signedHeaderNames(sig.signedHeaders)}\n${payloadHash}`;
}

// parseSignature hands out one shared list per SignedHeaders value, request after request:
// the last list joined is remembered by identity.
let lastJoinedList: readonly string[] | undefined;
let lastJoined = '';

function signedHeaderNames(list: readonly string[]): string {
  if (list !== lastJoinedList) {
    lastJoined = list.join(';');
    lastJoinedList = list;
  }
  return lastJoined;
}

// The credential scope string of the last signature's date, region and service.
let lastScopeOf: { date: string; region: string; service: string; scope: string } | undefined;

function credentialScope(sig: ParsedSignature): string {
  const last = lastScopeOf;
  if (last !== undefined && last.date === sig.date && last.region === sig.region && last.service === sig.service) return last.scope;
  const scope = `${sig.date}/${sig.region}/${sig.service}/aws4_request`;
  lastScopeOf = { date: sig.date, region: sig.region, service: sig.service, scope };
  return scope;
}

function canonicalUri(rawPath: string, service: string): string {
  if (rawPath === '' || rawPath === '/') return '/';
  // S3 signs the path encoded once and never normalised; the other services encode twice.
  if (service === 's3') return uriEncode(safeDecode(rawPath), true);
  return uriEncode(rawPath, true);
}

function canonicalQuery(rawQuery: string, presigned: boolean): string {
  if (rawQuery === '') return ''; // JSON-protocol requests (KMS) carry no query
  const pairs = queryPairs(rawQuery)
    .filter(([k]) => !(presigned && k === 'X-Amz-Signature'))
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeaders(view: SignedRequestView, signed: readonly string[]): string {
  // Per signed name, the values of the headers whose lower-cased name equals it, in arrival
  // order. A name with upper-case letters matches no header (names are compared lower-cased).
  // Indexed loops: for-of with destructuring allocates per header in V8 (this runs per request).
  let out = '';
  const headers = view.headers;
  for (let s = 0; s < signed.length; s++) {
    const name = signed[s]!;
    let joined: string | undefined;
    if (name.toLowerCase() === name) {
      for (let i = 0; i < headers.length; i++) {
        const k = headers[i]![0];
        if (k.length !== name.length || (k !== name && k.toLowerCase() !== name)) continue;
        const clean = canonicalValue(headers[i]![1]);
        joined = joined === undefined ? clean : `${joined},${clean}`;
      }
    }
    if (joined === undefined) {
      throw new AuthenticationError('SignatureMismatch', `The request signature we calculated does not match the signature you provided. Signed header '${name.slice(0, 64)}' is missing.`);
    }
    out += `${name}:${joined}\n`;
  }
  return out;
}

function canonicalValue(v: string): string {
  const trimmed = v.trim();
  // Collapsing is needed only where whitespace is something other than single spaces.
  return NEEDS_COLLAPSE.test(trimmed) ? trimmed.replace(/\s+/g, ' ') : trimmed;
}

/** HMAC chain of the SigV4 signing key, cached per access key, day, region and service. */
export function deriveSigningKey(credential: Credential, date: string, region: string, service: string): Buffer {
  // Nearly every request repeats the previous one's credential and scope: check that first.
  const last = lastSigningKey;
  if (last !== undefined && last.credential === credential && last.date === date && last.region === region && last.service === service) return last.key;
  const key = cachedSigningKey(credential, date, region, service);
  lastSigningKey = { credential, date, region, service, key };
  return key;
}

let lastSigningKey: { credential: Credential; date: string; region: string; service: string; key: Buffer } | undefined;

function cachedSigningKey(credential: Credential, date: string, region: string, service: string): Buffer {
  const scope = `${date}\u0000${region}\u0000${service}`;
  let own = signingKeysByCredential.get(credential);
  const hit = own?.get(scope);
  if (hit !== undefined) return hit;
  const key = deriveSharedSigningKey(credential, date, region, service);
  if (own === undefined || own.size > 64) {
    own = new Map();
    signingKeysByCredential.set(credential, own);
  }
  own.set(scope, key);
  return key;
}

function deriveSharedSigningKey(credential: Credential, date: string, region: string, service: string): Buffer {
  const cacheKey = `${credential.accessKeyId}\u0000${sha256Hex(credential.secretAccessKey)}\u0000${date}\u0000${region}\u0000${service}`;
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) return cached;
  const kDate = createHmac('sha256', `AWS4${credential.secretAccessKey}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  const key = createHmac('sha256', kService).update('aws4_request').digest();
  if (signingKeys.size > 10_000) signingKeys.clear();
  signingKeys.set(cacheKey, key);
  return key;
}

/** One-shot SHA-256 (node:crypto `hash`: no Hash object per call). */
function sha256Hex(s: string | Buffer): string {
  return hash('sha256', s, 'hex');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function formatAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
