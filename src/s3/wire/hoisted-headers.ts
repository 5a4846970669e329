import type { IncomingHttpHeaders } from 'node:http';

/** The SigV4 query-string authentication parameters (lower-cased): they authenticate, they stand for no header. */
const AUTH_PARAMETERS: ReadonlySet<string> = new Set([
  'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders', 'x-amz-signature', 'x-amz-security-token',
]);

/**
 * Hoisted names that are deliberately not taken as headers, with why:
 * - x-amz-content-sha256: how the payload was signed; the verifier reads it from the headers
 *   only (a presigned payload is UNSIGNED-PAYLOAD unless a header says otherwise).
 * - x-amz-decoded-content-length, x-amz-trailer: they describe the framing of the body the
 *   sender sends, which only the sender's own headers can state.
 */
const NOT_HOISTED: ReadonlySet<string> = new Set(['x-amz-content-sha256', 'x-amz-decoded-content-length', 'x-amz-trailer']);

/**
 * Prefixes of hoisted names that S3 ignores in the query, so they are ignored here too:
 * - x-amz-checksum-* and x-amz-sdk-checksum-algorithm: the JS SDK (since 3.729) signs the CRC32
 *   of the EMPTY body into every presigned PutObject; S3 signs it in and ignores it (a
 *   mismatching X-Amz-Checksum-Sha256 in a presigned query is stored without a checksum:
 *   aws/aws-sdk-go-v2#2610; localstack#12169 and ministack#1695 made their S3 ignore it for
 *   that reason). Verifying it would fail every stock getSignedUrl upload that AWS accepts.
 *   x-amz-checksum-mode goes with them: a presigned GET with it gets no checksum headers from
 *   S3 (boto/boto3#3465).
 * - x-amz-server-side-encryption*: S3 takes SSE settings only as (signed) headers, which is
 *   why the SDK presigners never hoist them (aws/aws-sdk-js-v3#1701, fixing #1576).
 * - x-amz-copy-source*: getSignedUrl (and the PHP SDK's presigner) hoist CopyObject's copy
 *   source and its conditions, but S3 reads no copy source from a query: it takes the request
 *   as a PutObject of its body, and the client's "copy" stores an empty object (the ETag of
 *   nothing, d41d8cd9...; aws/aws-sdk-php#1275, reproduced on AWS in minio/minio#4167;
 *   aws/aws-sdk-js-v3#3283). A presigned copy needs the copy source as a signed header. Taken
 *   here, the same URL would copy, or be refused by a copy condition, where S3 does neither.
 */
const IGNORED_PREFIXES: readonly string[] = ['x-amz-checksum-', 'x-amz-sdk-checksum-algorithm', 'x-amz-server-side-encryption', 'x-amz-copy-source'];

/**
 * For a request authenticated by a presigned URL (query-string SigV4): adds to `headers` each
 * `x-amz-*` query parameter as the header it stands for, by its lower-cased name, as S3 treats
 * the headers an SDK presigner hoisted into the signed query (x-amz-meta-*, x-amz-tagging,
 * x-amz-storage-class, x-amz-acl, ...). A header the request really carries wins: the query
 * copy is used only where that header is absent. Never adds the SigV4 authentication
 * parameters, nor the names S3 ignores in a query (checksums, SSE, a copy source) or that describe the body's
 * framing (see NOT_HOISTED). Call it only for a request whose signature is in its query
 * (presigned): only then is the query covered by the signature. Never raises.
 */
export function hoistPresignedHeaders(headers: IncomingHttpHeaders, query: ReadonlyMap<string, string>): void {
  for (const [name, value] of query) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-amz-') || !isHoistable(lower)) continue;
    if (headers[lower] !== undefined) continue;
    headers[lower] = value;
  }
}

function isHoistable(lower: string): boolean {
  if (AUTH_PARAMETERS.has(lower) || NOT_HOISTED.has(lower)) return false;
  for (const prefix of IGNORED_PREFIXES) if (lower.startsWith(prefix)) return false;
  return true;
}
