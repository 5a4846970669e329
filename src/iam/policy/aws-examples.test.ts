/**
 * Policies taken from AWS's IAM, KMS and S3 documentation, decided as AWS documents.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePolicies } from './evaluate-policies.js';
import type { PolicySet } from './evaluate-policies.js';
import { evaluatePolicy } from './evaluate-policy.js';
import { MalformedPolicyDocumentError } from './errors.js';
import { parsePolicy } from './parse-policy.js';
import type { ContextValue, RequestContext, RequestPrincipal } from './request-context.js';
import type { Policy, PolicyKind } from './types.js';

const ACCOUNT = '111122223333';
const alice: RequestPrincipal = { type: 'User', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, account: ACCOUNT, username: 'alice', userid: 'AIDAALICE' };
const root: RequestPrincipal = { type: 'Account', arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT };

function policy(kind: PolicyKind, statement: unknown): Policy {
  return parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statement }), kind);
}

function request(action: string, resource: string, context: Record<string, ContextValue> = {}, principal = alice): RequestContext {
  return { principal, action, resource, context };
}

function decide(req: RequestContext, set: PolicySet): string {
  return evaluatePolicies(req, set).decision;
}

describe('AWS documentation examples', () => {
  it('an explicit deny overrides an allow', () => {
    const identity = [
      policy('identity', { Effect: 'Allow', Action: 's3:*', Resource: '*' }),
      policy('identity', { Sid: 'NoDelete', Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }),
    ];
    assert.equal(decide(request('s3:GetObject', 'arn:aws:s3:::b/k'), { identity }), 'Allow');
    const denied = evaluatePolicies(request('s3:DeleteObject', 'arn:aws:s3:::b/k'), { identity });
    assert.equal(denied.decision, 'ExplicitDeny');
    assert.match(denied.reason, /NoDelete/);
  });

  it('NotAction with Deny: deny everything but IAM unless MFA is present (BoolIfExists)', () => {
    const identity = [
      policy('identity', { Effect: 'Allow', Action: '*', Resource: '*' }),
      policy('identity', {
        Sid: 'BlockMostAccessUnlessSignedInWithMFA',
        Effect: 'Deny',
        NotAction: ['iam:CreateVirtualMFADevice', 'iam:EnableMFADevice', 'iam:ListMFADevices', 'sts:GetSessionToken'],
        Resource: '*',
        Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
      }),
    ];
    assert.equal(decide(request('kms:Decrypt', '*', { 'aws:MultiFactorAuthPresent': 'false' }), { identity }), 'ExplicitDeny');
    // IfExists: a long-term access key carries no MFA key at all, and is denied too.
    assert.equal(decide(request('kms:Decrypt', '*'), { identity }), 'ExplicitDeny');
    assert.equal(decide(request('kms:Decrypt', '*', { 'aws:MultiFactorAuthPresent': 'true' }), { identity }), 'Allow');
    assert.equal(decide(request('iam:EnableMFADevice', '*'), { identity }), 'Allow');
  });

  it('StringLikeIfExists on ec2:InstanceType', () => {
    const identity = [
      policy('identity', {
        Effect: 'Allow',
        Action: 'ec2:RunInstances',
        Resource: 'arn:aws:ec2:*:*:*',
        Condition: { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } },
      }),
    ];
    const run = (context: Record<string, ContextValue>, resource = 'arn:aws:ec2:us-east-1:111122223333:instance/*'): string =>
      decide(request('ec2:RunInstances', resource, context), { identity });
    assert.equal(run({ 'ec2:InstanceType': 't2.micro' }), 'Allow');
    assert.equal(run({ 'ec2:InstanceType': 'p4d.24xlarge' }), 'ImplicitDeny');
    assert.equal(run({}, 'arn:aws:ec2:us-east-1:111122223333:volume/*'), 'Allow');
  });

  it('ForAnyValue:StringLike on kms:EncryptionContextKeys', () => {
    const identity = [
      policy('identity', {
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt'],
        Resource: `arn:aws:kms:us-west-2:${ACCOUNT}:key/*`,
        Condition: { 'ForAnyValue:StringLike': { 'kms:EncryptionContextKeys': 'App*' } },
      }),
    ];
    const key = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const run = (keys: ContextValue): string => decide(request('kms:Decrypt', key, { 'kms:EncryptionContextKeys': keys }), { identity });
    assert.equal(run(['Purpose', 'AppName']), 'Allow');
    assert.equal(run(['Purpose']), 'ImplicitDeny');
    assert.equal(run(undefined), 'ImplicitDeny');
  });

  it('ForAllValues with an empty set allows, unless paired with Null', () => {
    const key = `arn:aws:kms:us-west-2:${ACCOUNT}:key/k`;
    const statement = {
      Effect: 'Allow',
      Action: 'kms:GenerateDataKey',
      Resource: '*',
      Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['Purpose', 'Department'] } },
    };
    const loose = [policy('identity', statement)];
    const strict = [policy('identity', { ...statement, Condition: { ...statement.Condition, Null: { 'kms:EncryptionContextKeys': 'false' } } })];
    const run = (identity: Policy[], keys: ContextValue): string =>
      decide(request('kms:GenerateDataKey', key, { 'kms:EncryptionContextKeys': keys }), { identity });
    assert.equal(run(loose, ['Purpose']), 'Allow');
    assert.equal(run(loose, ['Purpose', 'Owner']), 'ImplicitDeny');
    assert.equal(run(loose, undefined), 'Allow', 'ForAllValues holds for an absent key, as AWS warns');
    assert.equal(run(strict, undefined), 'ImplicitDeny');
    assert.equal(run(strict, ['Department']), 'Allow');
  });

  it('deny by aws:SourceIp unless the call comes from an AWS service', () => {
    const identity = [
      policy('identity', { Effect: 'Allow', Action: '*', Resource: '*' }),
      policy('identity', {
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24'] },
          Bool: { 'aws:ViaAWSService': 'false' },
        },
      }),
    ];
    const run = (ip: string, via = 'false'): string =>
      decide(request('s3:GetObject', 'arn:aws:s3:::b/k', { 'aws:SourceIp': ip, 'aws:ViaAWSService': via }), { identity });
    assert.equal(run('203.0.113.14'), 'Allow');
    assert.equal(run('198.51.100.1'), 'ExplicitDeny');
    assert.equal(run('198.51.100.1', 'true'), 'Allow');
  });

  it('a bucket policy denying requests not sent over TLS (aws:SecureTransport)', () => {
    const bucket = policy('resource', {
      Sid: 'AllowSSLRequestsOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: ['arn:aws:s3:::amzn-s3-demo-bucket', 'arn:aws:s3:::amzn-s3-demo-bucket/*'],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const identity = [policy('identity', { Effect: 'Allow', Action: 's3:*', Resource: '*' })];
    const run = (tls: string): string =>
      decide(request('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/x', { 'aws:SecureTransport': tls }), { identity, resource: [bucket] });
    assert.equal(run('false'), 'ExplicitDeny');
    assert.equal(run('true'), 'Allow');
  });

  it('DateGreaterThan / DateLessThan on aws:CurrentTime', () => {
    const identity = [
      policy('identity', {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {
          DateGreaterThan: { 'aws:CurrentTime': '2020-04-01T00:00:00Z' },
          DateLessThan: { 'aws:CurrentTime': '2020-06-30T23:59:59Z' },
        },
      }),
    ];
    const at = (iso: string): string => decide({ ...request('kms:Decrypt', '*'), time: new Date(iso) }, { identity });
    assert.equal(at('2020-05-15T12:00:00Z'), 'Allow');
    assert.equal(at('2020-07-01T00:00:00Z'), 'ImplicitDeny');
    assert.equal(at('2020-03-31T23:00:00Z'), 'ImplicitDeny');
  });

  it('${aws:username} home folders with s3:prefix', () => {
    const identity = [
      policy('identity', [
        {
          Sid: 'AllowListingOfUserFolder',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
          Condition: { StringLike: { 's3:prefix': ['', 'home/', 'home/${aws:username}/*'] } },
        },
        {
          Sid: 'AllowAllS3ActionsInUserFolder',
          Effect: 'Allow',
          Action: 's3:*Object',
          Resource: 'arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*',
        },
      ]),
    ];
    const bucket = 'arn:aws:s3:::amzn-s3-demo-bucket';
    const list = (prefix: string): string => decide(request('s3:ListBucket', bucket, { 's3:prefix': prefix }), { identity });
    assert.equal(list('home/alice/photos'), 'Allow');
    assert.equal(list('home/'), 'Allow');
    assert.equal(list(''), 'Allow');
    assert.equal(list('home/bob/'), 'ImplicitDeny');
    assert.equal(decide(request('s3:GetObject', `${bucket}/home/alice/a.txt`), { identity }), 'Allow');
    assert.equal(decide(request('s3:PutObject', `${bucket}/home/bob/a.txt`), { identity }), 'ImplicitDeny');
    // A role session has no aws:username: the variable is unresolvable and nothing matches.
    const role: RequestPrincipal = { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/r/s`, account: ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/r` };
    assert.equal(decide(request('s3:GetObject', `${bucket}/home/r/a.txt`, {}, role), { identity }), 'ImplicitDeny');
  });

  it('the KMS default key policy enables IAM policies for the account', () => {
    const keyPolicy = parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Id: 'key-default-1',
        Statement: [
          { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        ],
      }),
      'resource',
    );
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`;
    const req = (principal: RequestPrincipal): RequestContext => ({ ...request('kms:Decrypt', key, {}, principal), resourceAccount: ACCOUNT });
    const allowDecrypt = [policy('identity', { Effect: 'Allow', Action: 'kms:Decrypt', Resource: key })];
    assert.equal(decide(req(root), { identity: [], resource: [keyPolicy] }), 'Allow');
    assert.equal(decide(req(alice), { identity: allowDecrypt, resource: [keyPolicy] }), 'Allow');
    const delegated = evaluatePolicies(req(alice), { identity: [], resource: [keyPolicy] });
    assert.equal(delegated.decision, 'ImplicitDeny');
    assert.match(delegated.reason, /delegates to the account/);
    const stranger: RequestPrincipal = { type: 'User', arn: 'arn:aws:iam::444455556666:user/eve', account: '444455556666', username: 'eve' };
    const anything = [policy('identity', { Effect: 'Allow', Action: '*', Resource: '*' })];
    assert.equal(decide(req(stranger), { identity: anything, resource: [keyPolicy] }), 'ImplicitDeny');
    // The lower-level verdict KMS combines with grants itself:
    assert.deepEqual(evaluatePolicy(keyPolicy, req(alice)), { effect: 'Allow', statementId: 'Enable IAM User Permissions', principalMatch: 'account' });
    assert.deepEqual(evaluatePolicy(keyPolicy, req(stranger)), { effect: 'NotApplicable' });
  });

  it('a bucket policy requiring s3:x-amz-server-side-encryption = aws:kms', () => {
    const bucket = policy('resource', [
      {
        Sid: 'DenyIncorrectEncryptionHeader',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::amzn-s3-demo-bucket/*',
        Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
      },
      {
        Sid: 'DenyUnencryptedObjectUploads',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::amzn-s3-demo-bucket/*',
        Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
      },
    ]);
    const identity = [policy('identity', { Effect: 'Allow', Action: 's3:PutObject', Resource: '*' })];
    const put = (sse: ContextValue): string =>
      decide(request('s3:PutObject', 'arn:aws:s3:::amzn-s3-demo-bucket/data.csv', { 's3:x-amz-server-side-encryption': sse }), {
        identity,
        resource: [bucket],
      });
    assert.equal(put('aws:kms'), 'Allow');
    assert.equal(put('AES256'), 'ExplicitDeny');
    assert.equal(put(undefined), 'ExplicitDeny');
  });

  it('a bucket policy denying access except through one VPC endpoint (aws:SourceVpce)', () => {
    const bucket = policy('resource', {
      Sid: 'Access-to-specific-VPCE-only',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: ['arn:aws:s3:::amzn-s3-demo-bucket', 'arn:aws:s3:::amzn-s3-demo-bucket/*'],
      Condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } },
    });
    const identity = [policy('identity', { Effect: 'Allow', Action: 's3:*', Resource: '*' })];
    const get = (context: Record<string, ContextValue>): string =>
      decide(request('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/k', context), { identity, resource: [bucket] });
    assert.equal(get({ 'aws:SourceVpce': 'vpce-1a2b3c4d' }), 'Allow');
    assert.equal(get({ 'aws:SourceVpce': 'vpce-99999999' }), 'ExplicitDeny');
    assert.equal(get({}), 'ExplicitDeny', 'a request from outside any endpoint has no aws:SourceVpce');
  });

  it('rejects malformed documents from the policy grammar', () => {
    const bad = [
      '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject"}}',
      '{"Version":"2012-10-17","Statement":{"Effect":"Permit","Action":"s3:GetObject","Resource":"*"}}',
      '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}',
      '{"Version":"2012-10-17","Statment":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}',
    ];
    for (const json of bad) assert.throws(() => parsePolicy(json, 'identity'), MalformedPolicyDocumentError, json);
  });
});
