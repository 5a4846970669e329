import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloudTrailDate, iamRequestParameters, iamResponseElements, MAX_DOCUMENT_CHARS, MAX_LIST_MEMBER_CHARS, MAX_LIST_MEMBERS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, MAX_TEXT_CHARS } from './audit-params.js';
import { QueryParams } from './query.js';

const form = (fields: Record<string, string>): QueryParams => QueryParams.parse(new URLSearchParams(fields).toString(), '');

test('a row records the parameters it names, lower-camel-cased, and nothing else', () => {
  const params = form({ Action: 'CreateUser', Version: '2010-05-08', UserName: 'alice', Path: '/ml/', Unlisted: 'x' });
  assert.deepEqual(iamRequestParameters('iam', 'CreateUser', params), { userName: 'alice', path: '/ml/' });
});

test('integers become numbers, a non-integer stays text; documents are the decoded JSON text', () => {
  const doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}';
  const params = form({ RoleName: 'r', AssumeRolePolicyDocument: doc, MaxSessionDuration: '7200' });
  assert.deepEqual(iamRequestParameters('iam', 'CreateRole', params), { roleName: 'r', assumeRolePolicyDocument: doc, maxSessionDuration: 7200 });
  assert.deepEqual(iamRequestParameters('iam', 'ListUsers', form({ MaxItems: '12x' })), { maxItems: '12x' });
  assert.deepEqual(iamRequestParameters('iam', 'ListUsers', form({ MaxItems: '5', Marker: 'm' })), { maxItems: 5, marker: 'm' });
});

test('long values are bounded: a document past IAM\'s largest quota, any other text past an ARN\'s length', () => {
  const params = form({ UserName: 'u'.repeat(60_000), PolicyName: 'p', PolicyDocument: `{"a":"${'x'.repeat(60_000)}"}` });
  const out = iamRequestParameters('iam', 'PutUserPolicy', params) as Record<string, string>;
  assert.equal(out['userName']?.length, MAX_TEXT_CHARS + 3);
  assert.equal(out['policyDocument']?.length, MAX_DOCUMENT_CHARS + 3);
  assert.ok(out['policyDocument']?.endsWith('...'));
});

test('tags are recorded as [{key, value}] in member order, at most MAX_TAGS', () => {
  const fields: Record<string, string> = { UserName: 'u', 'Tags.member.2.Key': 'b', 'Tags.member.2.Value': '2', 'Tags.member.1.Key': 'a', 'Tags.member.1.Value': '1' };
  for (let n = 3; n <= MAX_TAGS + 5; n++) fields[`Tags.member.${n}.Key`] = `k${n}`;
  const tags = (iamRequestParameters('iam', 'CreateUser', form(fields)) as { tags: unknown[] }).tags;
  assert.equal(tags.length, MAX_TAGS);
  assert.deepEqual(tags.slice(0, 3), [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'k3' }]);
});

test("a tag's key and value are bounded at IAM's tag limits, so 50 tags stay a few KB", () => {
  const fields: Record<string, string> = { UserName: 'u' };
  for (let n = 1; n <= MAX_TAGS; n++) Object.assign(fields, { [`Tags.member.${n}.Key`]: 'k'.repeat(5000), [`Tags.member.${n}.Value`]: 'v'.repeat(5000) });
  const out = iamRequestParameters('iam', 'CreateUser', form(fields)) as { tags: Array<{ key: string; value: string }> };
  assert.equal(out.tags[0]?.key.length, MAX_TAG_KEY_CHARS + 3);
  assert.equal(out.tags[0]?.value.length, MAX_TAG_VALUE_CHARS + 3);
  assert.ok(JSON.stringify(out).length < 25_000, `${JSON.stringify(out).length} characters`);
});

test('no row or no named parameter: none (null in the record); rows are per service', () => {
  assert.equal(iamRequestParameters('sts', 'GetCallerIdentity', form({ Action: 'GetCallerIdentity' })), undefined);
  assert.equal(iamRequestParameters('iam', 'CreateAccessKey', form({ Action: 'CreateAccessKey' })), undefined);
  assert.equal(iamRequestParameters('iam', 'NoSuchAction', form({ UserName: 'u' })), undefined);
  assert.equal(iamRequestParameters('iam', 'AssumeRole', form({ RoleArn: 'arn:aws:iam::1:role/r' })), undefined);
  assert.equal(iamRequestParameters('iam', '__proto__', form({ UserName: 'u' })), undefined);
});

test('a create records its entity field by field; the access key secret is never copied', () => {
  const createdAt = new Date('2024-10-22T15:21:35.123Z');
  const key = { AccessKey: { UserName: 'u', AccessKeyId: 'AKIAEXAMPLE', Status: 'Active', CreateDate: createdAt, SecretAccessKey: 'SECRET-MARKER' } };
  const out = iamResponseElements('iam', 'CreateAccessKey', key);
  assert.deepEqual(out, { accessKey: { userName: 'u', accessKeyId: 'AKIAEXAMPLE', status: 'Active', createDate: 'Oct 22, 2024 3:21:35 PM' } });
  assert.ok(!JSON.stringify(out).includes('SECRET-MARKER'));
});

test('AssumeRole records the key id, expiry and assumed-role user, never the secret or the token', () => {
  const result = {
    Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'SECRET-MARKER', SessionToken: 'TOKEN-MARKER', Expiration: new Date('2020-03-05T00:44:19Z') },
    AssumedRoleUser: { AssumedRoleId: 'AROA:s', Arn: 'arn:aws:sts::1:assumed-role/r/s' },
  };
  assert.deepEqual(iamResponseElements('sts', 'AssumeRole', result), {
    credentials: { accessKeyId: 'ASIAEXAMPLE', expiration: 'Mar 5, 2020 12:44:19 AM' },
    assumedRoleUser: { assumedRoleId: 'AROA:s', arn: 'arn:aws:sts::1:assumed-role/r/s' },
  });
});

