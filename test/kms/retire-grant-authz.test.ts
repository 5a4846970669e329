import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateGrantCommand, CreateKeyCommand, KMSClient, ListGrantsCommand, RetireGrantCommand, RevokeGrantCommand, type CreateGrantRequest } from '@aws-sdk/client-kms';
import { sdkOutcome } from '../helpers/sdk-outcome.js';
import { startTestServer, TEST_REGION, type TestServer } from '../helpers/server.js';
import { UserKmsClients } from '../iam/query-client.js';

const ACCOUNT = '000000000000';
const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const ALLOW_RETIRE = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' }] });
const DENY_RETIRE = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*' }] });

// RetireGrant as the grant decides it (https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html):
// its retiring principal, or its grantee when it allows RetireGrant, retires that grant and no
// other, with no policy allowing kms:RetireGrant; a Deny on kms:RetireGrant in an IAM policy
// still refuses; nothing else the grant names (RevokeGrant, another grant) is opened.
describe('KMS RetireGrant: who the grant lets retire it', () => {
  let t: TestServer;
  let root: KMSClient;
  const users = new UserKmsClients();

  const newKey = async (): Promise<string> => (await root.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const grant = async (input: Omit<CreateGrantRequest, 'Operations'> & Partial<Pick<CreateGrantRequest, 'Operations'>>) => {
    const g = await root.send(new CreateGrantCommand({ Operations: ['Decrypt'], ...input }));
    return { id: g.GrantId!, token: g.GrantToken! };
  };
  const grantIds = async (keyId: string): Promise<string[]> => ((await root.send(new ListGrantsCommand({ KeyId: keyId }))).Grants ?? []).map((g) => g.GrantId!).sort();

  before(async () => {
    t = await startTestServer();
    root = t.kms();
  });
  after(async () => {
    users.destroy();
    await t.close();
  });

  it('the retiring principal retires by token and by key + id with no policy; the call is audited as that user', async () => {
    const retirer = await users.create(t, 'retirer');
    const keyId = await newKey();
    const byToken = await grant({ KeyId: keyId, GranteePrincipal: userArn('someone'), RetiringPrincipal: userArn('retirer') });
    const byId = await grant({ KeyId: keyId, GranteePrincipal: userArn('someone'), RetiringPrincipal: userArn('retirer') });
    assert.equal(await sdkOutcome(retirer.send(new RetireGrantCommand({ GrantToken: byToken.token }))), 'ok');
    assert.equal(await sdkOutcome(retirer.send(new RetireGrantCommand({ KeyId: keyId, GrantId: byId.id }))), 'ok');
    assert.deepEqual(await grantIds(keyId), []);

    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ eventName: 'RetireGrant', principal: userArn('retirer'), limit: 10 });
    assert.equal(records.length, 2);
    for (const { event } of records) {
      assert.equal(event.errorCode, undefined);
      assert.equal(event.userIdentity.arn, userArn('retirer'));
      assert.equal(JSON.stringify(event).includes(byToken.token), false, 'the grant token is never recorded');
    }
    const withKey = records.find((r) => (r.event.requestParameters as Record<string, unknown> | undefined)?.['grantId'] === byId.id);
    assert.equal(withKey?.event.resources?.[0]?.ARN, `arn:aws:kms:${TEST_REGION}:${ACCOUNT}:key/${keyId}`);
  });

  it('the grantee retires its grant only when the grant allows RetireGrant, and only that grant', async () => {
    const grantee = await users.create(t, 'grantee');
    const keyId = await newKey();
    const plain = await grant({ KeyId: keyId, GranteePrincipal: userArn('grantee') });
    const retirable = await grant({ KeyId: keyId, GranteePrincipal: userArn('grantee'), Operations: ['Decrypt', 'RetireGrant'] });
    const others = await grant({ KeyId: keyId, GranteePrincipal: userArn('other') });
    assert.equal(await sdkOutcome(grantee.send(new RetireGrantCommand({ KeyId: keyId, GrantId: plain.id }))), '400 AccessDeniedException');
    assert.equal(await sdkOutcome(grantee.send(new RetireGrantCommand({ GrantToken: plain.token }))), '400 AccessDeniedException');
    // Its RetireGrant grant names that grant, not every grant on the key.
    assert.equal(await sdkOutcome(grantee.send(new RetireGrantCommand({ KeyId: keyId, GrantId: others.id }))), '400 AccessDeniedException');
    assert.equal(await sdkOutcome(grantee.send(new RetireGrantCommand({ GrantToken: others.token }))), '400 AccessDeniedException');
    assert.deepEqual(await grantIds(keyId), [plain.id, retirable.id, others.id].sort());
    assert.equal(await sdkOutcome(grantee.send(new RetireGrantCommand({ GrantToken: retirable.token }))), 'ok');
    assert.deepEqual(await grantIds(keyId), [plain.id, others.id].sort());
  });

  it('anyone else is decided by the policies; being named in a grant opens no other operation', async () => {
    const stranger = await users.create(t, 'stranger');
    const keeper = await users.create(t, 'keeper');
    const keyId = await newKey();
    const g = await grant({ KeyId: keyId, GranteePrincipal: userArn('keeper'), RetiringPrincipal: userArn('keeper'), Operations: ['Decrypt', 'RetireGrant'] });
    assert.equal(await sdkOutcome(stranger.send(new RetireGrantCommand({ GrantToken: g.token }))), '400 AccessDeniedException');
    assert.equal(await sdkOutcome(stranger.send(new RetireGrantCommand({ KeyId: keyId, GrantId: g.id }))), '400 AccessDeniedException');
    assert.equal(await sdkOutcome(keeper.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: g.id }))), '400 AccessDeniedException');
    assert.deepEqual(await grantIds(keyId), [g.id]);
  });

  it('a Deny on kms:RetireGrant in an IAM policy refuses even the principals the grant names', async () => {
    const denied = await users.create(t, 'denied', DENY_RETIRE);
    const keyId = await newKey();
    const asRetirer = await grant({ KeyId: keyId, GranteePrincipal: userArn('someone'), RetiringPrincipal: userArn('denied') });
    const asGrantee = await grant({ KeyId: keyId, GranteePrincipal: userArn('denied'), Operations: ['Decrypt', 'RetireGrant'] });
    for (const req of [{ GrantToken: asRetirer.token }, { KeyId: keyId, GrantId: asRetirer.id }, { GrantToken: asGrantee.token }, { KeyId: keyId, GrantId: asGrantee.id }]) {
      assert.equal(await sdkOutcome(denied.send(new RetireGrantCommand(req))), '400 AccessDeniedException', JSON.stringify(Object.keys(req)));
    }
    assert.deepEqual(await grantIds(keyId), [asRetirer.id, asGrantee.id].sort());
  });

  it("a grant token retires its own grant only: with another key's KeyId or GrantId it is refused, and a forged token retires nothing", async () => {
    // Allowed kms:RetireGrant by its identity policy, on any key (the policy path, not the grant's).
    const admin = await users.create(t, 'admin', ALLOW_RETIRE);
    const retirer = await users.create(t, 'retirer2');
    const keyA = await newKey();
    const keyB = await newKey();
    const onA = await grant({ KeyId: keyA, GranteePrincipal: userArn('someone'), RetiringPrincipal: userArn('retirer2') });
    const onB = await grant({ KeyId: keyB, GranteePrincipal: userArn('someone') });
    // The retiring principal of onA is not let through on keyB's authority, nor is anyone allowed on keyB.
    for (const [client, req, outcome] of [
      [admin, { GrantToken: onA.token, KeyId: keyB }, '400 InvalidGrantTokenException'],
      [admin, { GrantToken: onA.token, KeyId: keyA, GrantId: onB.id }, '400 InvalidGrantTokenException'],
      [retirer, { GrantToken: onA.token, KeyId: keyB }, '400 AccessDeniedException'],
      [root, { GrantToken: onA.token, KeyId: keyB }, '400 InvalidGrantTokenException'],
    ] as const) {
      assert.equal(await sdkOutcome(client.send(new RetireGrantCommand(req))), outcome, JSON.stringify(req));
    }
    for (const forged of [onA.token.slice(0, -2) + 'AA', 'not-a-token', onA.id]) {
      assert.equal(await sdkOutcome(retirer.send(new RetireGrantCommand({ GrantToken: forged }))), '400 AccessDeniedException', forged);
      assert.equal(await sdkOutcome(root.send(new RetireGrantCommand({ GrantToken: forged }))), '400 InvalidGrantTokenException', forged);
    }
    assert.deepEqual(await grantIds(keyA), [onA.id]);
    assert.deepEqual(await grantIds(keyB), [onB.id]);
    // The same token with its own key (or none) retires it.
    assert.equal(await sdkOutcome(retirer.send(new RetireGrantCommand({ GrantToken: onA.token, KeyId: keyA }))), 'ok');
    assert.deepEqual(await grantIds(keyA), []);
  });

  it('a GrantToken too long to be one is refused without echoing it, in the answer or the trail', async () => {
    const keyId = await newKey();
    const g = await grant({ KeyId: keyId, GranteePrincipal: userArn('someone') });
    // A real token with padding: its first characters are the token itself.
    const err = await root.send(new RetireGrantCommand({ GrantToken: g.token + 'A'.repeat(8200) })).then(() => undefined, (e: Error) => e);
    assert.equal(err?.name, 'ValidationException');
    assert.equal(err.message.includes(g.token.slice(0, 16)), false, err.message);
    assert.deepEqual(await grantIds(keyId), [g.id]);
    await t.server.audit.flush();
    const { records } = await t.server.auditStore.lookup({ eventName: 'RetireGrant', errorsOnly: true, limit: 50 });
    const refused = records.filter((r) => r.event.errorCode === 'ValidationException');
    assert.equal(refused.length, 1);
    assert.equal(JSON.stringify(refused).includes(g.token.slice(0, 16)), false, 'the grant token is never recorded');
  });
});
