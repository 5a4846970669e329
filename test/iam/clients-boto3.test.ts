import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { boto3Suite } from '../helpers/boto3-suite.js';
import { RealTimeClock } from '../helpers/server.js';

const SCRIPT = fileURLToPath(new URL('./clients-boto3.py', import.meta.url));
const ACCOUNT = '000000000000';

/**
 * boto3 (Debian python3-boto3) driving every IAM and STS action Cipherlake serves
 * (src/iam/wire/routes-iam.ts, routes-sts.ts) and CloudTrail's LookupEvents (src/audit/wire):
 * users, access keys, roles, managed and inline policies, AssumeRole with the temporary
 * credentials used against KMS and S3, GetCallerIdentity for a user, a role session and the
 * root, lookup_events by each attribute and time window, boto3's list_users, list_roles and lookup_events
 * paginators, and the error codes and statuses boto3 exposes.
 */
describe('boto3 against Cipherlake IAM, STS and CloudTrail', () => {
  const section = boto3Suite(SCRIPT, { prefix: 'cipherlake-iam-boto3-', clock: new RealTimeClock() });

  it('users and access keys: Create/Get/List/DeleteUser (with a Path), Create/List/Update/DeleteAccessKey, Put/Get/DeleteUserPolicy, self-service by the ARN with its path', async () => {
    const out = await section('users');
    const alice = `arn:aws:iam::${ACCOUNT}:user/ml/boto3-alice`;
    assert.deepEqual(out.create, { name: 'boto3-alice', path: '/ml/', arn: alice, id: true, created: true });
    assert.deepEqual(out.get, [true, alice]);
    assert.deepEqual(out.root, [`arn:aws:iam::${ACCOUNT}:root`, `arn:aws:iam::${ACCOUNT}:root`]);
    assert.deepEqual(out.byPath, ['boto3-alice']);
    assert.deepEqual(out.all, ['boto3-alice', 'boto3-bob']);
    assert.deepEqual(out.key, { id: true, secret: true, status: 'Active', user: 'boto3-alice', created: true });
    assert.deepEqual(out.listKeys, [[[true, 'Active', 'boto3-alice']], false]);
    assert.deepEqual(out.inline, ['boto3-alice', 'self', true]);
    // Her policy names her ARN with its path: IAM authorizes against that ARN.
    assert.deepEqual(out.self, { getUser: 'boto3-alice', keys: [true] });
    assert.deepEqual(out.identity, [alice, ACCOUNT, true]);
    // bob's policy names user/boto3-alice without her path: it is not her ARN, so it does not allow.
    assert.deepEqual(out.pathless, ['AccessDenied', 403, true]);
    assert.deepEqual(out.inactive, ['Inactive', ['InvalidClientTokenId', 403, true]]);
    assert.deepEqual(out.conflict, ['DeleteConflict', 409, true]);
    assert.deepEqual(out.deleted, [['NoSuchEntity', 404, true], ['boto3-bob']]);
  });

  it('roles and policies: Create/Get/DeleteRole, Create/Get/DeletePolicy, Attach/Detach/ListAttached User and Role policies, Put/Get/DeleteRolePolicy', async () => {
    const out = await section('roles-policies');
    assert.deepEqual(out.create, {
      name: 'boto3-trainer', path: '/ml/', arn: `arn:aws:iam::${ACCOUNT}:role/ml/boto3-trainer`, id: true, trust: true, description: 'trains models', max: 7200, created: true,
    });
    assert.deepEqual(out.get, [true, true, 'trains models']);
    assert.deepEqual(out.policy, { arn: `arn:aws:iam::${ACCOUNT}:policy/ml/boto3-kms`, id: true, version: 'v1', attachable: true, count: 0, created: true });
    assert.deepEqual(out.attached, {
      count: 2, description: 'encrypt and decrypt', user: [['boto3-kms', true]], role: [['boto3-kms', true]], deletePolicy: ['DeleteConflict', 409, true],
    });
    assert.deepEqual(out.rolePolicy, ['boto3-trainer', 'read', true, ['DeleteConflict', 409, true]]);
    assert.deepEqual(out.detached, [[], [], 0]);
    assert.deepEqual(out.deleted, [['NoSuchEntity', 404, true], ['NoSuchEntity', 404, true], ['NoSuchEntity', 404, true]]);
  });

  it('AssumeRole: temporary credentials with the session token work against KMS and S3 within the role policy; GetCallerIdentity names the session; refusals', async () => {
    const out = await section('assume-role');
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/boto3-worker/nightly-train`;
    assert.deepEqual(out.assume, { key: true, secret: true, token: true, expires: true, arn: session, roleId: true });
    assert.deepEqual(out.identity, [session, ACCOUNT, true]);
    assert.deepEqual(out.used, {
      decrypt: 'weights', get: 'model bytes', sse: ['aws:kms', true],
      otherKey: ['AccessDeniedException', 400, true], iam: ['AccessDenied', 403, true], listBucket: ['AccessDenied', 403, true],
    });
    assert.deepEqual(out.refused, {
      noToken: ['InvalidClientTokenId', 403, true],
      forgedToken: ['UnrecognizedClientException', 400, true],
      // Allowed sts:AssumeRole by its identity policy, but not named by the trust policy.
      notTrusted: ['AccessDenied', 403, true],
      root: ['AccessDenied', 403, true],
      missingRole: ['AccessDenied', 403, true],
      tooLong: ['ValidationError', 400, true],
      badSession: ['ValidationError', 400, true],
    });
    assert.deepEqual(out.trust, {
      // A trust policy naming the account needs an identity allow as well.
      accountNoPolicy: ['AccessDenied', 403, true],
      accountWithPolicy: `arn:aws:sts::${ACCOUNT}:assumed-role/boto3-account-trust/by-dave`,
      // The trust policy names the account, so only the root rule refuses the root.
      root: ['AccessDenied', 'Roles may not be assumed by root accounts.'],
      chained: `arn:aws:sts::${ACCOUNT}:assumed-role/boto3-chained/chain`,
      chainedByDave: ['AccessDenied', 403, true],
    });
  });

  it("LookupEvents: each lookup attribute, StartTime/EndTime, boto3's paginator, CloudTrail's error codes, and cloudtrail:LookupEvents required", async () => {
    const out = await section('lookup-events');
    assert.deepEqual(out.byName, {
      count: 3, names: ['Encrypt'], source: 'kms.amazonaws.com', readOnly: 'true', user: 'boto3-frank', accessKey: true, time: true,
      resources: ['AWS::KMS::Key'], recordUser: `arn:aws:iam::${ACCOUNT}:user/boto3-frank`, noPlaintext: true,
    });
    assert.deepEqual(out.byResource, ['CreateKey', 'Encrypt']);
    assert.deepEqual(out.byBucket, ['CreateBucket']);
    assert.deepEqual(out.byUser, ['CreateBucket', 'CreateKey', 'Encrypt']);
    assert.deepEqual(out.byAccessKey, ['CreateBucket', 'CreateKey', 'Encrypt']);
    assert.deepEqual(out.bySource, ['kms.amazonaws.com']);
    assert.deepEqual(out.window, { past: [], future: [], inside: true });
    assert.deepEqual(out.session, [['DescribeKey'], 'AssumedRole'], "a role session's events carry its session name as Username");
    assert.deepEqual(out.pages, [true, true, true], 'pages of 2, each event once');
    assert.deepEqual(out.filteredPages, [true, true]);
    assert.deepEqual(out.errors, {
      twoAttributes: ['InvalidLookupAttributesException', 400, true],
      badKey: ['InvalidLookupAttributesException', 400, true],
      timeRange: ['InvalidTimeRangeException', 400, true],
      maxResults: ['InvalidMaxResultsException', 400, true],
      nextToken: ['InvalidNextTokenException', 400, true],
      denied: ['AccessDeniedException', 400, true],
    });
    assert.deepEqual(out.deniedRecorded, [['AccessDeniedException', null, null]]);
    assert.equal(out.allowed, 3);
  });

  it('IAM and STS error codes and HTTP status as boto3 exposes them', async () => {
    const out = await section('errors');
    assert.deepEqual(out, {
      noSuchUser: ['NoSuchEntity', 404, true],
      noSuchRole: ['NoSuchEntity', 404, true],
      noSuchPolicy: ['NoSuchEntity', 404, true],
      noSuchInline: ['NoSuchEntity', 404, true],
      noSuchKey: ['NoSuchEntity', 404, true],
      exists: ['EntityAlreadyExists', 409, true],
      roleConflict: ['DeleteConflict', 409, true],
      malformed: ['MalformedPolicyDocument', 400, true],
      badName: ['ValidationError', 400, true],
      badStatus: ['ValidationError', 400, true],
      denied: ['AccessDenied', 403, true],
      deniedList: ['AccessDenied', 403, true],
      unknownKey: ['InvalidClientTokenId', 403, true],
      wrongSecret: ['SignatureDoesNotMatch', 403, true],
      identityAlways: `arn:aws:iam::${ACCOUNT}:user/boto3-hank`,
    });
  });

  it("boto3's list_users, list_roles, list_access_keys and list_attached_role_policies paginators page by MaxItems and Marker; ListRoles by PathPrefix", async () => {
    const out = await section('paging');
    assert.deepEqual(out.users, [true, true, true], 'three or more pages of 2, every user made in order, none twice');
    assert.deepEqual(out.first, [2, true, true], 'MaxItems=2: two users, IsTruncated, a Marker');
    assert.deepEqual(out.accessKeys, [2, true], '2 keys in pages of 1');
    assert.deepEqual(out.attached, [2, true], '3 attached policies in pages of 2');
    assert.deepEqual(out.roles, [true, true, true], 'pages of 2, every role made, none twice');
    assert.deepEqual(out.team, [['boto3-team-0', 'boto3-team-1', 'boto3-team-2'], `arn:aws:iam::${ACCOUNT}:role/team/boto3-team-0`, 'sts:AssumeRole', 'paged']);
    assert.deepEqual(out.badMarker, ['ValidationError', 400, true]);
  });
});
