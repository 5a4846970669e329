import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AwsChunkedDecoder, type ChunkSigning } from '../../src/s3/wire/aws-chunked.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cut, deriveSigningKey, signChunk, signedChunkedBody, signStreamingPut, signTrailer, type ChunkContext } from './chunk-signer.js';
import { errorCode } from './helpers.js';
import { xmlCode } from './raw-sign.js';

// AWS's published examples (sigv4-streaming.html, sigv4-streaming-trailers.html): 64 KiB + 1 KiB of 'a'.
const AWS_CTX: ChunkContext = {
  signingKey: deriveSigningKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
};
const AWS_CHUNKS = [Buffer.alloc(65536, 'a'), Buffer.alloc(1024, 'a')];
const PLAIN = {
  seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  chunks: ['ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'],
};
const TRAILER = {
  seed: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
  chunks: ['b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2', '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7', '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992'],
  trailers: [['x-amz-checksum-crc32c', 'sOO8/Q==']] as const,
  trailerSignature: 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435',
};

function chain(seed: string, chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  let previous = seed;
  for (const c of [...chunks, Buffer.alloc(0)]) out.push((previous = signChunk(AWS_CTX, previous, c)));
  return out;
}

async function decode(body: Buffer, signing: ChunkSigning, pieceSize = 7919): Promise<{ data: Buffer; trailers: Map<string, string> }> {
  const decoder = new AwsChunkedDecoder(signing);
  const parts: Buffer[] = [];
  await pipeline(Readable.from(cut(body, pieceSize)), decoder, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  return { data: Buffer.concat(parts), trailers: decoder.trailers };
}

describe('SigV4 streaming: known answers from the AWS documentation', () => {
  it('the test signer reproduces the published chunk signatures', () => {
    assert.deepEqual(chain(PLAIN.seed, AWS_CHUNKS), PLAIN.chunks);
    assert.deepEqual(chain(TRAILER.seed, AWS_CHUNKS), TRAILER.chunks);
    assert.equal(signTrailer(AWS_CTX, TRAILER.chunks[2] ?? '', TRAILER.trailers), TRAILER.trailerSignature);
  });

  it('the decoder accepts the published body (66,824 bytes) in odd-sized pieces', async () => {
    const body = signedChunkedBody(AWS_CTX, PLAIN.seed, AWS_CHUNKS);
    assert.equal(body.length, 66824, 'the documented Content-Length');
    const { data } = await decode(body, { ...AWS_CTX, seedSignature: PLAIN.seed, trailer: false });
    assert.deepEqual(data, Buffer.alloc(66560, 'a'));
  });

  it('the decoder accepts the published trailer example and yields its CRC32C trailer', async () => {
    const body = signedChunkedBody(AWS_CTX, TRAILER.seed, AWS_CHUNKS, TRAILER.trailers);
    assert.ok(body.includes(`x-amz-trailer-signature:${TRAILER.trailerSignature}`));
    const { data, trailers } = await decode(body, { ...AWS_CTX, seedSignature: TRAILER.seed, trailer: true }, 1000);
    assert.equal(data.length, 66560);
    assert.equal(trailers.get('x-amz-checksum-crc32c'), 'sOO8/Q==');
    assert.equal(trailers.has('x-amz-trailer-signature'), false);
  });

  it('the decoder refuses a wrong seed, a flipped byte, a missing trailer signature', async () => {
    const body = signedChunkedBody(AWS_CTX, PLAIN.seed, AWS_CHUNKS);
    const signing = { ...AWS_CTX, seedSignature: PLAIN.seed, trailer: false };
    await assert.rejects(decode(body, { ...signing, seedSignature: TRAILER.seed }), { name: 'AuthenticationError' });
    const flipped = Buffer.from(body);
    flipped[66000] = 0x62;
    await assert.rejects(decode(flipped, signing), { name: 'AuthenticationError' });
    const unsignedTrailer = Buffer.concat([body.subarray(0, body.length - 2), Buffer.from('x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n')]);
    await assert.rejects(decode(unsignedTrailer, { ...signing, seedSignature: TRAILER.seed, trailer: true }), { name: 'AuthenticationError' });
    await assert.rejects(decode(signedChunkedBody(AWS_CTX, TRAILER.seed, AWS_CHUNKS), { ...signing, seedSignature: TRAILER.seed, trailer: true }), { name: 'AuthenticationError' });
  });
});

describe('SigV4 streaming PUTs against the server', () => {
  let t: TestServer;
  let s3: S3Client;
  const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
  const SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
  const SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'stream' }));
  });
  after(() => t.close());

  /** PUTs /stream/key with a signed aws-chunked body; `mangle` may rewrite the framed body. */
  async function put(key: string, mode: string, opts: { trailers?: Array<[string, string]>; decodedLength?: number; mangle?: (body: Buffer, chunks: Buffer[]) => Buffer } = {}): Promise<Response> {
    const extra: Record<string, string> = { 'x-amz-decoded-content-length': String(opts.decodedLength ?? data.length) };
    if (opts.trailers !== undefined) extra['x-amz-trailer'] = opts.trailers.map(([k]) => k).join(',');
    const r = await signStreamingPut(t.endpoint, `/stream/${key}`, mode, extra, t.clock.now());
    const chunks = cut(data, 65536);
    let body = signedChunkedBody(r.ctx, r.seed, chunks, opts.trailers);
    if (opts.mangle !== undefined) body = opts.mangle(body, chunks);
    return fetch(`${t.endpoint}/stream/${key}`, { method: 'PUT', headers: r.headers, body });
  }

  async function absent(key: string): Promise<void> {
    assert.match(await errorCode(s3.send(new HeadObjectCommand({ Bucket: 'stream', Key: key }))), /^404 /, `${key} must not be stored`);
  }

  it('a signed multi-chunk body is stored and reads back identical', async () => {
    const res = await put('good', SIGNED);
    assert.equal(res.status, 200, await res.text());
    const got = await s3.send(new GetObjectCommand({ Bucket: 'stream', Key: 'good' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
  });

  it('a signed body with a signed CRC32C trailer is stored with its checksum', async () => {
    const crc = (await import('../../src/s3/checksums/checksum.js')).createChecksum('crc32c');
    crc.update(data);
    const value = crc.digestBase64();
    const res = await put('trailer', SIGNED_TRAILER, { trailers: [['x-amz-checksum-crc32c', value]] });
    assert.equal(res.status, 200, await res.text());
    assert.equal(res.headers.get('x-amz-checksum-crc32c'), value);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'stream', Key: 'trailer', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC32C, value);
  });

  it('a wrong chunk signature anywhere is SignatureDoesNotMatch and stores nothing', async () => {
    for (const [i, key] of [[0, 'bad-first'], [2, 'bad-middle'], [4, 'bad-final']] as const) {
      const res = await put(key, SIGNED, {
        mangle: (body) => {
          const text = body.toString('latin1');
          let at = -1;
          for (let n = 0; n <= i; n++) at = text.indexOf('chunk-signature=', at + 1);
          const copy = Buffer.from(body);
          const pos = at + 'chunk-signature='.length;
          copy[pos] = copy[pos] === 0x30 ? 0x31 : 0x30;
          return copy;
        },
      });
      assert.equal(await xmlCode(res), '403 SignatureDoesNotMatch', key);
      await absent(key);
    }
  });

  it('a flipped data byte, swapped chunks or a dropped final chunk store nothing', async () => {
    const flipped = await put('flipped', SIGNED, { mangle: (b) => (b.writeUInt8(b.readUInt8(100_000) ^ 1, 100_000), b) });
    assert.equal(await xmlCode(flipped), '403 SignatureDoesNotMatch');
    await absent('flipped');
    const swapped = await put('swapped', SIGNED, {
      mangle: (b) => {
        const r = Buffer.from(b);
        const first = r.indexOf('\r\n') + 2;
        r.set(b.subarray(first + 65536 + 2 + 81, first + 65536 + 2 + 81 + 10), first); // bytes of chunk 2 into chunk 1
        return r;
      },
    });
    assert.equal(await xmlCode(swapped), '403 SignatureDoesNotMatch');
    await absent('swapped');
    const truncated = await put('truncated', SIGNED, { mangle: (b) => b.subarray(0, b.lastIndexOf('0;chunk-signature=')) });
    assert.equal(await xmlCode(truncated), '400 IncompleteBody');
    await absent('truncated');
  });

  it('x-amz-decoded-content-length must match the decoded body', async () => {
    const res = await put('short', SIGNED, { decodedLength: data.length + 1 });
    assert.equal(await xmlCode(res), '400 IncompleteBody');
    await absent('short');
  });

  it('a wrong trailer signature, or a trailer value changed after signing, store nothing', async () => {
    const trailers: Array<[string, string]> = [['x-amz-checksum-crc32c', 'AAAAAA==']];
    const res = await put('trailer-bad', SIGNED_TRAILER, {
      trailers,
      mangle: (b) => Buffer.from(b.toString('latin1').replace('x-amz-checksum-crc32c:AAAAAA==', 'x-amz-checksum-crc32c:AAAAAB=='), 'latin1'),
    });
    assert.equal(await xmlCode(res), '403 SignatureDoesNotMatch');
    await absent('trailer-bad');
    const wrong = await put('trailer-wrong', SIGNED_TRAILER, { trailers });
    assert.equal(await xmlCode(wrong), '400 BadDigest', 'a signed but wrong checksum is still BadDigest');
    await absent('trailer-wrong');
  });
});
