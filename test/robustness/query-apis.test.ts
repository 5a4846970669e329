import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, rawKmsRequest, type RawResponse } from '../helpers/signed-request.js';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { at, queryRequest, errorCode as queryErrorCode } from '../iam/query-client.js';
import { ec2, items } from '../volumes/ec2-raw.js';
import { robustSuite } from './harness.js';

const CLOUDTRAIL = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';

/** A signed form POST for `service` with exactly `body` (no Action added), answering status and text. */
async function signedForm(endpoint: string, service: string, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const headers = { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
  const signer = new SignatureV4({ credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }, region: TEST_REGION, service, sha256: NodeSha256 });
  const signed = await signer.sign({ method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers, body });
  const { host: _host, ...send } = signed.headers as Record<string, string>;
  const res = await fetch(new URL('/', endpoint), { method: 'POST', headers: send, body });
  return { status: res.status, text: await res.text() };
}

/**
 * Malformed requests to the Query and JSON surfaces besides KMS and S3: EC2 (volumes),
 * CloudTrail LookupEvents, IAM and STS. Each gets its AWS error code with a 4xx, nothing is
 * created by a refused call, and the server (and that surface) keeps serving.
 */
describe('EC2, CloudTrail, IAM and STS: malformed input', () => {
  const t = robustSuite(
    {},
    {
      async check() {
        assert.equal((await ec2(t.endpoint, 'DescribeVolumes')).status, 200, 'a normal EC2 call');
        assert.equal((await rawKmsRequest(t.endpoint, { target: `${CLOUDTRAIL}LookupEvents`, body: '{}', service: 'cloudtrail' })).status, 200, 'a normal CloudTrail call');
        assert.equal((await queryRequest(t.endpoint, 'iam', { Action: 'ListUsers' })).status, 200, 'a normal IAM call');
        assert.equal((await queryRequest(t.endpoint, 'sts', { Action: 'GetCallerIdentity' })).status, 200, 'a normal STS call');
      },
    },
  );

  it('EC2: a missing Action → MissingAction, an unknown one → InvalidAction, in the EC2 error document', async () => {
    const cases: Array<[string, string]> = [
      ['Version=2016-11-15', 'MissingAction'],
      ['Action=&Version=2016-11-15', 'MissingAction'],
      ['', 'MissingAction'],
      ['Action=LaunchMissiles&Version=2016-11-15', 'InvalidAction'],
      ['Action=__proto__&Version=2016-11-15', 'InvalidAction'],
      ['Action=constructor', 'InvalidAction'],
      ['Action=%ZZ%&Size=%', 'InvalidAction'],
    ];
    for (const [body, code] of cases) {
      const r = await signedForm(t.endpoint, 'ec2', body);
      assert.equal(r.status, 400, body);
      assert.match(r.text, new RegExp(`<Response><Errors><Error><Code>${code}</Code>`), body);
    }
  });

  it('EC2: bad parameter types and values → InvalidParameterValue / MissingParameter; no volume is created', async () => {
    const az = { AvailabilityZone: 'us-east-1a' };
    const cases: Array<[string, Record<string, string>, string]> = [
      ['CreateVolume', { ...az, Size: 'abc' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az, Size: '-5' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az, Size: '1.5' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az, Size: '0' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az, Size: '99999999999999999999' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az }, 'MissingParameter'],
      ['CreateVolume', { ...az, Size: '1', VolumeType: 'floppy' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az, Size: '1', Encrypted: 'maybe' }, 'InvalidParameterValue'],
      ['CreateVolume', { ...az, Size: '1', KmsKeyId: 'alias/none' }, 'InvalidKMSKey.NotFound'],
      ['DescribeVolumes', { MaxResults: 'abc' }, 'InvalidParameterValue'],
      ['DescribeVolumes', { MaxResults: '0' }, 'InvalidParameterValue'],
      ['DescribeVolumes', { NextToken: '!!!' }, 'InvalidParameterValue'],
      ['DescribeVolumes', { 'Filter.1.Name': 'bogus', 'Filter.1.Value.1': 'x' }, 'InvalidParameterValue'],
      ['DeleteVolume', {}, 'MissingParameter'],
      ['AttachVolume', { VolumeId: 'vol-0123456789abcdef0', InstanceId: 'i-123', Device: '/dev/sdf' }, 'InvalidParameterValue'],
      ['ModifyEbsDefaultKmsKeyId', { KmsKeyId: 'alias/none' }, 'InvalidKMSKey.NotFound'],
    ];
    for (const [action, params, code] of cases) {
      const r = await ec2(t.endpoint, action, params);
      assert.equal(`${r.status} ${r.code}`, `400 ${code}`, `${action} ${JSON.stringify(params)}`);
    }
    assert.deepEqual(items((await ec2(t.endpoint, 'DescribeVolumes')).body, 'volumeSet'), [], 'no refused CreateVolume made a volume');
  });

  it('EC2: unknown ids → InvalidVolume.NotFound / InvalidSnapshot.NotFound; malformed ones → InvalidVolumeID.Malformed / InvalidSnapshotID.Malformed', async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ['DescribeVolumes', { 'VolumeId.1': 'vol-0123456789abcdef0' }, 'InvalidVolume.NotFound'],
      ['DescribeVolumes', { 'VolumeId.1': 'vol-01234567' }, 'InvalidVolume.NotFound'],
      ['DescribeVolumes', { 'VolumeId.1': 'not-a-volume' }, 'InvalidVolumeID.Malformed'],
      ['DescribeVolumes', { 'VolumeId.1': 'vol-0123456789abcdef0', 'VolumeId.2': 'vol-XYZ' }, 'InvalidVolumeID.Malformed'],
      ['DeleteVolume', { VolumeId: 'vol-0123456789abcdef0' }, 'InvalidVolume.NotFound'],
      ['DeleteVolume', { VolumeId: '../../etc' }, 'InvalidVolumeID.Malformed'],
      ['DeleteVolume', { VolumeId: 'vol-0123456789abcdef01' }, 'InvalidVolumeID.Malformed'],
      ['DeleteVolume', { VolumeId: 'vol-0123456' }, 'InvalidVolumeID.Malformed'],
      ['DeleteVolume', { VolumeId: 'snap-0123456789abcdef0' }, 'InvalidVolumeID.Malformed'],
      ['DetachVolume', { VolumeId: 'vol-0123456789abcdef0' }, 'InvalidVolume.NotFound'],
      ['DetachVolume', { VolumeId: 'vol-../x' }, 'InvalidVolumeID.Malformed'],
      ['AttachVolume', { VolumeId: 'VOL-0123456789ABCDEF0', InstanceId: 'i-123', Device: '/dev/sdf' }, 'InvalidVolumeID.Malformed'],
      ['CreateSnapshot', { VolumeId: 'vol-0123456789abcdef0' }, 'InvalidVolume.NotFound'],
      ['CreateSnapshot', { VolumeId: 'x' }, 'InvalidVolumeID.Malformed'],
      ['DeleteSnapshot', { SnapshotId: 'snap-0123456789abcdef0' }, 'InvalidSnapshot.NotFound'],
      ['DeleteSnapshot', { SnapshotId: 'xyz' }, 'InvalidSnapshotID.Malformed'],
      ['DescribeSnapshots', { 'SnapshotId.1': 'snap-0123456789abcdef0' }, 'InvalidSnapshot.NotFound'],
      ['DescribeSnapshots', { 'SnapshotId.1': 'vol-0123456789abcdef0' }, 'InvalidSnapshotID.Malformed'],
      ['CopySnapshot', { SourceSnapshotId: 'snap-', SourceRegion: 'us-east-1' }, 'InvalidSnapshotID.Malformed'],
      ['CreateVolume', { SnapshotId: 'snap-0123456789abcdef0', AvailabilityZone: 'us-east-1a' }, 'InvalidSnapshot.NotFound'],
      ['CreateVolume', { SnapshotId: 'snap-zzzzzzzz', AvailabilityZone: 'us-east-1a' }, 'InvalidSnapshotID.Malformed'],
    ];
    for (const [action, params, code] of cases) {
      const r = await ec2(t.endpoint, action, params);
      assert.equal(`${r.status} ${r.code}`, `400 ${code}`, `${action} ${JSON.stringify(params)}`);
    }
    assert.deepEqual(items((await ec2(t.endpoint, 'DescribeVolumes')).body, 'volumeSet'), [], 'no refused CreateVolume made a volume');
  });

  it('CloudTrail LookupEvents: malformed JSON, lookup attributes, time ranges, MaxResults and tokens → its exceptions', async () => {
    const lookup = (body: string, target = `${CLOUDTRAIL}LookupEvents`): Promise<RawResponse> => rawKmsRequest(t.endpoint, { target, body, service: 'cloudtrail' });
    const cases: Array<[string, string]> = [
      ['{', 'SerializationException'],
      ['[1]', 'SerializationException'],
      ['"x"', 'SerializationException'],
      // A member of the wrong JSON type is a deserialization failure: SerializationException, as
      // the KMS wire answers it (evidence in test/kms/wire-types.test.ts).
      ['{"LookupAttributes":{}}', 'SerializationException'],
      ['{"LookupAttributes":["x"]}', 'SerializationException'],
      ['{"LookupAttributes":[{"AttributeKey":"Foo","AttributeValue":"x"}]}', 'InvalidLookupAttributesException'],
      ['{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":5}]}', 'SerializationException'],
      ['{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":""}]}', 'InvalidLookupAttributesException'],
      ['{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"EventName","AttributeValue":"b"}]}', 'InvalidLookupAttributesException'],
      ['{"StartTime":2000000000,"EndTime":1000000000}', 'InvalidTimeRangeException'],
      ['{"StartTime":"yesterday"}', 'InvalidTimeRangeException'],
      ['{"StartTime":{}}', 'SerializationException'],
      ['{"StartTime":1e300}', 'InvalidTimeRangeException'],
      ['{"EndTime":"2024-13-45T99:99:99Z"}', 'InvalidTimeRangeException'],
      ['{"MaxResults":0}', 'InvalidMaxResultsException'],
      ['{"MaxResults":51}', 'InvalidMaxResultsException'],
      ['{"MaxResults":"10"}', 'SerializationException'],
      ['{"MaxResults":1.5}', 'InvalidMaxResultsException'],
      ['{"NextToken":"!!!garbage"}', 'InvalidNextTokenException'],
      ['{"NextToken":5}', 'SerializationException'],
      [`{"NextToken":"${Buffer.from('{"a":1}').toString('base64')}"}`, 'InvalidNextTokenException'],
      ['{"EventCategory":"x"}', 'InvalidEventCategoryException'],
      [`{"LookupAttributes":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 'SerializationException'],
    ];
    for (const [body, code] of cases) {
      const r = await lookup(body);
      assert.equal(`${r.status} ${r.json.__type}`, `400 ${code}`, body.slice(0, 80));
    }
    // Unknown members are ignored (as AWS's JSON services do), however deep they nest.
    assert.equal((await lookup(`{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)).status, 200);
    const big = await lookup(JSON.stringify({ Padding: 'p'.repeat(70_000) }));
    assert.equal(`${big.status} ${big.json.__type}`, '400 ValidationException', 'a body over 64 KiB');
    for (const target of [`${CLOUDTRAIL}CreateTrail`, 'LookupEvents', `${CLOUDTRAIL}__proto__`]) {
      const r = await lookup('{}', target);
      assert.equal(`${r.status} ${r.json.__type}`, '400 UnknownOperationException', target);
    }
  });

  it('STS AssumeRole: bad durations and session names → ValidationError; session policies and tags are refused, never ignored', async () => {
    const iam = (params: Record<string, string>): ReturnType<typeof queryRequest> => queryRequest(t.endpoint, 'iam', params);
    assert.equal((await iam({ Action: 'CreateUser', UserName: 'assumer' })).status, 200);
    const key = await iam({ Action: 'CreateAccessKey', UserName: 'assumer' });
    const path = ['CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey'];
    const creds = { accessKeyId: at(key.xml, ...path, 'AccessKeyId'), secretAccessKey: at(key.xml, ...path, 'SecretAccessKey') };
    const allow = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] });
    assert.equal((await iam({ Action: 'PutUserPolicy', UserName: 'assumer', PolicyName: 'assume', PolicyDocument: allow })).status, 200);
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:user/assumer' }, Action: 'sts:AssumeRole' }] });
    assert.equal((await iam({ Action: 'CreateRole', RoleName: 'target', AssumeRolePolicyDocument: trust })).status, 200);
    const base = { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/target', RoleSessionName: 'robust' };
    const cases: Array<[Record<string, string>, string]> = [
      [{ DurationSeconds: 'abc' }, '400 ValidationError'],
      [{ DurationSeconds: '1' }, '400 ValidationError'],
      [{ DurationSeconds: '99999999999999' }, '400 ValidationError'],
      [{ RoleSessionName: 'bad name!' }, '400 ValidationError'],
      [{ RoleSessionName: 'a'.repeat(100) }, '400 ValidationError'],
      // STS validates RoleArn's length (20 to 2048) before it authorizes: 400 ValidationError "… at
      // 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
      // (newscorpaus/consigliere#18, mmmorris1975/aws-runas#80), not AccessDenied.
      [{ RoleArn: 'nope' }, '400 ValidationError'],
      // A scope-down session policy that were ignored would hand out the role's full permissions.
      [{ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] }) }, '400 ValidationError'],
      [{ Policy: '{' }, '400 ValidationError'],
      [{ 'PolicyArns.member.1.arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, '400 ValidationError'],
      [{ 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'ml' }, '400 ValidationError'],
      // A list need not start at member 1.
      [{ 'PolicyArns.member.2.arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, '400 ValidationError'],
      [{ 'Tags.member.3.Value': 'ml' }, '400 ValidationError'],
      [{ 'TransitiveTagKeys.member.2': 'team' }, '400 ValidationError'],
    ];
    for (const [params, expected] of cases) {
      const r = await queryRequest(t.endpoint, 'sts', { ...base, ...params }, creds);
      assert.equal(`${r.status} ${queryErrorCode(r)}`, expected, JSON.stringify(params).slice(0, 100));
      assert.ok(!r.text.includes('<SecretAccessKey>'), 'a refused AssumeRole hands out no credentials');
    }
    assert.equal((await queryRequest(t.endpoint, 'sts', base, creds)).status, 200, 'the plain AssumeRole works');
  });

  it('IAM and STS: missing or unknown actions, bad names, bad policies, bad durations → their Query errors; nothing is created', async () => {
    assert.equal((await queryRequest(t.endpoint, 'iam', { Action: 'CreateUser', UserName: 'robust' })).status, 200);
    const cases: Array<['iam' | 'sts', Record<string, string>, string]> = [
      ['iam', {}, '400 InvalidAction'],
      ['iam', { Action: 'LaunchMissiles' }, '400 InvalidAction'],
      ['iam', { Action: '__proto__' }, '400 InvalidAction'],
      ['iam', { Action: 'CreateUser', UserName: 'bad name!' }, '400 ValidationError'],
      ['iam', { Action: 'CreateUser', UserName: 'a'.repeat(200) }, '400 ValidationError'],
      ['iam', { Action: 'GetUser', UserName: 'nobody' }, '404 NoSuchEntity'],
      ['iam', { Action: 'PutUserPolicy', UserName: 'robust', PolicyName: 'p', PolicyDocument: '{' }, '400 MalformedPolicyDocument'],
      ['iam', { Action: 'PutUserPolicy', UserName: 'robust', PolicyName: 'p', PolicyDocument: '[]' }, '400 MalformedPolicyDocument'],
      ['iam', { Action: 'PutUserPolicy', UserName: 'robust', PolicyName: 'p', PolicyDocument: `{"Version":"2012-10-17","Statement":${'['.repeat(900)}${']'.repeat(900)}}` }, '400 MalformedPolicyDocument'],
      ['iam', { Action: 'CreateRole', RoleName: 'r', AssumeRolePolicyDocument: '{' }, '400 MalformedPolicyDocument'],
      ['iam', { Action: 'CreateRole', RoleName: 'r', AssumeRolePolicyDocument: `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3001)}` }, '400 MalformedPolicyDocument'],
      ['iam', { Action: 'ListUsers', MaxItems: 'abc' }, '400 ValidationError'],
      ['iam', { Action: 'ListUsers', MaxItems: '0' }, '400 ValidationError'],
      ['iam', { Action: 'ListUsers', MaxItems: '1001' }, '400 ValidationError'],
      ['iam', { Action: 'ListAccessKeys', UserName: 'robust', MaxItems: '-1' }, '400 ValidationError'],
      ['iam', { Action: 'ListAttachedUserPolicies', UserName: 'robust', MaxItems: '1.5' }, '400 ValidationError'],
      ['sts', {}, '400 InvalidAction'],
      ['sts', { Action: 'Frob' }, '400 InvalidAction'],
      ['sts', { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::000000000000:role/x', RoleSessionName: 's', DurationSeconds: 'abc' }, '400 ValidationError'],
    ];
    for (const [service, params, expected] of cases) {
      const r = await queryRequest(t.endpoint, service, params);
      assert.equal(`${r.status} ${queryErrorCode(r)}`, expected, `${service} ${JSON.stringify(params).slice(0, 100)}`);
    }
    assert.equal((await queryRequest(t.endpoint, 'iam', { Action: 'ListUsers', MaxItems: '1000' })).status, 200, 'MaxItems in range');
    const users = await queryRequest(t.endpoint, 'iam', { Action: 'ListUsers' });
    assert.ok(!users.text.includes('bad name') && !users.text.includes('aaaaaaaaaa'), 'no refused user was created');
    const roles = await queryRequest(t.endpoint, 'iam', { Action: 'ListRoles' });
    assert.ok(!/<RoleName>r<\/RoleName>/.test(roles.text), 'no refused role was created');
  });

  it('EC2, IAM and STS: a caller value quoted in an error message is cut to 256 characters and an ellipsis', async () => {
    const long = (c: string): string => c.repeat(60_000);
    const ec2Cases: Array<[string, Record<string, string>, string, string]> = [
      ['DeleteVolume', { VolumeId: long('v') }, 'InvalidVolumeID.Malformed', `Invalid id: "${'v'.repeat(256)}..."`],
      ['DescribeVolumes', { 'VolumeId.1': `vol-${long('z')}` }, 'InvalidVolumeID.Malformed', `Invalid id: "vol-${'z'.repeat(252)}..."`],
      ['DeleteSnapshot', { SnapshotId: long('s') }, 'InvalidSnapshotID.Malformed', `Invalid id: "${'s'.repeat(256)}..."`],
      ['CreateVolume', { AvailabilityZone: 'us-east-1a', Size: long('9') + 'x' }, 'InvalidParameterValue', `Value (${'9'.repeat(256)}...) for parameter Size`],
      ['CreateVolume', { AvailabilityZone: 'us-east-1a', Size: '1', Encrypted: long('e') }, 'InvalidParameterValue', `Value (${'e'.repeat(256)}...) for parameter Encrypted`],
      ['CreateVolume', { AvailabilityZone: 'us-east-1a', Size: '1', 'TagSpecification.1.ResourceType': long('t') }, 'InvalidParameterValue', `'${'t'.repeat(256)}...' is not`],
    ];
    for (const [action, params, code, quoted] of ec2Cases) {
      const r = await ec2(t.endpoint, action, params);
      assert.equal(`${r.status} ${r.code}`, `400 ${code}`, action);
      assert.ok(r.message?.includes(quoted), `${action}: the message quotes the value's start and an ellipsis`);
      assert.ok(r.text.length < 2048, `${action}: the error body stays small (${r.text.length} bytes)`);
    }
    const queryCases: Array<['iam' | 'sts', Record<string, string>, string, string]> = [
      ['iam', { Action: long('A') }, '400 InvalidAction', `Could not find operation ${'A'.repeat(256)}...`],
      ['iam', { Action: 'GetUser', UserName: long('u') }, '404 NoSuchEntity', `The user with name ${'u'.repeat(256)}...`],
      ['iam', { Action: 'GetRole', RoleName: long('r') }, '404 NoSuchEntity', `The role with name ${'r'.repeat(256)}...`],
      ['iam', { Action: 'ListUsers', MaxItems: long('1') }, '400 ValidationError', `Invalid value for parameter MaxItems: ${'1'.repeat(256)}...`],
      // Over arnType's 2048 characters: the model's length constraint (ValidationError), as IAM answers.
      ['iam', { Action: 'AttachUserPolicy', UserName: 'robust', PolicyArn: long('p') }, '400 ValidationError', `Value '${'p'.repeat(256)}...' at 'policyArn'`],
      // Within the length but not a policy ARN: InvalidInput "ARN … is not valid.", as IAM answers (policyArnParam).
      ['iam', { Action: 'AttachUserPolicy', UserName: 'robust', PolicyArn: `arn:aws:iam::aws:policy/${'p'.repeat(2000)}` }, '400 InvalidInput', `ARN arn:aws:iam::aws:policy/${'p'.repeat(232)}...`],
      ['iam', { Action: 'UpdateAccessKey', UserName: 'robust', AccessKeyId: long('K'), Status: 'Active' }, '404 NoSuchEntity', `${'K'.repeat(256)}...`],
      // Tag keys and values over tagKeyType's 128 and tagValueType's 256 characters: ValidationError quoting their start only.
      ['iam', { Action: 'TagUser', UserName: 'robust', 'Tags.member.1.Key': long('k'), 'Tags.member.1.Value': 'v' }, '400 ValidationError', `Value '${'k'.repeat(256)}...' at 'tags.1.member.key'`],
      ['iam', { Action: 'TagRole', RoleName: 'robust', 'Tags.member.1.Key': 'k', 'Tags.member.1.Value': long('w') }, '400 ValidationError', `Value '${'w'.repeat(256)}...' at 'tags.1.member.value'`],
      ['iam', { Action: 'UntagUser', UserName: 'robust', 'TagKeys.member.1': long('x') }, '400 ValidationError', `Value '${'x'.repeat(256)}...' at 'tagKeys.1.member'`],
    ];
    for (const [service, params, expected, quoted] of queryCases) {
      const r = await queryRequest(t.endpoint, service, params);
      assert.equal(`${r.status} ${queryErrorCode(r)}`, expected, `${service} ${Object.keys(params).join(',')}`);
      assert.ok(at(r.xml, 'ErrorResponse', 'Error', 'Message').includes(quoted), `${service} ${params.Action?.slice(0, 20)}: the message quotes the value's start and an ellipsis`);
      assert.ok(r.text.length < 2048, `${service} ${params.Action?.slice(0, 20)}: the error body stays small (${r.text.length} bytes)`);
    }
  });

  it('EC2 and IAM: an operation message quoting several or unchecked values is cut to 1024 characters on the wire', async () => {
    const long = 'q'.repeat(60_000);
    const ec2Cases: Array<[string, Record<string, string>]> = [
      ['DescribeVolumes', { 'Filter.1.Name': long, 'Filter.1.Value.1': 'x' }],
      ['CreateVolume', { AvailabilityZone: 'us-east-1a', Size: '1', VolumeType: long }],
    ];
    for (const [action, params] of ec2Cases) {
      const r = await ec2(t.endpoint, action, params);
      assert.equal(`${r.status} ${r.code}`, '400 InvalidParameterValue', action);
      assert.equal(r.message?.length, 1024 + 3, `${action}: the message is cut to 1024 characters and an ellipsis`);
    }
    const principal = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { [long.slice(0, 1900)]: 'x' }, Action: 'sts:AssumeRole' }] });
    const r = await queryRequest(t.endpoint, 'iam', { Action: 'CreateRole', RoleName: 'long-principal', AssumeRolePolicyDocument: principal });
    assert.equal(`${r.status} ${queryErrorCode(r)}`, '400 MalformedPolicyDocument');
    const message = at(r.xml, 'ErrorResponse', 'Error', 'Message');
    assert.ok(message.length <= 1024 + 3 && message.endsWith('...'), `IAM: the message is cut (${message.length} characters)`);
  });
});
