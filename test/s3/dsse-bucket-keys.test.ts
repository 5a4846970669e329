import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutBucketEncryptionCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SecretBytes } from '../../src/crypto/index.js';
import { KmsDataKeyProvider } from '../../src/s3/index.js';
import { ObjectCorruptedError } from '../../src/s3/errors.js';
import { BUCKET_KEY_TTL_MS, BucketKeyCache } from '../../src/s3/sse/bucket-keys.js';
import type { DataKey, DataKeyProvider, KmsContext } from '../../src/s3/sse/data-key-provider.js';
import { DsseKmsMode } from '../../src/s3/sse/dsse-kms-mode.js';
import type { ObjectBinding, SealedObjectKey } from '../../src/s3/sse/sealing.js';
import { SseKmsMode } from '../../src/s3/sse/sse-modes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { errorCode } from './helpers.js';

/** Counts the KMS calls S3 makes (the injectable counter on the DataKeyProvider). */
class CountingProvider implements DataKeyProvider {
  generated = 0;
  decrypted = 0;
  constructor(private readonly inner: DataKeyProvider) {}
  generateDataKey(keyId: string, context: KmsContext): Promise<DataKey> {
    this.generated++;
    return this.inner.generateDataKey(keyId, context);
  }
  decrypt(blob: Buffer, context: KmsContext): ReturnType<DataKeyProvider['decrypt']> {
    this.decrypted++;
    return this.inner.decrypt(blob, context);
  }
}

const binding = (key: string): ObjectBinding => ({ bucket: 'bkt', key, objectId: randomUUID() });

