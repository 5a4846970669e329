import type { IncomingHttpHeaders } from 'node:http';
import { escapeXml } from '../../common/xml-escape.js';

/** S3's message for a signed request carrying an x-amz-* header its signature does not cover (403 AccessDenied). */
export const HEADERS_NOT_SIGNED = 'There were headers present in the request which were not signed';

const NONE: readonly string[] = Object.freeze([]);

/**
 * The `x-amz-*` headers of a signed request (Authorization header or presigned URL) that its
 * signature does not cover, lower-cased and sorted; an empty shared list when there are none.
 * S3 refuses such a request once its signature is verified: 403 AccessDenied, HEADERS_NOT_SIGNED,
 * the names in `<HeadersNotSigned>` (e.g. aws_client#238 for an unsigned x-amz-security-token,
 * apache/arrow-rs-object-store#484 for x-amz-meta-* and x-amz-tagging, ClickHouse#27140 for
 * x-amz-request-payer, soto-core#362 on a presigned URL). Without it a party on the path could
 * add or change what the signer fixed: SSE, metadata, tagging, ACL, a copy source, checksums.
 *
 * One exemption, x-amz-content-sha256: S3 does not require it signed (scality/Arsenal#2590,
 * "in practice AWS does not require x-amz-content-sha256 to be signed"), and nothing is lost:
 * its value is the payload hash, the last line of the canonical request, so changing it breaks
 * the signature anyway. `x-amzn-*` (x-amzn-trace-id, which every SDK leaves unsigned) is not
 * `x-amz-*`. For a presigned request, read the headers before the query is hoisted into them.
 * Runs on every signed S3 request: one pass over the header names, allocating only when a name
 * is unsigned. Never raises.
 */
export function unsignedAmzHeaders(headers: IncomingHttpHeaders, signedHeaders: readonly string[]): readonly string[] {
  let out: string[] | undefined;
  // for-in, not Object.keys: no array of names per request (req.headers has no inherited enumerables).
  for (const name in headers) {
    if (name.startsWith('x-amz-') && name !== 'x-amz-content-sha256' && !signedHeaders.includes(name)) (out ??= []).push(name);
  }
  return out === undefined ? NONE : out.sort();
}

/**
 * `xml`, an S3 `<Error>` document, with `<HeadersNotSigned>` (the names, comma-separated as S3
 * lists them) right after its `<Message>`, where S3 puts it. The names are XML-escaped: a header
 * name may hold `&` (an HTTP token character). Returns `xml` unchanged when it has no message.
 * Never raises.
 */
export function withHeadersNotSigned(xml: string, names: readonly string[]): string {
  const close = '</Message>';
  const at = xml.indexOf(close);
  if (at < 0) return xml;
  const end = at + close.length;
  return `${xml.slice(0, end)}<HeadersNotSigned>${escapeXml(names.join(', '))}</HeadersNotSigned>${xml.slice(end)}`;
}
