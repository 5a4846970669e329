import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { hoistPresignedHeaders } from './hoisted-headers.js';

function hoisted(query: Record<string, string>, headers: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  const out = { ...headers };
  hoistPresignedHeaders(out, new Map(Object.entries(query)));
  return out;
}

describe('hoistPresignedHeaders', () => {
  it('adds x-amz-* query parameters as lower-cased headers, and nothing else', () => {
    assert.deepEqual(hoisted({ 'x-amz-meta-Project': 'atlas', 'X-Amz-Storage-Class': 'GLACIER', 'x-amz-tagging': 'a=1&b=2', 'x-id': 'PutObject', prefix: 'p' }), {
      'x-amz-meta-project': 'atlas',
      'x-amz-storage-class': 'GLACIER',
      'x-amz-tagging': 'a=1&b=2',
    });
  });

  it('never adds the SigV4 authentication parameters', () => {
    const auth = {
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'X-Amz-Credential': 'AKIA/20260101/us-east-1/s3/aws4_request', 'X-Amz-Date': '20260101T000000Z',
      'X-Amz-Expires': '60', 'X-Amz-SignedHeaders': 'host', 'X-Amz-Signature': 'ab'.repeat(32), 'X-Amz-Security-Token': 'token',
    };
    assert.deepEqual(hoisted(auth), {});
  });

  it('ignores what S3 ignores in a query (checksums, SSE, a copy source) and what describes the body framing', () => {
    const ignored = {
      'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-sdk-checksum-algorithm': 'CRC32', 'x-amz-checksum-algorithm': 'SHA256',
      'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'k',
      // An SSE-C key in a URL ends up in logs and histories: never taken from one.
      'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'X-Amz-Server-Side-Encryption-Customer-Key': 'a2V5',
      'x-amz-server-side-encryption-customer-key-MD5': 'bWQ1', 'x-amz-copy-source-server-side-encryption-customer-key': 'a2V5',
      'x-amz-copy-source': 'b/k', 'x-amz-copy-source-if-match': '"e"', 'x-amz-copy-source-range': 'bytes=0-1',
      'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256',
      'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', 'x-amz-decoded-content-length': '5', 'x-amz-trailer': 'x-amz-checksum-crc32',
    };
    assert.deepEqual(hoisted(ignored), {});
  });

  it('a (signed) header the request carries wins over its query copy (an unsigned one is refused first: unsignedAmzHeaders)', () => {
    assert.deepEqual(hoisted({ 'x-amz-meta-a': 'query', 'x-amz-meta-b': 'query' }, { 'x-amz-meta-a': 'header' }), { 'x-amz-meta-a': 'header', 'x-amz-meta-b': 'query' });
  });
});
