import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { decideAccess, decideKmsAccess, kmsRootAllowedOutright, newConditionFacts, type AuthzCall } from './authorizer.js';
import { parsePolicy } from './policy/index.js';
import { rootPrincipal } from './root-credentials.js';

const ACCOUNT = '111122223333';
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const root: AuthzCall = { principal: rootPrincipal(ACCOUNT), sourceIp: '127.0.0.1', secureTransport: false };
const alice: AuthzCall = { ...root, principal: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT, principalId: 'AIDAALICE', userName: 'alice' } };

const ROOT_ALLOW = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };
const resourcePolicy = (statements: readonly object[]) => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'resource');
const allowAll = resourcePolicy([ROOT_ALLOW]);
const denyPlainHttp = parsePolicy(
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    ],
  }),
  'resource',
);
const identityDeny = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' }] }), 'identity');
const endpointPolicy = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:Encrypt', Resource: '*' }] }), 'endpoint');

function decide(call: AuthzCall, keyPolicy = allowAll, identity = [] as typeof allowAll[], action = 'kms:Decrypt') {
  return decideKmsAccess({ call, action, keyArn: KEY_ARN, keyPolicy, identity, grants: [], time: new Date(0) });
}

describe('kmsRootAllowedOutright (the root short-cut of KMS authorization)', () => {
  it('holds for the root under a deny-free key policy, and decideKmsAccess then allows', () => {
    assert.equal(kmsRootAllowedOutright(root, allowAll, []), true);
    assert.equal(decide(root).allowed, true);
  });

  it('does not hold when the key policy has a Deny statement, which can still refuse the root', () => {
    assert.equal(kmsRootAllowedOutright(root, denyPlainHttp, []), false);
    const d = decide(root, denyPlainHttp);
    assert.equal(d.allowed, false);
    assert.equal(!d.allowed && d.cause, 'explicit-resource');
    assert.equal(decide({ ...root, secureTransport: true }, denyPlainHttp).allowed, true);
  });

  it('does not hold when an identity policy has a Deny statement', () => {
    assert.equal(kmsRootAllowedOutright(root, allowAll, [identityDeny]), false);
    assert.equal(decide(root, allowAll, [identityDeny]).allowed, false);
  });

  it('does not hold behind an endpoint policy, which must itself allow the action', () => {
    const viaEndpoint: AuthzCall = { ...root, vpcEndpointId: 'vpce-1', endpointPolicy };
    assert.equal(kmsRootAllowedOutright(viaEndpoint, allowAll, []), false);
    assert.equal(decide(viaEndpoint).allowed, false);
    assert.equal(decide(viaEndpoint, allowAll, [], 'kms:Encrypt').allowed, true);
  });

  it('does not hold for a NotAction Deny, which refuses the root every action it does not list', () => {
    const denyAllButEncrypt = resourcePolicy([ROOT_ALLOW, { Effect: 'Deny', Principal: '*', NotAction: 'kms:Encrypt', Resource: '*' }]);
    assert.equal(kmsRootAllowedOutright(root, denyAllButEncrypt, []), false);
    assert.equal(decide(root, denyAllButEncrypt).allowed, false);
    assert.equal(decide(root, denyAllButEncrypt, [], 'kms:Encrypt').allowed, true);
  });

  it('allows exactly when the full evaluation would, for the root under deny-free key policies', () => {
    // A Deny that never matches forces the full evaluation without changing its outcome.
    const inert = { Effect: 'Deny', Principal: '*', Action: 'kms:NoSuchAction', Resource: '*' };
    const aliceOnly = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, Action: 'kms:Encrypt', Resource: '*' };
    const otherAccount = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: 'kms:Decrypt', Resource: '*' };
    for (const statements of [[ROOT_ALLOW], [aliceOnly], [otherAccount]]) {
      const plain = resourcePolicy(statements);
      const withInert = resourcePolicy([...statements, inert]);
      assert.equal(kmsRootAllowedOutright(root, plain, []), true);
      assert.equal(kmsRootAllowedOutright(root, withInert, []), false);
      for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:PutKeyPolicy']) {
        assert.deepEqual(decide(root, plain, [], action), decide(root, withInert, [], action), `${action} under ${JSON.stringify(statements)}`);
      }
    }
  });

  it('never holds for a principal other than the root', () => {
    assert.equal(kmsRootAllowedOutright(alice, allowAll, []), false);
    assert.equal(decide(alice).allowed, false); // the key policy delegates to IAM; alice has no identity policy
  });
});

