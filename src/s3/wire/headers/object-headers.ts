import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { InvalidArgumentError, MetadataTooLargeError } from '../../errors.js';
import type { ContentHeaders, ObjectRecord } from '../../metadata-store.js';
import type { Conditions, RangeSpec } from '../../operations/read-object.js';
import { assertSealedKey, type SealedObjectKey } from '../../sse/sealing.js';
import { firstHeader as h } from './first-header.js';
import { httpDate } from './http-date.js';

const MAX_USER_METADATA_BYTES = 2048;

/**
 * Content-Type/-Encoding/-Disposition/-Language, Cache-Control, Expires and
 * x-amz-website-redirect-location of a PUT (aws-chunked stripped from Content-Encoding).
 * Raises InvalidArgumentError for a redirect location that is not a path or an http(s) URL, as S3.
 */
export function parseContentHeaders(headers: IncomingHttpHeaders): ContentHeaders {
  const encoding = h(headers, 'content-encoding')
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'aws-chunked')
    .join(',');
  const pick: Array<[keyof ContentHeaders, string | undefined]> = [
    ['contentType', h(headers, 'content-type')],
    ['contentEncoding', encoding === '' ? undefined : encoding],
    ['contentDisposition', h(headers, 'content-disposition')],
    ['contentLanguage', h(headers, 'content-language')],
    ['cacheControl', h(headers, 'cache-control')],
    ['expires', h(headers, 'expires')],
    ['websiteRedirectLocation', websiteRedirectOf(headers)],
  ];
  return Object.fromEntries(pick.filter(([, v]) => v !== undefined)) as ContentHeaders;
}

/**
 * x-amz-website-redirect-location, checked as S3 checks it (a path or an http(s) URL, at most
 * 2 KB). node:http hands a header value over as latin1, one character per byte the client sent,
 * so its bytes (UTF-8 as the client encoded them) are counted once: byteLength in latin1.
 */
function websiteRedirectOf(headers: IncomingHttpHeaders): string | undefined {
  const v = h(headers, 'x-amz-website-redirect-location');
  if (v === undefined) return undefined;
  if (!/^(\/|https?:\/\/)/.test(v)) throw new InvalidArgumentError("The website redirect location must have a prefix of 'http://' or 'https://' or '/'.");
  if (Buffer.byteLength(v, 'latin1') > 2048) throw new InvalidArgumentError('The length of website redirect location cannot exceed 2,048 characters.');
  return v;
}

/** x-amz-meta-* as a map (names lower-cased, as S3 returns them). Raises MetadataTooLargeError over 2 KB. */
export function parseUserMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Array<[string, string]> = [];
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    const k = name.slice('x-amz-meta-'.length);
    size += k.length + v.length;
    out.push([k, v]);
  }
  if (size > MAX_USER_METADATA_BYTES) throw new MetadataTooLargeError('');
  // fromEntries defines each name (an assignment would drop `x-amz-meta-__proto__` without a word).
  return Object.fromEntries(out);
}

function date(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** If-* conditions, or with prefix `x-amz-copy-source-` the copy-source ones. Unparsable dates are ignored, as in HTTP. */
export function parseConditions(headers: IncomingHttpHeaders, prefix = ''): Conditions {
  const ifMatch = h(headers, `${prefix}if-match`);
  const ifNoneMatch = h(headers, `${prefix}if-none-match`);
  const ims = date(h(headers, `${prefix}if-modified-since`));
  const ius = date(h(headers, `${prefix}if-unmodified-since`));
  return {
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(ims !== undefined ? { ifModifiedSince: ims } : {}),
    ...(ius !== undefined ? { ifUnmodifiedSince: ius } : {}),
  };
}

/** The Range header; undefined when absent or not a single byte range (S3 then serves the whole object). */
export function parseRange(headers: IncomingHttpHeaders): RangeSpec | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h(headers, 'range')?.trim() ?? '');
  if (m === null) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') return { suffix: Number(b) };
  if (b !== '' && Number(b) < Number(a)) return undefined;
  return b === '' ? { start: Number(a) } : { start: Number(a), end: Number(b) };
}

const OVERRIDES: ReadonlyArray<[string, string]> = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

