import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { hasLoneSurrogate } from '../../../common/lone-surrogate.js';
import { SecretBytes } from '../../../crypto/index.js';
import { InvalidArgumentError, InvalidEncryptionAlgorithmError, InvalidRequestError } from '../../errors.js';
import { firstHeader as h } from './first-header.js';

/**
 * What a request asks for about server-side encryption, parsed once from its headers.
 * `none`: no SSE headers (the bucket default, else SSE-S3, applies). An SSE-KMS
 * `bucketKeyEnabled` is absent without the bucket-key header: the bucket's setting then
 * applies, while an explicit `false` turns bucket keys off for this object, as in S3.
 */
export type SseRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'SSE-S3' }
  | { readonly kind: 'SSE-KMS'; readonly keyId?: string; readonly context: Readonly<Record<string, string>>; readonly bucketKeyEnabled?: boolean }
  | { readonly kind: 'DSSE-KMS'; readonly keyId?: string; readonly context: Readonly<Record<string, string>> }
  | { readonly kind: 'SSE-C'; readonly customer: CustomerKey };

/** An SSE-C key as the client sent it; `key` must be disposed by the request's owner. */
export interface CustomerKey {
  readonly key: SecretBytes;
  readonly keyMd5: string;
}

const SSE = 'x-amz-server-side-encryption';

/**
 * Parses the SSE headers of a PUT or copy destination. Raises InvalidArgumentError for
 * bad values or a mix of modes, InvalidEncryptionAlgorithmError for an unknown SSE-C
 * algorithm. SSE-C over plain HTTP is refused by
 * `requireSecureForSseC`, which the caller applies.
 */
export function parseSseRequest(headers: IncomingHttpHeaders): SseRequest {
  const customer = parseCustomerKey(headers, `${SSE}-customer-`);
  const algorithm = h(headers, SSE);
  const keyId = h(headers, `${SSE}-aws-kms-key-id`);
  const contextB64 = h(headers, `${SSE}-context`);
  if (customer !== undefined) {
    if (algorithm !== undefined || keyId !== undefined) {
      customer.key.dispose();
      throw new InvalidArgumentError('Server Side Encryption with Customer provided key is incompatible with the encryption method specified');
    }
    return { kind: 'SSE-C', customer };
  }
  if (algorithm === undefined) {
    // S3's own wording for a key id without the algorithm (aws-cli#1431); a context alone has none recorded.
    if (keyId !== undefined) throw new InvalidArgumentError('Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms');
    if (contextB64 !== undefined) throw new InvalidArgumentError('Specifying the KMS key or context requires x-amz-server-side-encryption: aws:kms.');
    return { kind: 'none' };
  }
  if (algorithm === 'AES256') {
    if (keyId !== undefined) throw new InvalidArgumentError('Server Side Encryption with AWS Key Management Service key id is only valid with aws:kms.');
    return { kind: 'SSE-S3' };
  }
  if (algorithm !== 'aws:kms' && algorithm !== 'aws:kms:dsse') {
    // S3's answer to an empty value (aws-sdk-cpp#1771); the one InvalidArgument for every unknown one.
    throw new InvalidArgumentError('The encryption method specified is not supported');
  }
  const context = contextB64 === undefined ? {} : parseContext(contextB64);
  if (algorithm === 'aws:kms:dsse') return { kind: 'DSSE-KMS', ...(keyId !== undefined && keyId !== '' ? { keyId } : {}), context };
  const bucketKey = h(headers, `${SSE}-bucket-key-enabled`);
  return {
    kind: 'SSE-KMS',
    ...(keyId !== undefined && keyId !== '' ? { keyId } : {}),
    context,
    // A boolean header, read without regard to case as S3 reads it: TRUE and True enable bucket keys too.
    ...(bucketKey !== undefined ? { bucketKeyEnabled: bucketKey.toLowerCase() === 'true' } : {}),
  };
}

function parseContext(b64: string): Record<string, string> {
  try {
    // Exact text only: a lenient decode writes U+FFFD for invalid bytes and lone surrogates
    // have no UTF-8 form, so two different contexts would be bound (and echoed) as one.
    const bytes = Buffer.from(b64, 'base64');
    if (!isUtf8(bytes)) throw new Error('not UTF-8');
    const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw new Error('not a string');
      if (hasLoneSurrogate(k) || hasLoneSurrogate(v)) throw new Error('not well-formed');
      if (k.startsWith('aws:')) throw new Error('reserved');
    }
    // A copy by fromEntries keeps a `__proto__` pair (an assignment would drop it, unbinding it from the object).
    return Object.fromEntries(Object.entries(parsed)) as Record<string, string>;
  } catch {
    throw new InvalidArgumentError('The header x-amz-server-side-encryption-context must be base64-encoded UTF-8 JSON of string pairs.');
  }
}

const INVALID_KEY = 'The secret key was invalid for the specified algorithm.';

/**
 * Parses SSE-C headers with the given prefix (`x-amz-server-side-encryption-customer-` or
 * `x-amz-copy-source-server-side-encryption-customer-`); undefined when absent. Checks the
 * algorithm, the key's base64, the key MD5 and then the key length, as S3 does (in that order).
 */
export function parseCustomerKey(headers: IncomingHttpHeaders, prefix: string): CustomerKey | undefined {
  const algorithm = h(headers, `${prefix}algorithm`);
  const keyB64 = h(headers, `${prefix}key`);
  const md5 = h(headers, `${prefix}key-md5`);
  if (algorithm === undefined && keyB64 === undefined && md5 === undefined) return undefined;
  if (algorithm === undefined) throw new InvalidArgumentError('Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.');
  if (algorithm !== 'AES256') throw new InvalidEncryptionAlgorithmError('');
  if (keyB64 === undefined) throw new InvalidArgumentError('Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.');
  if (md5 === undefined) throw new InvalidArgumentError('Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.');
  // Strict base64: Buffer.from skips characters outside the alphabet, so '!!<key>!!' would pass.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(keyB64)) throw new InvalidArgumentError(INVALID_KEY);
  const key = SecretBytes.adopt(Buffer.from(keyB64, 'base64'));
  // The MD5 first, as S3: a 24-byte key with another key's MD5 is the MD5 error there.
  if (createHash('md5').update(key.unsafeBytes()).digest('base64') !== md5) {
    key.dispose();
    throw new InvalidArgumentError('The calculated MD5 hash of the key did not match the hash that was provided.');
  }
  if (key.length !== 32) {
    key.dispose();
    throw new InvalidArgumentError(INVALID_KEY);
  }
  return { key, keyMd5: md5 };
}

/**
 * Raises InvalidArgumentError when a request that cannot choose an object's encryption
 * (GetObject, HeadObject, UploadPart) carries `x-amz-server-side-encryption`, as S3 does
 * (its GetObject and HeadObject pages: "you'll get an HTTP 400 Bad Request error"): the
 * encryption is fixed at PUT, copy or CreateMultipartUpload. SSE-C headers are not checked.
 */
export function refuseSseHeader(headers: IncomingHttpHeaders): void {
  if (h(headers, SSE) !== undefined) throw new InvalidArgumentError('x-amz-server-side-encryption header is not supported for this operation.');
}

/** Raises InvalidRequestError for SSE-C over a connection that is not HTTPS, as S3 does. */
export function requireSecureForSseC(secure: boolean): void {
  if (!secure) throw new InvalidRequestError('Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.');
}
