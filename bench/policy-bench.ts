/**
 * Policy evaluation cost: µs per decision for a realistic policy set — five identity
 * statements, a bucket policy with conditions (TLS only, SSE-KMS required, one VPC
 * endpoint), and an endpoint policy. Prints a table; asserts nothing about speed.
 *
 * Run: node --import tsx bench/policy-bench.ts
 */
import { performance } from 'node:perf_hooks';
import { evaluatePolicies, evaluatePolicy, parsePolicy } from '../src/iam/policy/index.js';
import type { PolicySet, RequestContext } from '../src/iam/policy/index.js';

const ACCOUNT = '111122223333';
const BUCKET = 'arn:aws:s3:::ml-datasets';

const identityJson = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'ListOwnPrefix', Effect: 'Allow', Action: 's3:ListBucket', Resource: BUCKET, Condition: { StringLike: { 's3:prefix': ['', 'home/', 'home/${aws:username}/*'] } } },
    { Sid: 'RwOwnObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `${BUCKET}/home/\${aws:username}/*` },
    { Sid: 'ReadShared', Effect: 'Allow', Action: 's3:GetObject*', Resource: `${BUCKET}/shared/*` },
    { Sid: 'UseDataKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`, Condition: { 'ForAnyValue:StringLike': { 'kms:EncryptionContextKeys': 'aws:s3:*' } } },
    { Sid: 'NoDeleteShared', Effect: 'Deny', Action: 's3:Delete*', Resource: `${BUCKET}/shared/*` },
  ],
});

const bucketJson = JSON.stringify({
  Version: '2012-10-17',
  Id: 'ml-datasets-policy',
  Statement: [
    { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [BUCKET, `${BUCKET}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    { Sid: 'SseKmsOnly', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${BUCKET}/*`, Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } } },
    { Sid: 'ViaEndpoint', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [BUCKET, `${BUCKET}/*`], Condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } } },
    { Sid: 'TeamRead', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 's3:GetObject', Resource: `${BUCKET}/*`, Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } } },
  ],
});

const endpointJson = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 'kms:*'], Resource: '*' }],
});

const policies: PolicySet = {
  identity: [parsePolicy(identityJson, 'identity')],
  resource: [parsePolicy(bucketJson, 'resource')],
  endpoint: [parsePolicy(endpointJson, 'endpoint')],
};

const base: RequestContext = {
  principal: { type: 'User', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, account: ACCOUNT, username: 'alice', userid: 'AIDAALICE' },
  action: 's3:PutObject',
  resource: `${BUCKET}/home/alice/shard-0001.parquet`,
  resourceAccount: ACCOUNT,
  context: {
    'aws:SecureTransport': 'true',
    'aws:SourceVpce': 'vpce-1a2b3c4d',
    'aws:SourceIp': '10.1.2.3',
    's3:x-amz-server-side-encryption': 'aws:kms',
  },
  time: new Date('2026-01-01T00:00:00Z'),
};

const scenarios: Array<[string, RequestContext]> = [
  ['PutObject own prefix → Allow', base],
  ['GetObject shared → Allow', { ...base, action: 's3:GetObject', resource: `${BUCKET}/shared/labels.csv` }],
  ['DeleteObject shared → ExplicitDeny', { ...base, action: 's3:DeleteObject', resource: `${BUCKET}/shared/labels.csv` }],
  ['PutObject no TLS → ExplicitDeny', { ...base, context: { ...base.context, 'aws:SecureTransport': 'false' } }],
  ['GetObject other user → ImplicitDeny', { ...base, action: 's3:GetObject', resource: `${BUCKET}/home/bob/x`, context: { ...base.context, 'aws:SourceIp': '192.0.2.1' } }],
];

function measure(fn: () => unknown, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i += 1) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i += 1) fn();
  return ((performance.now() - start) * 1000) / iterations;
}

const rows: Array<[string, string, number]> = [];
for (const [name, request] of scenarios) {
  const decision = evaluatePolicies(request, policies).decision;
  rows.push([`evaluatePolicies: ${name}`, decision, measure(() => evaluatePolicies(request, policies), 200_000)]);
}
const keyPolicy = parsePolicy(bucketJson, 'resource');
rows.push(['evaluatePolicy: bucket policy alone', evaluatePolicy(keyPolicy, base).effect, measure(() => evaluatePolicy(keyPolicy, base), 200_000)]);
rows.push(['parsePolicy: bucket policy (4 statements)', '-', measure(() => parsePolicy(bucketJson, 'resource'), 50_000)]);
rows.push(['parsePolicy: identity policy (5 statements)', '-', measure(() => parsePolicy(identityJson, 'identity'), 50_000)]);

const width = Math.max(...rows.map(([n]) => n.length));
console.log(`${'case'.padEnd(width)}  ${'result'.padEnd(13)}  µs/op`);
console.log(`${'-'.repeat(width)}  ${'-'.repeat(13)}  -----`);
for (const [name, result, us] of rows) console.log(`${name.padEnd(width)}  ${result.padEnd(13)}  ${us.toFixed(2)}`);
console.log(`\nnode ${process.version}, ${process.arch}`);