test('reads and non-create writes record no response; nor does a create whose answer lacks the element', () => {
  assert.equal(iamResponseElements('iam', 'GetUser', { User: { UserName: 'u' } }), undefined);
  assert.equal(iamResponseElements('iam', 'DeleteUser', undefined), undefined);
  assert.equal(iamResponseElements('sts', 'GetCallerIdentity', { UserId: 'x', Account: '1', Arn: 'a' }), undefined);
  assert.equal(iamResponseElements('iam', 'CreateUser', {}), undefined);
});

test('cloudTrailDate: 12-hour clock in UTC, midnight and noon as 12', () => {
  assert.equal(cloudTrailDate(new Date('2014-03-24T21:11:59Z')), 'Mar 24, 2014 9:11:59 PM');
  assert.equal(cloudTrailDate(new Date('2020-01-01T00:05:09Z')), 'Jan 1, 2020 12:05:09 AM');
  assert.equal(cloudTrailDate(new Date('2020-12-31T12:00:00Z')), 'Dec 31, 2020 12:00:00 PM');
});

test('booleans become true/false, anything else stays text; CreatePolicyVersion records the version, not its document', () => {
  const doc = '{"Version":"2012-10-17","Statement":[]}';
  assert.deepEqual(iamRequestParameters('iam', 'CreatePolicyVersion', form({ PolicyArn: 'arn:aws:iam::1:policy/p', PolicyDocument: doc, SetAsDefault: 'true' })), {
    policyArn: 'arn:aws:iam::1:policy/p',
    policyDocument: doc,
    setAsDefault: true,
  });
  assert.deepEqual(iamRequestParameters('iam', 'ListPolicies', form({ OnlyAttached: 'yes', Scope: 'Local' })), { onlyAttached: 'yes', scope: 'Local' });
  const version = { PolicyVersion: { Document: encodeURIComponent(doc), VersionId: 'v2', IsDefaultVersion: true, CreateDate: new Date('2024-01-02T03:04:05Z') } };
  assert.deepEqual(iamResponseElements('iam', 'CreatePolicyVersion', version), { policyVersion: { versionId: 'v2', isDefaultVersion: true, createDate: 'Jan 2, 2024 3:04:05 AM' } });
});

test("AssumeRole's MFA TokenCode is never recorded; its SerialNumber is", () => {
  const params = form({ RoleArn: 'arn:aws:iam::000000000000:role/r', RoleSessionName: 's', SerialNumber: 'arn:aws:iam::000000000000:mfa/u', TokenCode: '123456' });
  const out = iamRequestParameters('sts', 'AssumeRole', params);
  assert.deepEqual(out, { roleArn: 'arn:aws:iam::000000000000:role/r', roleSessionName: 's', serialNumber: 'arn:aws:iam::000000000000:mfa/u' });
  assert.ok(!JSON.stringify(out).includes('123456'));
});

test("UntagUser's tagKeys are bounded: at most MAX_LIST_MEMBERS keys, each at most MAX_LIST_MEMBER_CHARS", () => {
  const fields: Record<string, string> = { UserName: 'u' };
  for (let n = 1; n <= MAX_LIST_MEMBERS + 5; n++) fields[`TagKeys.member.${n}`] = n === 1 ? 'k'.repeat(5000) : `k${n}`;
  const keys = (iamRequestParameters('iam', 'UntagUser', form(fields)) as { tagKeys: string[] }).tagKeys;
  assert.equal(keys.length, MAX_LIST_MEMBERS);
  assert.ok((keys[0]?.length ?? 0) <= MAX_LIST_MEMBER_CHARS + 3 && (keys[0]?.length ?? 0) > MAX_LIST_MEMBER_CHARS, 'the long key is cut, marked');
  assert.equal(keys[1], 'k2');
  assert.equal(keys.at(-1), `k${MAX_LIST_MEMBERS}`);
});

test('the tag actions record the entity, TagUser/TagRole their tags, ListUserTags/ListRoleTags their page', () => {
  const tagged = { 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'ml' };
  assert.deepEqual(iamRequestParameters('iam', 'TagUser', form({ UserName: 'u', ...tagged })), { userName: 'u', tags: [{ key: 'team', value: 'ml' }] });
  assert.deepEqual(iamRequestParameters('iam', 'TagRole', form({ RoleName: 'r', ...tagged })), { roleName: 'r', tags: [{ key: 'team', value: 'ml' }] });
  assert.deepEqual(iamRequestParameters('iam', 'UntagUser', form({ UserName: 'u', 'TagKeys.member.1': 'team', 'TagKeys.member.2': 'cost' })), { userName: 'u', tagKeys: ['team', 'cost'] });
  assert.deepEqual(iamRequestParameters('iam', 'UntagRole', form({ RoleName: 'r', 'TagKeys.member.1': 'team' })), { roleName: 'r', tagKeys: ['team'] });
  assert.deepEqual(iamRequestParameters('iam', 'UntagRole', form({ RoleName: 'r' })), { roleName: 'r' }, 'no TagKeys sent, none recorded');
  assert.deepEqual(iamRequestParameters('iam', 'ListUserTags', form({ UserName: 'u', MaxItems: '2', Marker: 'm' })), { userName: 'u', maxItems: 2, marker: 'm' });
  assert.deepEqual(iamRequestParameters('iam', 'ListRoleTags', form({ RoleName: 'r' })), { roleName: 'r' });
});
