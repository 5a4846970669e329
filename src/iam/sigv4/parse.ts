import { AuthenticationError } from '../errors.js';

/** The parts of a SigV4 signature, from the Authorization header or a presigned query. */
export interface ParsedSignature {
  readonly accessKeyId: string;
  readonly date: string; // YYYYMMDD of the credential scope
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string; // lower-case hex
  readonly amzDate: string; // YYYYMMDDTHHMMSSZ
  readonly presigned: boolean;
  readonly expiresSeconds?: number; // presigned only
  readonly securityToken?: string;
}

/** The request as received, before any decoding: what a signature covers. */
export interface SignedRequestView {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  /** Header name/value pairs in arrival order (node's `rawHeaders`, paired). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^\d{8}T\d{6}Z$/;

/** First value of a header, case-insensitively. */
export function headerValue(view: SignedRequestView, name: string): string | undefined {
  const lower = name.toLowerCase();
  // The length test skips most names without lower-casing them (this runs several times per
  // request); an indexed loop, as for-of with destructuring allocates per header in V8.
  const headers = view.headers;
  for (let i = 0; i < headers.length; i++) {
    const k = headers[i]![0];
    if (k.length === lower.length && (k === lower || k.toLowerCase() === lower)) return headers[i]![1];
  }
  return undefined;
}

/** Decoded query parameters as pairs, in order. */
export function queryPairs(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  return rawQuery.split('&').filter((p) => p !== '').map((part) => {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    return [safeDecode(k), safeDecode(v)];
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Finds the signature of a request. Returns undefined for an unsigned (anonymous)
 * request; raises AuthenticationError('IncompleteSignature') for a malformed one.
 */
export function parseSignature(view: SignedRequestView): ParsedSignature | undefined {
  const auth = headerValue(view, 'authorization');
  if (auth !== undefined) return parseAuthorizationHeader(view, auth);
  if (/(^|&)X-Amz-Algorithm=/.test(view.rawQuery)) return parsePresigned(view);
  return undefined;
}

function parseAuthorizationHeader(view: SignedRequestView, auth: string): ParsedSignature {
  const space = auth.indexOf(' ');
  const algorithm = space < 0 ? auth : auth.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw new AuthenticationError('IncompleteSignature', `Unsupported authorization type: ${algorithm.slice(0, 32)}`);
  }
  const { credential, signedHeaders, signature } = authorizationFields(auth, space + 1);
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw new AuthenticationError(
      'IncompleteSignature',
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
    );
  }
  const amzDate = headerValue(view, 'x-amz-date') ?? toAmzDate(headerValue(view, 'date'));
  if (amzDate === undefined) {
    throw new AuthenticationError('IncompleteSignature', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const token = headerValue(view, 'x-amz-security-token');
  const scope = parseCredential(credential);
  // Assembled directly rather than by spreads: this runs once per signed request.
  const parsed: { -readonly [K in keyof ParsedSignature]: ParsedSignature[K] } = {
    accessKeyId: scope.accessKeyId,
    date: scope.date,
    region: scope.region,
    service: scope.service,
    signedHeaders: signedHeaderList(signedHeaders),
    signature: signature.toLowerCase(),
    amzDate,
    presigned: false,
  };
  if (token !== undefined) parsed.securityToken = token;
  return parsed;
}

/**
 * The Credential, SignedHeaders and Signature of an Authorization header's parameter list
 * (from `start`): comma-separated `name=value` parts, both trimmed, a later duplicate
 * winning, parts without a name ignored. Walks the string with indexOf instead of
 * splitting it into parts and a Map.
 */
function authorizationFields(auth: string, start: number): { credential?: string; signedHeaders?: string; signature?: string } {
  const out: { credential?: string; signedHeaders?: string; signature?: string } = {};
  let pos = start;
  while (pos <= auth.length) {
    let comma = auth.indexOf(',', pos);
    if (comma < 0) comma = auth.length;
    const eq = auth.indexOf('=', pos);
    if (eq > pos && eq < comma) {
      const name = fieldName(auth, pos, eq);
      if (name === 'Credential') out.credential = auth.slice(eq + 1, comma).trim();
      else if (name === 'SignedHeaders') out.signedHeaders = auth.slice(eq + 1, comma).trim();
      else if (name === 'Signature') out.signature = auth.slice(eq + 1, comma).trim();
    }
    pos = comma + 1;
  }
  return out;
}

const FIELD_NAMES = ['Credential', 'SignedHeaders', 'Signature'] as const;

/**
 * `auth.slice(pos, eq).trim()`, without the slice and the trim in the usual shape (at most
 * one space, then one of the three names right before the '='): the same name either way.
 */
function fieldName(auth: string, pos: number, eq: number): string {
  const from = auth.charCodeAt(pos) === 32 ? pos + 1 : pos;
  for (const name of FIELD_NAMES) if (eq - from === name.length && auth.startsWith(name, from)) return name;
  return auth.slice(pos, eq).trim();
}

function parsePresigned(view: SignedRequestView): ParsedSignature {
  const q = new Map(queryPairs(view.rawQuery));
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const amzDate = q.get('X-Amz-Date');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  const expires = q.get('X-Amz-Expires');
  if (algorithm !== ALGORITHM) throw new AuthenticationError('IncompleteSignature', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  if (!credential || !amzDate || !signedHeaders || !signature || !expires) {
    throw new AuthenticationError(
      'IncompleteSignature',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const expiresSeconds = Number(expires);
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 604800) {
    throw new AuthenticationError('IncompleteSignature', 'X-Amz-Expires must be between 1 and 604800 seconds');
  }
  const token = q.get('X-Amz-Security-Token');
  return {
    ...parseCredential(credential),
    signedHeaders: signedHeaders.split(';'),
    signature: signature.toLowerCase(),
    amzDate,
    presigned: true,
    expiresSeconds,
    ...(token !== undefined ? { securityToken: token } : {}),
  };
}

// A client signs request after request with the same credential scope and header list:
// the last of each is remembered (shared, frozen), so the split and checks run once.
let lastCredential = '';
let lastScope: CredentialScope | undefined;
let lastSignedHeaders = '';
let lastSignedHeaderList: readonly string[] = [];

type CredentialScope = Pick<ParsedSignature, 'accessKeyId' | 'date' | 'region' | 'service'>;

function signedHeaderList(signedHeaders: string): readonly string[] {
  if (signedHeaders !== lastSignedHeaders) {
    lastSignedHeaderList = Object.freeze(signedHeaders.split(';'));
    lastSignedHeaders = signedHeaders;
  }
  return lastSignedHeaderList;
}

function parseCredential(credential: string): CredentialScope {
  if (credential === lastCredential && lastScope !== undefined) return lastScope;
  const scope = parseCredentialScope(credential);
  lastCredential = credential;
  lastScope = scope;
  return scope;
}

function parseCredentialScope(credential: string): CredentialScope {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1] ?? '')) {
    throw new AuthenticationError('IncompleteSignature', `Credential should be scoped to a valid date, region and service: ${credential.slice(0, 128)}`);
  }
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  return Object.freeze({ accessKeyId, date, region, service });
}

function toAmzDate(httpDate: string | undefined): string | undefined {
  if (httpDate === undefined) return undefined;
  if (AMZ_DATE.test(httpDate)) return httpDate;
  const t = Date.parse(httpDate);
  if (Number.isNaN(t)) return undefined;
  return new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

// Concurrent clients sign with the same x-amz-date for a whole second: remember the last one.
let lastAmzDate = '';
let lastAmzMillis = NaN;

/** Parses YYYYMMDDTHHMMSSZ to epoch milliseconds, or NaN. */
export function amzDateToMillis(amzDate: string): number {
  if (amzDate === lastAmzDate) return lastAmzMillis;
  const millis = parseAmzDate(amzDate);
  lastAmzDate = amzDate;
  lastAmzMillis = millis;
  return millis;
}

function parseAmzDate(amzDate: string): number {
  if (!AMZ_DATE.test(amzDate)) return NaN;
  return Date.UTC(
    Number(amzDate.slice(0, 4)),
    Number(amzDate.slice(4, 6)) - 1,
    Number(amzDate.slice(6, 8)),
    Number(amzDate.slice(9, 11)),
    Number(amzDate.slice(11, 13)),
    Number(amzDate.slice(13, 15)),
  );
}
