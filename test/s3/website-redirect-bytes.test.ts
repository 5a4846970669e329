import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { testServerFixture } from '../helpers/server.js';
import { signedFetch, xmlCode } from './raw-sign.js';

const B = 'redirect-bytes';

/**
 * `text` as its UTF-8 bytes, one latin1 character per byte: the form a header value keeps on
 * the wire through fetch (which sends each character as one byte) and in node:http.
 */
const asHeader = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

// S3 limits x-amz-website-redirect-location to 2 KB of UTF-8 (the user guide's "Configuring a
// webpage redirect"): each byte counts once, a non-ASCII character as its UTF-8 bytes.
describe('x-amz-website-redirect-location and its 2 KB limit, in bytes', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  const put = (key: string, location: string): Promise<Response> =>
    signedFetch(fx.server.endpoint, { method: 'PUT', path: `/${B}/${key}`, headers: { 'x-amz-website-redirect-location': location }, body: Buffer.from('x') });

  it('takes 2048 bytes of UTF-8 (1 + 1023 two-byte characters + 1) and returns them as sent', async () => {
    const location = asHeader(`/${'é'.repeat(1023)}x`);
    assert.equal(location.length, 2048);
    const res = await put('at-limit', location);
    assert.equal(res.status, 200, await res.text());
    const head = await signedFetch(fx.server.endpoint, { method: 'HEAD', path: `/${B}/at-limit` });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-amz-website-redirect-location'), location);
  });

  it('refuses 2049 bytes as InvalidArgument', async () => {
    assert.equal(await xmlCode(await put('over', asHeader(`/${'é'.repeat(1024)}`))), '400 InvalidArgument');
    assert.equal(await xmlCode(await put('over-ascii', `/${'a'.repeat(2048)}`)), '400 InvalidArgument');
  });
});
