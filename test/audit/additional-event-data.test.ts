import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AuditEvent } from '../../src/audit/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// CloudTrail's additionalEventData, read back from the trail: KMS cryptographic calls name
// the key material version they used (keyMaterialId, as ListKeyRotations names it); S3
// calls carry the signature version, authentication method, TLS cipher suite, body byte
// counts and x-amz-id-2, with S3's own field names.

/** The record of the call answered with `requestId`. */
async function recordOf(t: TestServer, requestId: string | undefined): Promise<AuditEvent> {
  assert.ok(requestId, 'the answer carried a request id');
  await t.server.audit.flush();
  const { records } = await t.server.auditStore.lookup({ limit: 1000 });
  const found = records.map((r) => r.event).filter((e) => e.requestID === requestId);
  assert.equal(found.length, 1, `one record for request ${requestId}`);
  return found[0]!;
}

describe('KMS records name the key material version each cryptographic call used', () => {
  let t: TestServer;
  let kms: KMSClient;

  before(async () => {
    t = await startTestServer();
    kms = t.kms();
  });
  after(() => t.close());

  it('GenerateDataKey, Decrypt and ReEncrypt across a RotateKeyOnDemand; a failed call names none', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const before = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const afterRotation = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const oldDecrypt = await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }));
    const newDecrypt = await kms.send(new DecryptCommand({ CiphertextBlob: afterRotation.CiphertextBlob }));
    const reEncrypt = await kms.send(new ReEncryptCommand({ CiphertextBlob: before.CiphertextBlob, DestinationKeyId: keyId }));
    const failed = await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: { wrong: 'context' } })).then(
      () => assert.fail('Decrypt with a wrong context succeeded'),
      (err: { name: string; $metadata: { requestId?: string } }) => err,
    );
    assert.equal(failed.name, 'InvalidCiphertextException');

    const rotations = (await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;
    assert.equal(rotations.length, 2);
    const [oldId, newId] = rotations.map((r) => r.KeyMaterialId!);
    assert.match(oldId!, /^[0-9a-f]{64}$/);
    assert.notEqual(oldId, newId);

    assert.deepEqual((await recordOf(t, before.$metadata.requestId)).additionalEventData, { keyMaterialId: oldId });
    assert.deepEqual((await recordOf(t, afterRotation.$metadata.requestId)).additionalEventData, { keyMaterialId: newId });
    assert.deepEqual((await recordOf(t, oldDecrypt.$metadata.requestId)).additionalEventData, { keyMaterialId: oldId });
    assert.deepEqual((await recordOf(t, newDecrypt.$metadata.requestId)).additionalEventData, { keyMaterialId: newId });
    // As AWS's ReEncrypt example: the source material that decrypted and the destination's current one.
    assert.deepEqual((await recordOf(t, reEncrypt.$metadata.requestId)).additionalEventData, { destinationKeyMaterialId: newId, sourceKeyMaterialId: oldId });
    const failedRecord = await recordOf(t, failed.$metadata.requestId);
    assert.equal(failedRecord.errorCode, 'InvalidCiphertextException');
    assert.equal(failedRecord.additionalEventData, undefined);
  });

  it('every other cryptographic operation names the material it used; a management call names none', async () => {
    const created = await kms.send(new CreateKeyCommand({}));
    const keyId = created.KeyMetadata!.KeyId!;
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const current = (await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations!.at(-1)!.KeyMaterialId!;
    const symmetric = [
      await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 16 })),
      await kms.send(new GenerateDataKeyPairCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' })),
      await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' })),
    ];
    for (const answer of symmetric) assert.deepEqual((await recordOf(t, answer.$metadata.requestId)).additionalEventData, { keyMaterialId: current });
    assert.equal((await recordOf(t, created.$metadata.requestId)).additionalEventData, undefined);

    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const signed = await kms.send(new SignCommand({ KeyId: signing, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    const verified = await kms.send(new VerifyCommand({ KeyId: signing, Message: Buffer.from('m'), Signature: signed.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const mac = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
    const macked = await kms.send(new GenerateMacCommand({ KeyId: mac, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' }));
    const macVerified = await kms.send(new VerifyMacCommand({ KeyId: mac, Message: Buffer.from('m'), Mac: macked.Mac, MacAlgorithm: 'HMAC_SHA_256' }));
    // Key material ids are symmetric encryption keys' alone (AWS: "present only when the
    // operation uses a symmetric encryption KMS key"): signing and MAC keys' records have none.
    for (const answer of [signed, verified, macked, macVerified]) {
      const record = await recordOf(t, answer.$metadata.requestId);
      assert.equal(record.errorCode, undefined);
      assert.equal(record.additionalEventData, undefined, String(record.eventName));
    }
    // An RSA encryption key's Encrypt has none either; re-encrypting its blob under the
    // symmetric key names only the destination's material.
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    const rsaBlob = await kms.send(new EncryptCommand({ KeyId: rsa, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    assert.equal((await recordOf(t, rsaBlob.$metadata.requestId)).additionalEventData, undefined);
    const moved = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: rsaBlob.CiphertextBlob, SourceKeyId: rsa, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: keyId }),
    );
    assert.deepEqual((await recordOf(t, moved.$metadata.requestId)).additionalEventData, { destinationKeyMaterialId: current });
  });
});

describe('S3 records carry the transfer facts in additionalEventData', () => {
  let t: TestServer;
  let s3: S3Client;
  const body = Buffer.alloc(70_000, 'b'); // over one 64 KiB segment: stored size differs from the body's

  before(async () => {
    t = await startTestServer({ https: { enabled: true, host: '127.0.0.1', port: 0 } });
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'aed' }));
  });
  after(() => t.close());

  it('a PUT signed in its header: AuthHeader, bytes in = the body, none out, no CipherSuite over HTTP', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'aed', Key: 'header', Body: body }));
    const record = await recordOf(t, put.$metadata.requestId);
    assert.deepEqual(record.additionalEventData, {
      AuthenticationMethod: 'AuthHeader',
      SignatureVersion: 'SigV4',
      bytesTransferredIn: body.length,
      bytesTransferredOut: 0,
      'x-amz-id-2': put.$metadata.extendedRequestId,
    });
  });

  it('a streamed PUT (the SDK sends aws-chunked without Content-Length): bytes in = the body, from x-amz-decoded-content-length', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'aed', Key: 'streamed', Body: Readable.from([body]), ContentLength: body.length }));
    const record = await recordOf(t, put.$metadata.requestId);
    assert.equal(record.additionalEventData?.['bytesTransferredIn'], body.length);
    assert.equal(record.additionalEventData?.['AuthenticationMethod'], 'AuthHeader');
  });

  it('a presigned GET: QueryString, bytes out = the body sent; a HEAD sends none', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'aed', Key: 'presigned', Body: body }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'aed', Key: 'presigned' }), { expiresIn: 300 });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(got.length, body.length);
    const record = await recordOf(t, res.headers.get('x-amz-request-id') ?? undefined);
    assert.equal(record.eventName, 'GetObject');
    assert.deepEqual(record.additionalEventData, {
      AuthenticationMethod: 'QueryString',
      SignatureVersion: 'SigV4',
      bytesTransferredIn: 0,
      bytesTransferredOut: got.length,
      'x-amz-id-2': res.headers.get('x-amz-id-2'),
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'aed', Key: 'presigned' }));
    assert.equal(head.ContentLength, body.length);
    const headRecord = await recordOf(t, head.$metadata.requestId);
    assert.equal(headRecord.additionalEventData?.['bytesTransferredOut'], 0);
    assert.equal(headRecord.additionalEventData?.['AuthenticationMethod'], 'AuthHeader');
  });

  it('an error answer counts its XML body out', async () => {
    const res = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'aed', Key: 'missing' }), { expiresIn: 300 }));
    assert.equal(res.status, 404);
    const text = await res.text();
    const record = await recordOf(t, res.headers.get('x-amz-request-id') ?? undefined);
    assert.equal(record.errorCode, 'NoSuchKey');
    assert.equal(record.additionalEventData?.['bytesTransferredOut'], Buffer.byteLength(text));
  });

  it('an anonymous request names no signature version nor authentication method', async () => {
    const res = await fetch(`${t.endpoint}/aed/header`);
    assert.equal(res.status, 403);
    const record = await recordOf(t, res.headers.get('x-amz-request-id') ?? undefined);
    assert.equal(record.userIdentity.type, 'Unknown');
    assert.deepEqual(record.additionalEventData, {
      bytesTransferredIn: 0,
      bytesTransferredOut: Buffer.byteLength(await res.text()),
      'x-amz-id-2': res.headers.get('x-amz-id-2'),
    });
  });

  it('over the TLS listener: CipherSuite is the negotiated suite, as tlsDetails names it', async () => {
    const caPem = readFileSync(join(t.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
    const secure = t.s3({ endpoint: t.httpsEndpoint!, requestHandler: { httpsAgent: new HttpsAgent({ ca: caPem }) } });
    const put = await secure.send(new PutObjectCommand({ Bucket: 'aed', Key: 'tls', Body: 'over tls' }));
    const record = await recordOf(t, put.$metadata.requestId);
    const suite = record.additionalEventData?.['CipherSuite'];
    assert.match(String(suite), /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
    assert.equal(suite, record.tlsDetails?.cipherSuite);
    assert.equal(record.additionalEventData?.['bytesTransferredIn'], Buffer.byteLength('over tls'));
  });
});