describe('DSSE-KMS and bucket keys', () => {
  let t: TestServer;
  let s3: S3Client;
  let kms: KMSClient;
  let keyId: string;
  const body = Buffer.from('dual-layer and bucket-key data '.repeat(3000));

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    kms = t.kms();
    keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (const b of ['dsse', 'bkt', 'bk-default']) await s3.send(new CreateBucketCommand({ Bucket: b }));
  });
  after(() => t.close());

  async function read(bucket: string, key: string): Promise<Buffer> {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  it('DSSE-KMS: PUT, GET, HEAD and copy answer aws:kms:dsse with the key ARN, and the data reads back', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'dsse', Key: 'a', Body: body, ServerSideEncryption: 'aws:kms:dsse', SSEKMSKeyId: keyId }));
    assert.equal(put.ServerSideEncryption, 'aws:kms:dsse');
    assert.match(put.SSEKMSKeyId ?? '', new RegExp(`:key/${keyId}$`));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'dsse', Key: 'a' }));
    assert.equal(head.ServerSideEncryption, 'aws:kms:dsse');
    assert.equal(head.SSEKMSKeyId, put.SSEKMSKeyId);
    assert.deepEqual(await read('dsse', 'a'), body);
    const copy = await s3.send(new CopyObjectCommand({ Bucket: 'dsse', Key: 'b', CopySource: 'dsse/a', ServerSideEncryption: 'aws:kms:dsse' }));
    assert.equal(copy.ServerSideEncryption, 'aws:kms:dsse');
    assert.match(copy.SSEKMSKeyId ?? '', /alias\/aws\/s3|:key\//);
    assert.deepEqual(await read('dsse', 'b'), body);
  });

  it('DSSE-KMS seals with two independent data keys; each layer is bound, and swapping them fails', async () => {
    const provider = new CountingProvider(new KmsDataKeyProvider(t.server.keys));
    const mode = new DsseKmsMode(provider, keyId);
    const objectKey = SecretBytes.random(32);
    const b = binding('layers');
    const sealed = await mode.seal(objectKey, b);
    assert.equal(provider.generated, 2, 'two GenerateDataKey calls: two independent layers');
    assert.ok(sealed.mode === 'DSSE-KMS');
    assert.notEqual(sealed.kmsBlobs[0], sealed.kmsBlobs[1]);
    const opened = await mode.unseal(sealed, b);
    assert.deepEqual(opened.unsafeBytes(), objectKey.unsafeBytes());
    assert.equal(provider.decrypted, 2);
    const swapped: SealedObjectKey = { ...sealed, kmsBlobs: [sealed.kmsBlobs[1], sealed.kmsBlobs[0]] };
    await assert.rejects(mode.unseal(swapped, b), ObjectCorruptedError);
    await assert.rejects(mode.unseal(sealed, { ...b, key: 'elsewhere' }), (e: Error) => e instanceof ObjectCorruptedError || e.name === 'InvalidCiphertextError');
    await assert.rejects(new SseKmsMode(provider, keyId).unseal(sealed, b), ObjectCorruptedError, 'a DSSE seal never opens as SSE-KMS');
  });

  it('DSSE-KMS objects follow their key state: disabled → KMS.DisabledException, enabled → readable', async () => {
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    try {
      assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'dsse', Key: 'a' }))), '400 KMS.DisabledException');
    } finally {
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    }
    assert.deepEqual(await read('dsse', 'a'), body);
  });

  it('bucket keys: N seals make one GenerateDataKey per TTL, N opens one Decrypt per TTL', async () => {
    const provider = new CountingProvider(new KmsDataKeyProvider(t.server.keys));
    const writer = new BucketKeyCache(t.clock);
    const mode = new SseKmsMode(provider, keyId, {}, writer);
    const sealed: Array<[ObjectBinding, SealedObjectKey, SecretBytes]> = [];
    for (let i = 0; i < 20; i++) {
      const b = binding(`o${i}`);
      const k = SecretBytes.random(32);
      sealed.push([b, await mode.seal(k, b), k]);
    }
    assert.equal(provider.generated, 1, '20 PUTs, one GenerateDataKey');
    const s0 = sealed[0]![1];
    assert.ok(s0.mode === 'SSE-KMS' && s0.bucketKey === true);
    assert.equal(s0.context['aws:s3:arn'], 'arn:aws:s3:::bkt', 'the bucket key is bound to the bucket ARN');
    const reader = new SseKmsMode(provider, keyId, {}, new BucketKeyCache(t.clock));
    for (const [b, s, k] of sealed) assert.deepEqual((await reader.unseal(s, b)).unsafeBytes(), k.unsafeBytes());
    assert.equal(provider.decrypted, 1, '20 GETs, one Decrypt');
    await assert.rejects(reader.unseal(sealed[1]![1], sealed[2]![0]), ObjectCorruptedError, 'each object key stays bound to its object');
    t.advance(BUCKET_KEY_TTL_MS + 1000);
    await mode.seal(SecretBytes.random(32), binding('later'));
    assert.equal(provider.generated, 2, 'a new bucket key after the TTL');
    await reader.unseal(s0, sealed[0]![0]);
    assert.equal(provider.decrypted, 2, 'the opened bucket key expired too');
    writer.clear();
  });

  it('bucket keys over the wire: the header, the bucket default, GET/HEAD answer BucketKeyEnabled', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'h', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: true }));
    assert.equal(put.BucketKeyEnabled, true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'h' }));
    assert.equal(head.BucketKeyEnabled, true);
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.deepEqual(await read('bkt', 'h'), body);
    const plain = await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'no-bk', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }));
    assert.equal(plain.BucketKeyEnabled, undefined);
    await s3.send(new PutBucketEncryptionCommand({
      Bucket: 'bk-default',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, BucketKeyEnabled: true }] },
    }));
    const byDefault = await s3.send(new PutObjectCommand({ Bucket: 'bk-default', Key: 'd', Body: body }));
    assert.equal(byDefault.BucketKeyEnabled, true);
    assert.deepEqual(await read('bk-default', 'd'), body);
  });

  it('a disabled KMS key makes bucket-key objects unreadable within the cache bound, and readable again once enabled', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'state', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: true }));
    assert.deepEqual(await read('bkt', 'state'), body);
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    try {
      // Within the bound the cached bucket key still serves (documented); past it, KMS decides.
      t.advance(BUCKET_KEY_TTL_MS + 1000);
      assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'state' }))), '400 KMS.DisabledException');
      assert.equal(await errorCode(s3.send(new GetObjectCommand({ Bucket: 'bk-default', Key: 'd' }))), '400 KMS.DisabledException');
      const refused = s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'state2', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: true }));
      assert.equal(await errorCode(refused), '400 KMS.DisabledException');
    } finally {
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    }
    assert.deepEqual(await read('bkt', 'state'), body);
  });
});
