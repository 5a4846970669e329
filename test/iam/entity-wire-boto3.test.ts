import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { boto3Suite } from '../helpers/boto3-suite.js';
import { RealTimeClock } from '../helpers/server.js';

const SCRIPT = fileURLToPath(new URL('./entity-wire-boto3.py', import.meta.url));
const ACCOUNT = '000000000000';

/**
 * boto3 (Debian python3-boto3) driving IAM's user and role answers (src/iam/wire/routes-iam.ts):
 * Attach/Detach User and Role policies with a PolicyArn that is not a policy ARN (InvalidInput, as
 * IAM answers GetPolicy's), ListAttached…Policies' PathPrefix (policyPathType in botocore's iam
 * model), and tags on users and roles (their limits and errors as botocore's model and IAM's
 * Tagging IAM resources guide give them; the duplicate-key wording as IAM answers it).
 */
describe('boto3 against Cipherlake IAM user and role answers', () => {
  const section = boto3Suite(SCRIPT, { prefix: 'cipherlake-iam-entity-wire-', clock: new RealTimeClock() });
  const invalidInput = ['InvalidInput', 400, true];

  it('Attach/Detach User and Role policies: a PolicyArn that is not a policy ARN is InvalidInput "ARN … is not valid.", and nothing is attached', async () => {
    const out = await section('attach');
    assert.deepEqual(out.attach, Array(6).fill(invalidInput));
    assert.deepEqual(out.detach, Array(6).fill(invalidInput));
    assert.equal(out.message, `ARN arn:aws:iam::${ACCOUNT}:user/wire-user is not valid.`);
    assert.deepEqual(out.attached, [[], []]);
    assert.deepEqual(out.wellFormed, [['NoSuchEntity', 404, true], ['NoSuchEntity', 404, true]]);
  });

  it('ListAttachedUserPolicies / ListAttachedRolePolicies: PathPrefix filters by the policy path; one not of policyPathType is ValidationError', async () => {
    const out = await section('paths');
    assert.deepEqual(out.filtered, [['path-a', 'path-b'], ['path-a'], ['path-a', 'path-b', 'path-c'], ['path-a', 'path-b', 'path-c']]);
    assert.deepEqual(out.invalid, Array(6).fill(['ValidationError', 400, true]));
    assert.equal(
      out.message,
      "1 validation error detected: Value '/team#/' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
    );
  });
  it('tags on users and roles: stored by CreateUser/CreateRole, answered by GetUser/GetRole and ListUserTags/ListRoleTags, changed by Tag/Untag (keys case-insensitive); IAM limits and errors, a refused call changing nothing', async () => {
    const out = await section('tags');
    const user = [['team', 'vision'], ['Cost Center_é.:/=+-@', '']];
    assert.deepEqual(out.created, [user, [['env', 'dev']]]);
    assert.deepEqual(out.got, [user, [['env', 'dev']]]);
    assert.deepEqual(out.none, [false, [], false], 'no Tags element for none; ListUserTags answers []; ListUsers lists no Tags');
    assert.deepEqual(out.tagged, [[['Cost Center_é.:/=+-@', ''], ['owner', 'ana'], ['team', 'nlp']], [['env', 'dev'], ['tier', 'gold']]], 'TEAM overwrote team, which kept its spelling');
    assert.deepEqual(out.untagged, [[['Cost Center_é.:/=+-@', ''], ['team', 'nlp']], [['tier', 'gold']]]);
    assert.deepEqual(out.paged, [1, true, 1, false]);
    const validation = ['ValidationError', 400, true];
    assert.deepEqual(out.errors, {
      tooManyInRequest: validation,
      overQuota: ['LimitExceeded', 409, true],
      overQuotaMessage: 'Cannot exceed quota for TagsPerRole: 50',
      retagAtQuota: 'no error',
      keyTooLong: validation,
      valueTooLong: validation,
      badChar: "1 validation error detected: Value 'cost#center' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
      badValueChar: validation,
      duplicate: invalidInput,
      duplicateMessage: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      awsPrefix: invalidInput,
      untagTooMany: validation,
      noUser: ['NoSuchEntity', 404, true],
      noRole: ['NoSuchEntity', 404, true],
      noUntag: ['NoSuchEntity', 404, true],
    });
    assert.deepEqual(out.unchanged, [[['Cost Center_é.:/=+-@', ''], ['team', 'nlp']], 50, [['tier', 'gold']], ['NoSuchEntity', 404, true], ['NoSuchEntity', 404, true]]);
  });

  it('iam:TagUser, UntagUser, ListUserTags and CreateUser are authorized on the user with aws:ResourceTag / iam:ResourceTag, aws:RequestTag and aws:TagKeys; TagUser is audited with its tags and UntagUser with its tagKeys, denied or not', async () => {
    const out = await section('tag-access');
    const denied = ['AccessDenied', 403, true];
    assert.deepEqual(out.resourceTag, ['no error', denied, 'no error', denied, denied], 'allowed only on the user tagged team=ml (the key compared case-insensitively)');
    assert.deepEqual(out.tagKeys, denied, 'a tag key other than project is denied by aws:TagKeys');
    assert.deepEqual(out.untag, ['no error', denied], 'iam:ResourceTag/Team');
    assert.deepEqual(out.requestTag, ['no error', denied, denied], 'aws:RequestTag/cost-center must be 42');
    assert.deepEqual(out.after, [[['Team', 'ml']], [['Team', 'web']]], 'project was added to acc-a then removed; acc-b never changed');
    assert.deepEqual(out.audited, [
      ['acc-a', 'AccessDenied', [{ key: 'other', value: 'x' }]],
      ['acc-a', 'ok', [{ key: 'project', value: 'p1' }]],
      ['acc-b', 'AccessDenied', [{ key: 'project', value: 'p1' }]],
    ]);
    assert.deepEqual(out.auditedUntag, [['acc-a', 'ok', ['project']], ['acc-b', 'AccessDenied', ['Team']]], 'UntagUser is audited with the keys it removes (tagKeys), denied or not');
  });

  it('a Deny on aws:ResourceTag / iam:ResourceTag of a user or role applies to every action on it, AssumeRole included; untagging or retagging (in any case) cannot lift it', async () => {
    const out = await section('tag-deny');
    const denied = ['AccessDenied', 403, true];
    assert.deepEqual(out.locked, [denied, denied, denied, denied], 'GetUser, UntagUser, TagUser and DeleteUser (its name in another case) on the user tagged LOCKED=true');
    assert.deepEqual(out.open, ['no error', 'no error']);
    assert.deepEqual(out.lockedAfterTag, ['no error', denied], 'once tagged LOCKED=true (stored as locked=true), the user cannot be untagged');
    assert.deepEqual(out.assume, [denied, 'no error'], 'AssumeRole is denied on the role tagged Tier=prod (iam:ResourceTag/tier), not on the one tagged Tier=dev');
    assert.deepEqual(out.after, [[{ Key: 'LOCKED', Value: 'true' }], [['locked', 'true'], ['x', 'y']]]);
  });
});
