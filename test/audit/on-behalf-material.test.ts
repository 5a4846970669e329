import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, DisableKeyCommand, ListKeyRotationsCommand, RotateKeyOnDemandCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AuditEvent } from '../../src/audit/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ec2 } from '../volumes/ec2-raw.js';

// The KMS records S3 (SSE-KMS, DSSE-KMS, bucket keys) and EC2 volumes write when they call
// KMS on a caller's behalf are ordinary KMS GenerateDataKey*/Decrypt events, so, as the KMS
// API's own records, a successful one names the key material version it used
// (additionalEventData.keyMaterialId, the id ListKeyRotations answers) and a failed one none.

describe("KMS records written on a caller's behalf name the key material version used", () => {
  let t: TestServer;
  let kms: KMSClient;
  let s3: S3Client;

  before(async () => {
    t = await startTestServer();
    kms = t.kms();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'material' }));
  });
  after(() => t.close());

  /** A fresh symmetric key's ARN. */
  const newKey = async (): Promise<string> => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;

  /** The key's material ids, oldest first (the original material, then each rotation's). */
  const materialIds = async (key: string): Promise<string[]> =>
    (await kms.send(new ListKeyRotationsCommand({ KeyId: key, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!.map((r) => r.KeyMaterialId!);

  /** The KMS `eventName` records naming `key`, newest first, each asserted to be invoked by `invokedBy`. */
  async function recordsOf(key: string, eventName: string, invokedBy: string): Promise<AuditEvent[]> {
    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ eventSource: 'kms.amazonaws.com', eventName, keyId: key, limit: 100 });
    const events = records.map((r) => r.event);
    for (const e of events) assert.equal(e.userIdentity.invokedBy, invokedBy, `${eventName} ${e.requestID} invoked by ${invokedBy}`);
    return events;
  }

  /** The one record `action` adds for `key`: a KMS `eventName` invoked by `invokedBy`. */
  async function recordAdded(key: string, eventName: string, invokedBy: string, action: () => Promise<unknown>): Promise<AuditEvent> {
    const before = (await recordsOf(key, eventName, invokedBy)).length;
    await action();
    const after = await recordsOf(key, eventName, invokedBy);
    assert.equal(after.length, before + 1, `one ${eventName} record added`);
    return after[0]!;
  }

  const put = (objectKey: string, kmsKey: string, extra: { BucketKeyEnabled?: boolean; ServerSideEncryption?: 'aws:kms' | 'aws:kms:dsse' } = {}) => () =>
    s3.send(new PutObjectCommand({ Bucket: 'material', Key: objectKey, Body: `body of ${objectKey}`, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKey, ...extra }));
  const get = (objectKey: string) => async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'material', Key: objectKey }));
    assert.equal(await got.Body!.transformToString(), `body of ${objectKey}`);
  };

  it('SSE-KMS: a PUT names the current material; after RotateKeyOnDemand a GET of the old object names the old one, a new PUT the new one', async () => {
    const key = await newKey();
    const [original] = await materialIds(key);
    const written = await recordAdded(key, 'GenerateDataKey', 's3.amazonaws.com', put('old', key));
    assert.equal(written.errorCode, undefined);
    assert.deepEqual(written.additionalEventData, { keyMaterialId: original });

    await kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const ids = await materialIds(key);
    assert.equal(ids.length, 2);
    assert.equal(ids[0], original);
    const rotated = ids[1];
    assert.notEqual(rotated, original);

    const readOld = await recordAdded(key, 'Decrypt', 's3.amazonaws.com', get('old'));
    assert.deepEqual(readOld.additionalEventData, { keyMaterialId: original });
    const writtenNew = await recordAdded(key, 'GenerateDataKey', 's3.amazonaws.com', put('new', key));
    assert.deepEqual(writtenNew.additionalEventData, { keyMaterialId: rotated });
    const readNew = await recordAdded(key, 'Decrypt', 's3.amazonaws.com', get('new'));
    assert.deepEqual(readNew.additionalEventData, { keyMaterialId: rotated });
  });

  it('DSSE-KMS and a bucket key name the material too', async () => {
    const key = await newKey();
    const [id] = await materialIds(key);
    await put('dsse', key, { ServerSideEncryption: 'aws:kms:dsse' })();
    await put('bucket-key', key, { BucketKeyEnabled: true })();
    const generated = await recordsOf(key, 'GenerateDataKey', 's3.amazonaws.com');
    assert.equal(generated.length, 3, 'two data keys for DSSE-KMS, one for the bucket key');
    for (const e of generated) assert.deepEqual(e.additionalEventData, { keyMaterialId: id });
  });

  it('a failed on-behalf call (key disabled) carries no additionalEventData; the same call before did', async () => {
    const key = await newKey();
    const [id] = await materialIds(key);
    const allowed = await recordAdded(key, 'GenerateDataKey', 's3.amazonaws.com', put('before-disable', key));
    assert.deepEqual(allowed.additionalEventData, { keyMaterialId: id });
    await kms.send(new DisableKeyCommand({ KeyId: key }));
    const refusedPut = await recordAdded(key, 'GenerateDataKey', 's3.amazonaws.com', () =>
      put('while-disabled', key)().then(() => assert.fail('a PUT under a disabled key succeeded'), (err: Error) => assert.match(err.name, /KMS\.DisabledException/)),
    );
    assert.equal(refusedPut.errorCode, 'DisabledException');
    assert.equal(refusedPut.additionalEventData, undefined);
    const refusedGet = await recordAdded(key, 'Decrypt', 's3.amazonaws.com', () =>
      get('before-disable')().then(() => assert.fail('a GET under a disabled key succeeded'), (err: Error) => assert.match(err.name, /KMS\.DisabledException/)),
    );
    assert.equal(refusedGet.errorCode, 'DisabledException');
    assert.equal(refusedGet.additionalEventData, undefined);
  });

  it('volumes: CreateVolume names the current material; after a rotation AttachVolume names the old one, a new volume the new one', async () => {
    const key = await newKey();
    const [original] = await materialIds(key);
    const createVolume = async (): Promise<string> => {
      const r = await ec2(t.endpoint, 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', KmsKeyId: key });
      assert.equal(r.status, 200, r.text);
      return String(r.body.volumeId);
    };
    let volumeId = '';
    const created = await recordAdded(key, 'GenerateDataKeyWithoutPlaintext', 'ec2.amazonaws.com', async () => {
      volumeId = await createVolume();
    });
    assert.deepEqual(created.additionalEventData, { keyMaterialId: original });

    await kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const rotated = (await materialIds(key))[1];
    assert.notEqual(rotated, original);
    const attached = await recordAdded(key, 'Decrypt', 'ec2.amazonaws.com', async () => {
      const r = await ec2(t.endpoint, 'AttachVolume', { VolumeId: volumeId, InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf' });
      assert.equal(r.status, 200, r.text);
    });
    assert.deepEqual(attached.additionalEventData, { keyMaterialId: original });
    const createdAfter = await recordAdded(key, 'GenerateDataKeyWithoutPlaintext', 'ec2.amazonaws.com', createVolume);
    assert.deepEqual(createdAfter.additionalEventData, { keyMaterialId: rotated });
  });
});
