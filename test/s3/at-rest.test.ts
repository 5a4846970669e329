import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Reads an object fully; resolves to the bytes, or rejects if the request or the body fails. */
async function fetchAll(s3: S3Client, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'rest', Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe('S3 data at rest', () => {
  let t: TestServer;
  let s3: S3Client;
  before(async () => {
    t = await startTestServer({ s3: { trustedProxyHttpsHeader: 'x-forwarded-proto' } });
    s3 = viaTrustedProxy(t.s3());
    await s3.send(new CreateBucketCommand({ Bucket: 'rest' }));
  });
  after(() => t.close());

  it('no plaintext at rest: a marker written under every mode appears in no file of the data directory', async () => {
    const marker = 'CIPHERLAKE-PLAINTEXT-MARKER-7f3a9c';
    const body = Buffer.from(`${marker}\n`.repeat(5000));
    const key = await t.kms().send(new CreateKeyCommand({}));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'm-s3', Body: body, ServerSideEncryption: 'AES256' }));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'm-kms', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata!.KeyId! }));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'm-c', Body: body, ...customerKey() }));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'm-default', Body: body }));
    const files = filesUnder(t.dataDir);
    assert.ok(files.some((f) => f.includes(join('objects', 'data'))), 'object files exist');
    for (const f of files) assert.equal(readFileSync(f).includes(marker), false, `${f} holds the marker`);
  });

  it('tamper: flipping a byte anywhere in a stored object makes its GET fail; the client never gets wrong bytes', async () => {
    const body = Buffer.alloc(150_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    const before = new Set(filesUnder(join(t.dataDir, 'objects', 'data')));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'victim', Body: body }));
    const file = filesUnder(join(t.dataDir, 'objects', 'data')).find((f) => !before.has(f))!;
    assert.ok(Buffer.from(await fetchAll(s3, 'victim')).equals(body));
    const original = readFileSync(file);
    // header, first segment, a tag, the middle segment, the last segment's tag
    for (const offset of [0, 10, 44, 45, 1000, 45 + 65536 + 3, 45 + 65552 + 500, original.length - 1]) {
      const copy = Buffer.from(original);
      copy[offset] = copy[offset]! ^ 0x01;
      writeFileSync(file, copy);
      let received: Buffer | undefined;
      try {
        received = await fetchAll(s3, 'victim');
      } catch {
        received = undefined;
      }
      assert.equal(received, undefined, `flip at ${offset} must fail the GET`);
    }
    writeFileSync(file, original);
    assert.ok(Buffer.from(await fetchAll(s3, 'victim')).equals(body));
    // A single-segment object fails before any byte: a clean S3 error.
    const before2 = new Set(filesUnder(join(t.dataDir, 'objects', 'data')));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'small', Body: 'small object' }));
    const small = filesUnder(join(t.dataDir, 'objects', 'data')).find((f) => !before2.has(f))!;
    const pristine = readFileSync(small);
    const bytes = Buffer.from(pristine);
    bytes[50] = bytes[50]! ^ 0x80;
    writeFileSync(small, bytes);
    assert.equal(await errorCode(fetchAll(s3, 'small')), '500 InternalError');
    // Cut short or extended by one byte (small objects are read whole, one byte past their end): the same error.
    writeFileSync(small, pristine.subarray(0, pristine.length - 1));
    assert.equal(await errorCode(fetchAll(s3, 'small')), '500 InternalError');
    writeFileSync(small, Buffer.concat([pristine, Buffer.from([0])]));
    assert.equal(await errorCode(fetchAll(s3, 'small')), '500 InternalError');
    writeFileSync(small, pristine);
    assert.equal((await fetchAll(s3, 'small')).toString(), 'small object');
  });

  it('tamper on a streamed object (over the 1 MiB in-memory limit): a flipped byte in a middle segment fails the GET', async () => {
    const body = Buffer.alloc(1024 * 1024 + 300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 253;
    const before = new Set(filesUnder(join(t.dataDir, 'objects', 'data')));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'big-victim', Body: body }));
    const file = filesUnder(join(t.dataDir, 'objects', 'data')).find((f) => !before.has(f))!;
    assert.ok((await fetchAll(s3, 'big-victim')).equals(body));
    const original = readFileSync(file);
    const copy = Buffer.from(original);
    const offset = 45 + 10 * (65536 + 16) + 123; // inside segment 10 of 21
    copy[offset] = copy[offset]! ^ 0x01;
    writeFileSync(file, copy);
    let received: Buffer | undefined;
    try {
      received = await fetchAll(s3, 'big-victim');
    } catch {
      received = undefined;
    }
    assert.equal(received, undefined, 'a tampered streamed object must fail the GET');
    writeFileSync(file, original);
    assert.ok((await fetchAll(s3, 'big-victim')).equals(body));
  });

  it('a disabled KMS key makes its objects unreadable (KMS.DisabledException) until it is enabled again', async () => {
    const kms = t.kms();
    const key = await kms.send(new CreateKeyCommand({}));
    const keyId = key.KeyMetadata!.KeyId!;
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'kms-obj', Body: 'guarded', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }));
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    assert.equal(await errorCode(fetchAll(s3, 'kms-obj')), '400 KMS.DisabledException');
    assert.equal(await errorCode(s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'kms-obj2', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }))), '400 KMS.DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    assert.equal((await fetchAll(s3, 'kms-obj')).toString(), 'guarded');
  });

  it('objects survive a restart', async () => {
    t = await t.restart();
    s3 = viaTrustedProxy(t.s3());
    assert.equal((await fetchAll(s3, 'kms-obj')).toString(), 'guarded');
  });
});
