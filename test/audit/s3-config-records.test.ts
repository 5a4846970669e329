import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateBucketCommand,
  PutBucketCorsCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import type { AuditEvent } from '../../src/audit/index.js';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { testServerFixture } from '../helpers/server.js';

const B = 'config-record';
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

// CloudTrail records the configuration a bucket-configuration call sets among its
// requestParameters, beside the sub-resource as an empty string: PutBucketPolicy's
// `bucketPolicy` as a JSON object, and the XML documents read into JSON with their `xmlns`
// (PutBucketPublicAccessBlock's flags as booleans: a delivered event in panther-labs/panther's
// snapshot processor test), as test/audit/s3-bucket-tagging-record checks for Tagging. Only a
// document that passed validation, and was not denied, is recorded.
describe('the audit records of the S3 bucket-configuration calls', () => {
  const fx = testServerFixture(async ({ s3 }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  /** The records of one call on the bucket, oldest first. */
  async function records(eventName: string): Promise<AuditEvent[]> {
    await fx.server.server.audit.flush();
    const { records } = await fx.server.server.auditStore.lookup({ bucket: B, eventName, limit: 100 });
    return records.map((r) => r.event).reverse();
  }

  function host(): string {
    return new URL(fx.server.endpoint).host;
  }

  it('PutPublicAccessBlock and PutBucketPolicy: the configuration and the policy object; a denied policy records none', async () => {
    const flags = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false };
    assert.equal(await sdkOutcome(fx.s3.send(new PutPublicAccessBlockCommand({ Bucket: B, PublicAccessBlockConfiguration: flags }))), 'ok');
    const [block] = await records('PutPublicAccessBlock');
    assert.deepEqual(block?.requestParameters, { Host: host(), bucketName: B, publicAccessBlock: '', PublicAccessBlockConfiguration: { xmlns: NS, ...flags } });

    const denyPlain = { Version: '2012-10-17', Statement: [{ Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${B}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] };
    const makePublic = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }] };
    const put = (policy: unknown): Promise<string> => sdkOutcome(fx.s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: JSON.stringify(policy) })));
    assert.equal(await put(denyPlain), 'ok');
    // BlockPublicPolicy refuses a public policy: denied, so not recorded.
    assert.equal(await put(makePublic), '403 AccessDenied');
    assert.equal(await sdkOutcome(fx.s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: '{"Statement": "no"}' }))), '400 MalformedPolicy');
    const [stored, denied, malformed] = await records('PutBucketPolicy');
    assert.deepEqual(stored?.requestParameters, { Host: host(), bucketName: B, policy: '', bucketPolicy: denyPlain });
    assert.equal(denied?.errorCode, 'AccessDenied');
    assert.deepEqual(denied?.requestParameters, { Host: host(), bucketName: B, policy: '' });
    assert.equal(malformed?.errorCode, 'MalformedPolicy');
    assert.deepEqual(malformed?.requestParameters, { Host: host(), bucketName: B, policy: '' });
  });

  it('PutBucketEncryption: its one Rule, with the KMS key id as sent; a refused algorithm records none', async () => {
    const put = (SSEAlgorithm: string, KMSMasterKeyID?: string): Promise<string> =>
      sdkOutcome(fx.s3.send(new PutBucketEncryptionCommand({ Bucket: B, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: SSEAlgorithm as 'AES256', ...(KMSMasterKeyID !== undefined ? { KMSMasterKeyID } : {}) }, BucketKeyEnabled: true }] } })));
    assert.equal(await put('aws:kms', 'alias/config-record'), 'ok');
    assert.equal(await put('AES256'), 'ok');
    assert.equal(await put('ROT13'), '400 InvalidArgument');
    const [kms, s3, refused] = await records('PutBucketEncryption');
    const expected = (byDefault: Record<string, string>): unknown => ({
      Host: host(),
      bucketName: B,
      encryption: '',
      ServerSideEncryptionConfiguration: { xmlns: NS, Rule: { ApplyServerSideEncryptionByDefault: byDefault, BucketKeyEnabled: true } },
    });
    assert.deepEqual(kms?.requestParameters, expected({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/config-record' }));
    assert.deepEqual(s3?.requestParameters, expected({ SSEAlgorithm: 'AES256' }));
    assert.equal(refused?.errorCode, 'InvalidArgument');
    assert.deepEqual(refused?.requestParameters, { Host: host(), bucketName: B, encryption: '' });
  });

  it('PutBucketEncryption: a key id as long as the body allows is recorded cut at KMS\'s KeyId limit, marked', async () => {
    const long = `alias/${'k'.repeat(200_000)}`;
    assert.equal(await sdkOutcome(fx.s3.send(new PutBucketEncryptionCommand({ Bucket: B, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: long } }] } }))), 'ok');
    const last = (await records('PutBucketEncryption')).at(-1);
    const config = last?.requestParameters?.ServerSideEncryptionConfiguration as { Rule: { ApplyServerSideEncryptionByDefault: { KMSMasterKeyID: string } } } | undefined;
    assert.equal(config?.Rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID, `${long.slice(0, 2048)}...`);
    assert.ok(JSON.stringify(last).length < 8192, 'the record stays small');
  });

  it('PutBucketCors: one rule as an object, several as a list, a single value as a string; an invalid method records none', async () => {
    const put = (CORSRules: NonNullable<ConstructorParameters<typeof PutBucketCorsCommand>[0]['CORSConfiguration']>['CORSRules']): Promise<string> =>
      sdkOutcome(fx.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules } })));
    assert.equal(await put([{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }]), 'ok');
    assert.equal(
      await put([
        { ID: 'app', AllowedHeaders: ['*'], AllowedMethods: ['GET', 'PUT'], AllowedOrigins: ['https://app.example'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 3000 },
        { AllowedMethods: ['HEAD'], AllowedOrigins: ['https://a.example', 'https://b.example'] },
      ]),
      'ok',
    );
    assert.equal(await put([{ AllowedMethods: ['PATCH'], AllowedOrigins: ['*'] }]), '400 InvalidRequest');
    const [one, several, refused] = await records('PutBucketCors');
    assert.deepEqual(one?.requestParameters, { Host: host(), bucketName: B, cors: '', CORSConfiguration: { xmlns: NS, CORSRule: { AllowedMethod: 'GET', AllowedOrigin: '*' } } });
    assert.deepEqual(several?.requestParameters, {
      Host: host(),
      bucketName: B,
      cors: '',
      CORSConfiguration: {
        xmlns: NS,
        CORSRule: [
          { AllowedHeader: '*', AllowedMethod: ['GET', 'PUT'], AllowedOrigin: 'https://app.example', ExposeHeader: 'ETag', ID: 'app', MaxAgeSeconds: 3000 },
          { AllowedMethod: 'HEAD', AllowedOrigin: ['https://a.example', 'https://b.example'] },
        ],
      },
    });
    assert.equal(refused?.errorCode, 'InvalidRequest');
    assert.deepEqual(refused?.requestParameters, { Host: host(), bucketName: B, cors: '' });
  });

  it('PutBucketOwnershipControls: the Rule taken; one refused records none', async () => {
    const put = (ObjectOwnership: 'BucketOwnerEnforced' | 'ObjectWriter'): Promise<string> =>
      sdkOutcome(fx.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: B, OwnershipControls: { Rules: [{ ObjectOwnership }] } })));
    assert.equal(await put('BucketOwnerEnforced'), 'ok');
    assert.equal(await put('ObjectWriter'), '501 NotImplemented');
    const [taken, refused] = await records('PutBucketOwnershipControls');
    assert.deepEqual(taken?.requestParameters, { Host: host(), bucketName: B, ownershipControls: '', OwnershipControls: { xmlns: NS, Rule: { ObjectOwnership: 'BucketOwnerEnforced' } } });
    assert.equal(refused?.errorCode, 'NotImplemented');
    assert.deepEqual(refused?.requestParameters, { Host: host(), bucketName: B, ownershipControls: '' });
  });
});