// What Node (and HTTP) allows in a header value: tab, visible ASCII, space and obs-text.
const NOT_HEADER_TEXT = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Checks the response-* query parameters of GET/HEAD before anything is read. Raises
 * InvalidArgumentError, as S3 does, for a response-* parameter that is not one of the six
 * overridable headers, and for a value that cannot be a header value (a CR, LF or other
 * control character, a character above U+00FF): sent, it would fail the answer as an
 * internal error (or split the header). Never echoes the value.
 */
export function checkResponseOverrides(query: ReadonlyMap<string, string>): void {
  if (query.size === 0) return;
  for (const [param, value] of query) {
    if (!param.startsWith('response-')) continue;
    if (!OVERRIDES.some(([p]) => p === param)) {
      throw new InvalidArgumentError(`${param.slice(0, 64)} is not in the set of overridable response headers. Please refer to the S3 API documentation for a complete list of overridable response headers.`);
    }
    if (NOT_HEADER_TEXT.test(value)) throw new InvalidArgumentError(`Invalid value for ${param}`);
  }
}

/**
 * The representation headers of GET/HEAD: stored ones, user metadata, then response-*
 * overrides. Returns a fresh object, which the caller may extend.
 */
export function objectResponseHeaders(o: ObjectRecord, query: ReadonlyMap<string, string>): OutgoingHttpHeaders {
  const c = o.content;
  const out: OutgoingHttpHeaders = {
    'content-type': c.contentType ?? 'binary/octet-stream',
    etag: o.etag,
    'last-modified': httpDate(o.lastModified),
    'accept-ranges': 'bytes',
  };
  // Assigned, not spread: this runs for every GET and HEAD.
  if (c.contentEncoding !== undefined) out['content-encoding'] = c.contentEncoding;
  if (c.contentDisposition !== undefined) out['content-disposition'] = c.contentDisposition;
  if (c.contentLanguage !== undefined) out['content-language'] = c.contentLanguage;
  if (c.cacheControl !== undefined) out['cache-control'] = c.cacheControl;
  if (c.expires !== undefined) out.expires = c.expires;
  if (c.websiteRedirectLocation !== undefined) out['x-amz-website-redirect-location'] = c.websiteRedirectLocation;
  for (const [k, v] of Object.entries(o.userMetadata)) out[`x-amz-meta-${k}`] = v;
  const tagCount = o.tags === undefined ? 0 : Object.keys(o.tags).length;
  if (tagCount > 0) out['x-amz-tagging-count'] = String(tagCount);
  if (query.size > 0) {
    for (const [param, header] of OVERRIDES) {
      const v = query.get(param);
      if (v !== undefined) out[header] = v;
    }
  }
  return out;
}

/** The SSE headers S3 sends for an object (PUT, GET, HEAD, copy). */
export function sseResponseHeaders(sealed: SealedObjectKey, customerKeyMd5?: string): OutgoingHttpHeaders {
  assertSealedKey(sealed);
  switch (sealed.mode) {
    case 'SSE-S3':
      return { 'x-amz-server-side-encryption': 'AES256' };
    case 'SSE-KMS':
      return {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': sealed.keyArn,
        ...(sealed.bucketKey === true ? { 'x-amz-server-side-encryption-bucket-key-enabled': 'true' } : {}),
      };
    case 'DSSE-KMS':
      return { 'x-amz-server-side-encryption': 'aws:kms:dsse', 'x-amz-server-side-encryption-aws-kms-key-id': sealed.keyArn };
    case 'SSE-C':
      return {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        ...(customerKeyMd5 !== undefined ? { 'x-amz-server-side-encryption-customer-key-md5': customerKeyMd5 } : {}),
      };
    default: {
      const never: never = sealed;
      return never;
    }
  }
}

/** The base64 JSON of an SSE-KMS or DSSE-KMS object's encryption context, as PUT answers it. */
export function kmsContextHeader(sealed: SealedObjectKey): OutgoingHttpHeaders {
  if (sealed.mode !== 'SSE-KMS' && sealed.mode !== 'DSSE-KMS') return {};
  return { 'x-amz-server-side-encryption-context': Buffer.from(JSON.stringify(sealed.context)).toString('base64') };
}
