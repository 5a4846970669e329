import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';
import { customerKey, errorCode, viaTrustedProxy } from './helpers.js';

/** The sealed body a small object keeps inline in its metadata row. */
function inlineBody(dataDir: string, bucket: string, key: string): Buffer {
  const db = new Database(join(dataDir, 'metadata.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT body FROM s3_objects WHERE bucket = ? AND key = ?').get(bucket, key) as { body: Buffer | null } | undefined;
    assert.ok(row?.body instanceof Buffer, `${bucket}/${key} has an inline body`);
    return row.body;
  } finally {
    db.close();
  }
}

/** Overwrites that inline body behind the running server's back (a second connection; WAL lets both in). */
function setInlineBody(dataDir: string, bucket: string, key: string, body: Buffer): void {
  const db = new Database(join(dataDir, 'metadata.db'));
  try {
    db.pragma('busy_timeout = 5000');
    assert.equal(db.prepare('UPDATE s3_objects SET body = ? WHERE bucket = ? AND key = ?').run(body, bucket, key).changes, 1);
  } finally {
    db.close();
  }
}

/** Reads an object fully; resolves to the bytes, or rejects if the request or the body fails. */
async function fetchAll(s3: S3Client, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'rest', Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** The body a GET of `key` delivers, or undefined when the GET fails (an error answer or a cut connection). */
async function fetchOrFail(s3: S3Client, key: string): Promise<Buffer | undefined> {
  try {
    return await fetchAll(s3, key);
  } catch {
    return undefined;
  }
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
    // Small objects: sealed inline in the metadata database.
    const small = body.subarray(0, 1000);
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 's-s3', Body: small, ServerSideEncryption: 'AES256' }));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 's-kms', Body: small, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key.KeyMetadata!.KeyId! }));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 's-c', Body: small, ...customerKey() }));
    assert.equal(inlineBody(t.dataDir, 'rest', 's-kms').length, 45 + 1000 + 16);
    const files = filesUnder(t.dataDir);
    assert.ok(files.some((f) => f.includes(join('objects', 'data'))), 'object files exist');
    assert.ok(files.some((f) => f.endsWith('metadata.db-wal')) || files.some((f) => f.endsWith('metadata.db')), 'the metadata database exists');
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
      assert.equal(await fetchOrFail(s3, 'victim'), undefined, `flip at ${offset} must fail the GET`);
    }
    writeFileSync(file, original);
    assert.ok(Buffer.from(await fetchAll(s3, 'victim')).equals(body));
  });

  it('tamper on a small object (sealed body inline in metadata.db): every flipped byte, a cut or an extension fails the GET with a clean S3 error', async () => {
    const before = new Set(filesUnder(join(t.dataDir, 'objects', 'data')));
    await s3.send(new PutObjectCommand({ Bucket: 'rest', Key: 'small', Body: 'small object' }));
    assert.deepEqual(filesUnder(join(t.dataDir, 'objects', 'data')).filter((f) => !before.has(f)), [], 'no body file for a small object');
    const pristine = inlineBody(t.dataDir, 'rest', 'small');
    // header (45), 12 bytes of ciphertext, tag (16): every byte of it.
    assert.equal(pristine.length, 45 + 12 + 16);
    for (let offset = 0; offset < pristine.length; offset++) {
      const bytes = Buffer.from(pristine);
      bytes[offset] = bytes[offset]! ^ (offset % 2 === 0 ? 0x80 : 0x01);
      setInlineBody(t.dataDir, 'rest', 'small', bytes);
      // A single-segment object fails before any byte: a clean S3 error.
      assert.equal(await errorCode(fetchAll(s3, 'small')), '500 InternalError', `flip at ${offset}`);
    }
    // Cut short or extended by one byte: the same error.
    setInlineBody(t.dataDir, 'rest', 'small', pristine.subarray(0, pristine.length - 1));
    assert.equal(await errorCode(fetchAll(s3, 'small')), '500 InternalError');
    setInlineBody(t.dataDir, 'rest', 'small', Buffer.concat([pristine, Buffer.from([0])]));
    assert.equal(await errorCode(fetchAll(s3, 'small')), '500 InternalError');
    // Ranged reads of an inline body verify too: a flip in the tag fails one.
    const flipped = Buffer.from(pristine);
    flipped[pristine.length - 3] = flipped[pristine.length - 3]! ^ 0x01;
    setInlineBody(t.dataDir, 'rest', 'small', flipped);
    const ranged = s3.send(new GetObjectCommand({ Bucket: 'rest', Key: 'small', Range: 'bytes=2-5' })).then(async (r) => r.Body!.transformToByteArray());
    assert.equal(await errorCode(ranged), '500 InternalError');
    setInlineBody(t.dataDir, 'rest', 'small', pristine);
    assert.equal((await fetchAll(s3, 'small')).toString(), 'small object');
    const part = await s3.send(new GetObjectCommand({ Bucket: 'rest', Key: 'small', Range: 'bytes=2-5' }));
    assert.equal(await part.Body!.transformToString(), 'all ');
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
    assert.equal(await fetchOrFail(s3, 'big-victim'), undefined, 'a tampered streamed object must fail the GET');
    // Extended by one byte or cut short by one: the whole GET fails too.
    for (const bad of [Buffer.concat([original, Buffer.from([0])]), original.subarray(0, original.length - 1)]) {
      writeFileSync(file, bad);
      assert.equal(await fetchOrFail(s3, 'big-victim'), undefined, `a body of ${bad.length} bytes instead of ${original.length} must fail the GET`);
    }
    writeFileSync(file, original);
    assert.ok((await fetchAll(s3, 'big-victim')).equals(body));
    // Ranged reads across segment and read boundaries return exactly those bytes.
    const n = body.length;
    for (const [a, b] of [[0, 0], [65_535, 65_536], [1_048_575, 1_048_577], [16 * 65_536 - 1, 17 * 65_536], [n - 1, n - 1], [100, n - 1], [0, n - 1]] as const) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'rest', Key: 'big-victim', Range: `bytes=${a}-${b}` }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body.subarray(a, b + 1)), `bytes=${a}-${b}`);
    }
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