describe('condition facts (built by assignment, not spread)', () => {
  it('newConditionFacts keeps a key named __proto__ as an own key, never as a prototype', () => {
    const facts = Object.assign(newConditionFacts(), JSON.parse('{"__proto__":"x","a":"1"}') as Record<string, string>);
    assert.deepEqual(Object.entries(facts), [['__proto__', 'x'], ['a', '1']]);
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(facts)), null);
    assert.notEqual(newConditionFacts(), newConditionFacts());
  });

  it("the request's facts win over the channel's facts of the same name (as in { ...channelFacts, ...facts })", () => {
    const decideWith = (facts: Record<string, string>) =>
      decideKmsAccess({ call: root, action: 'kms:Decrypt', keyArn: KEY_ARN, keyPolicy: denyPlainHttp, identity: [], grants: [], facts, time: new Date(0) });
    assert.equal(decideWith({}).allowed, false); // plain HTTP: the Deny applies
    assert.equal(decideWith({ 'aws:SecureTransport': 'true' }).allowed, true);
  });
});

describe('decideAccess with requireResourceAllow (sts:AssumeRole: the trust policy must allow)', () => {
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/worker`;
  const trust = (principal: string) => parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' }] }), 'trust');
  const mayAssume = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }), 'identity');
  const eve: AuthzCall = { ...root, principal: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/eve`, accountId: ACCOUNT, principalId: 'AIDAEVE', userName: 'eve' } };
  const assume = (call: AuthzCall, trustPolicy: ReturnType<typeof trust>, identity: (typeof mayAssume)[], requireResourceAllow = true) =>
    decideAccess({ call, action: 'sts:AssumeRole', resource: ROLE, identity, resourcePolicies: [trustPolicy], requireResourceAllow, time: new Date(0) });

  it('an identity policy alone does not let a principal the trust policy does not name assume the role', () => {
    const d = assume(eve, trust(`arn:aws:iam::${ACCOUNT}:user/alice`), [mayAssume]);
    assert.equal(d.allowed, false);
    assert.equal(!d.allowed && d.cause, 'no-resource-allow');
    // Without the requirement the same-account identity allow would have sufficed: the requirement is what refuses.
    assert.equal(assume(eve, trust(`arn:aws:iam::${ACCOUNT}:user/alice`), [mayAssume], false).allowed, true);
  });

  it('a trust policy naming the principal allows it with no identity policy; one naming the account needs an identity policy too', () => {
    assert.equal(assume(alice, trust(`arn:aws:iam::${ACCOUNT}:user/alice`), []).allowed, true);
    assert.equal(assume(alice, trust(`arn:aws:iam::${ACCOUNT}:root`), []).allowed, false);
    assert.equal(assume(alice, trust(`arn:aws:iam::${ACCOUNT}:root`), [mayAssume]).allowed, true);
  });

  it('a trust policy naming the bare account id delegates as the root ARN does: an identity allow is needed', () => {
    assert.equal(assume(alice, trust(ACCOUNT), []).allowed, false);
    assert.equal(assume(alice, trust(ACCOUNT), [mayAssume]).allowed, true);
  });

  it('an explicit Deny wins: in the trust policy over a direct Allow, in an identity policy over a trust policy naming the caller', () => {
    const trustWithDeny = parsePolicy(JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, Action: 'sts:AssumeRole' },
        { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, Action: 'sts:AssumeRole' },
      ],
    }), 'trust');
    const d = assume(alice, trustWithDeny, [mayAssume]);
    assert.equal(d.allowed, false);
    assert.equal(!d.allowed && d.cause, 'explicit-resource');
    const denyAssume = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: ROLE }] }), 'identity');
    const e = assume(alice, trust(`arn:aws:iam::${ACCOUNT}:user/alice`), [denyAssume]);
    assert.equal(e.allowed, false);
    assert.equal(!e.allowed && e.cause, 'explicit-identity');
  });

  it('a role session (role chaining) is trusted through its role ARN, or through the account with an identity allow', () => {
    const session: AuthzCall = {
      ...root,
      principal: {
        type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/builder/job`, accountId: ACCOUNT, principalId: 'AROABUILDER:job',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/builder`, sessionName: 'job',
      },
    };
    assert.equal(assume(session, trust(`arn:aws:iam::${ACCOUNT}:role/builder`), []).allowed, true);
    assert.equal(assume(session, trust(`arn:aws:iam::${ACCOUNT}:role/other`), [mayAssume]).allowed, false);
    assert.equal(assume(session, trust(`arn:aws:iam::${ACCOUNT}:root`), []).allowed, false);
    assert.equal(assume(session, trust(`arn:aws:iam::${ACCOUNT}:root`), [mayAssume]).allowed, true);
  });

  it('no trust policy at all (the role does not exist) is never allowed, even for the account root', () => {
    const d = decideAccess({ call: root, action: 'sts:AssumeRole', resource: ROLE, identity: [], resourcePolicies: [], requireResourceAllow: true, time: new Date(0) });
    assert.equal(d.allowed, false);
    assert.equal(assume(alice, trust(`arn:aws:iam::${ACCOUNT}:user/bob`), [mayAssume]).allowed, false);
  });
});
