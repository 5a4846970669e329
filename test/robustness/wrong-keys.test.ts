import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { ec2, items } from '../volumes/ec2-raw.js';
import { robustSuite } from './harness.js';
import { s3Call, statusCode } from './s3-call.js';

/**
 * Writes that name a KMS key that cannot serve them (asymmetric, HMAC, disabled, pending
 * deletion, another region, unknown alias, garbage): S3 answers the KMS.* error, EC2 its
 * InvalidKMSKey.* error, nothing is written, and objects and volumes already there stay readable.
 */
describe('Wrong KMS keys on S3 and EC2 writes', () => {
  const wrong: Array<[string, string, string, string]> = [];

  const kms = async (operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const r = await rawKmsRequest(t.endpoint, { target: `TrentService.${operation}`, body: JSON.stringify(body) });
    assert.equal(r.status, 200, `${operation}: ${JSON.stringify(r.json)}`);
    return r.json;
  };
  const create = async (body: Record<string, unknown>): Promise<string> => ((await kms('CreateKey', body))['KeyMetadata'] as { Arn: string }).Arn;

  const t = robustSuite(
    {},
    {
      async setup() {
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob')).status, 200);
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob/keep', { body: 'kept', headers: { 'x-amz-server-side-encryption': 'aws:kms' } })).status, 200);
        const rsa = await create({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
        const hmac = await create({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
        const disabled = await create({});
        await kms('DisableKey', { KeyId: disabled });
        const pending = await create({});
        await kms('ScheduleKeyDeletion', { KeyId: pending, PendingWindowInDays: 7 });
        // name, key id, S3 code, EC2 code
        wrong.push(
          ['asymmetric', rsa, 'KMS.InvalidKeyUsageException', 'InvalidKMSKey.InvalidState'],
          ['HMAC', hmac, 'KMS.InvalidKeyUsageException', 'InvalidKMSKey.InvalidState'],
          ['disabled', disabled, 'KMS.DisabledException', 'InvalidKMSKey.InvalidState'],
          ['pending deletion', pending, 'KMS.KMSInvalidStateException', 'InvalidKMSKey.InvalidState'],
          ['another region', rsa.replace(':us-east-1:', ':eu-west-1:'), 'KMS.NotFoundException', 'InvalidKMSKey.NotFound'],
          ['unknown alias', 'alias/none', 'KMS.NotFoundException', 'InvalidKMSKey.NotFound'],
          ['garbage', '::::', 'KMS.NotFoundException', 'InvalidKMSKey.NotFound'],
        );
      },
      async check() {
        const keep = await s3Call(t.endpoint, 'GET', '/rob/keep');
        assert.equal(`${keep.status} ${keep.text}`, '200 kept');
      },
    },
  );

  it('S3: SSE-KMS and DSSE-KMS PUTs, and PUTs under a bucket default, naming a wrong key → its KMS.* error, nothing written', async () => {
    for (const [name, keyId, code] of wrong) {
      for (const algorithm of ['aws:kms', 'aws:kms:dsse']) {
        const r = await s3Call(t.endpoint, 'PUT', '/rob/keep', { body: 'overwrite', headers: { 'x-amz-server-side-encryption': algorithm, 'x-amz-server-side-encryption-aws-kms-key-id': keyId } });
        assert.equal(statusCode(r), `400 ${code}`, `${algorithm} with the ${name} key`);
      }
      const config = `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>${keyId}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`;
      // As on AWS, the default is not checked when set, only when a write uses it.
      assert.equal((await s3Call(t.endpoint, 'PUT', '/rob', { query: { encryption: '' }, body: config })).status, 200);
      try {
        assert.equal(statusCode(await s3Call(t.endpoint, 'PUT', '/rob/by-default', { body: 'x' })), `400 ${code}`, `bucket default with the ${name} key`);
        assert.equal((await s3Call(t.endpoint, 'HEAD', '/rob/by-default')).status, 404);
      } finally {
        assert.equal((await s3Call(t.endpoint, 'DELETE', '/rob', { query: { encryption: '' } })).status, 204);
      }
    }
  });

  it('EC2: CreateVolume naming a wrong key → InvalidKMSKey.*, no volume is made', async () => {
    for (const [name, keyId, , code] of wrong) {
      const r = await ec2(t.endpoint, 'CreateVolume', { Size: '1', AvailabilityZone: 'us-east-1a', Encrypted: 'true', KmsKeyId: keyId });
      assert.equal(`${r.status} ${r.code}`, `400 ${code}`, name);
    }
    assert.deepEqual(items((await ec2(t.endpoint, 'DescribeVolumes')).body, 'volumeSet'), []);
  });
});
