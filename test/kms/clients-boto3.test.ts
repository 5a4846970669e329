import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsEnv, runPythonJson, scratch, type Scratch } from '../helpers/client-run.js';

const SCRIPT = fileURLToPath(new URL('./clients-boto3.py', import.meta.url));
const ROOT = 'arn:aws:iam::000000000000:root';

/**
 * boto3 (Debian python3-boto3) driving every KMS operation the JS SDK tests drive but no
 * non-JS client test did, with the response fields and error codes the KMS API reference
 * documents. The script checks signatures and public keys with python's `cryptography`.
 */
describe('boto3 against Cipherlake KMS', () => {
  let t: TestServer;
  let s: Scratch;
  before(async () => {
    t = await startTestServer();
    s = scratch('cipherlake-kms-boto3-');
  });
  after(async () => {
    await t.close();
    s.remove();
  });

  const section = (name: string): Promise<Record<string, unknown>> => runPythonJson(SCRIPT, [name], awsEnv(s, { KMS_ENDPOINT: t.endpoint }), s.dir);

  it('symmetric keys: CreateKey, DescribeKey, UpdateKeyDescription, ListKeys, Encrypt/Decrypt with context, ReEncrypt, data keys, GenerateRandom, Disable/EnableKey', async () => {
    const out = await section('symmetric');
    assert.deepEqual(out.create, {
      arn: true, created: true, spec: 'SYMMETRIC_DEFAULT', cmkSpec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', state: 'Enabled', enabled: true,
      origin: 'AWS_KMS', manager: 'CUSTOMER', algs: ['SYMMETRIC_DEFAULT'], multiRegion: false, account: '000000000000', description: 'boto3 symmetric',
    });
    assert.deepEqual(out.describe, [true, 'renamed']);
    assert.equal(out.listed, true);
    assert.deepEqual(out.encrypt, {
      keyId: true, alg: 'SYMMETRIC_DEFAULT', plain: 'hello from boto3', decKeyId: true, decAlg: 'SYMMETRIC_DEFAULT',
      wrongContext: 'InvalidCiphertextException', noContext: 'InvalidCiphertextException', otherKey: 'IncorrectKeyException', garbage: 'InvalidCiphertextException',
    });
    assert.deepEqual(out.reEncrypt, {
      source: true, dest: true, plain: 'hello from boto3', algs: ['SYMMETRIC_DEFAULT', 'SYMMETRIC_DEFAULT'], decKey: true, wrongSourceContext: 'InvalidCiphertextException',
    });
    assert.deepEqual(out.dataKey, { len: 32, keyId: true, roundTrip: true, len64: 64, withoutPlaintext: ['CiphertextBlob', 'KeyId'], withoutLen: 16, random: 16 });
    assert.deepEqual(out.disabled, { state: 'Disabled', encrypt: 'DisabledException', decrypt: 'DisabledException' });
    assert.equal(out.enabled, true);
    assert.deepEqual(out.notFound, ['NotFoundException', 'NotFoundException']);
  });

  it('asymmetric keys: RSA_2048 and ECC_NIST_P256 Sign/Verify (RAW and DIGEST) checked locally, GetPublicKey, GenerateDataKeyPair, RSA OAEP Decrypt', async () => {
    const out = await section('asymmetric');
    assert.deepEqual(out.create, { rsa: ['RSA_2048', 'SIGN_VERIFY', true, false], p256: ['ECC_NIST_P256', ['ECDSA_SHA_256']] });
    assert.deepEqual(out.rsaPublic, { bits: 2048, spec: 'RSA_2048', usage: 'SIGN_VERIFY', keyId: true });
    assert.deepEqual(out.rsaSign, {
      alg: 'RSASSA_PSS_SHA_256', keyId: true, local: true, localTampered: false, valid: true, verifyAlg: 'RSASSA_PSS_SHA_256', tampered: 'KMSInvalidSignatureException',
    });
    assert.deepEqual(out.ecSign, {
      curve: 'secp256r1', local: true, localRaw: true, valid: true, validRaw: true,
      badDigestLength: 'ValidationException', wrongAlg: 'InvalidKeyUsageException', encryptWithSigningKey: 'InvalidKeyUsageException',
    });
    assert.deepEqual(out.dataKeyPair, {
      spec: 'ECC_NIST_P256', publicMatches: true, keyId: true, unwraps: true,
      withoutPlaintext: ['KeyId', 'KeyPairSpec', 'PrivateKeyCiphertextBlob', 'PublicKey'], withoutBits: 2048,
    });
    assert.deepEqual(out.rsaOaep, { plain: 'sealed locally', alg: 'RSAES_OAEP_SHA_256', noKeyId: 'InvalidCiphertextException' });
  });

  it('HMAC keys: GenerateMac/VerifyMac; a tampered message is KMSInvalidMacException', async () => {
    const out = await section('mac');
    assert.deepEqual(out, {
      create: ['HMAC_256', 'GENERATE_VERIFY_MAC', ['HMAC_SHA_256']], len: 32, alg: 'HMAC_SHA_256', keyId: true, valid: true, verifyAlg: 'HMAC_SHA_256', stable: true,
      tampered: 'KMSInvalidMacException', wrongAlg: 'InvalidKeyUsageException', publicKey: 'UnsupportedOperationException',
    });
  });

  it('grants: CreateGrant with constraints, Decrypt by the grantee with the grant token, ListGrants, ListRetirableGrants, RetireGrant by the principals the grant names, RevokeGrant', async () => {
    const out = await section('grants');
    assert.equal(out.before, 'AccessDeniedException');
    assert.equal(out.dryRunBefore, 'AccessDeniedException', 'a dry run is authorized like the call');
    assert.equal(out.dryRunGranted, 'DryRunOperationException');
    assert.deepEqual(out.create, [true, true]);
    assert.equal(out.withToken, 'granted');
    assert.equal(out.outsideConstraint, 'AccessDeniedException');
    assert.equal(out.notGrantedOp, 'AccessDeniedException');
    assert.deepEqual(out.list, {
      count: 1, truncated: false, id: true, name: 'boto3-grant', keyId: true, grantee: true, retiring: true, ops: ['Decrypt', 'DescribeKey'],
      constraints: { EncryptionContextSubset: { project: 'alpha' } }, created: true, issuing: ROOT,
    });
    assert.equal(out.retirable, true);
    assert.equal(out.granteeRetires, 'AccessDeniedException', 'a grant without RetireGrant does not let its grantee retire it');
    assert.deepEqual(out.afterRetire, [0, 'AccessDeniedException']);
    assert.deepEqual(out.equals, ['granted', 'AccessDeniedException']);
    assert.equal(out.retirerOnOther, 'AccessDeniedException', 'a grant names its own retiring principal only');
    assert.equal(out.granteeRevokes, 'AccessDeniedException', 'RevokeGrant is decided by the policies, not the grant');
    assert.deepEqual(out.afterRevoke, [0, 'AccessDeniedException', 'NotFoundException']);
  });

  it('aliases (Create/List/Update/DeleteAlias), DescribeKey on a predefined AWS alias, and key policies (Get/Put/ListKeyPolicies)', async () => {
    const out = await section('aliases-policies');
    assert.deepEqual(out.list, { count: 1, name: 'alias/boto3-data', arn: 'arn:aws:kms:us-east-1:000000000000:alias/boto3-data', target: true, created: true, truncated: false });
    assert.equal(out.encryptByAlias, true);
    assert.equal(out.duplicate, 'AlreadyExistsException');
    assert.equal(out.reserved, 'InvalidAliasNameException');
    assert.equal(out.badName, 'ValidationException');
    assert.equal(out.updated, true);
    assert.equal(out.byAliasArn, true);
    assert.deepEqual(out.deleted, ['NotFoundException', 'NotFoundException']);
    assert.deepEqual(out.awsManaged, {
      s3: ['AWS', 'Default key that protects my S3 objects when no other key is defined'], ebs: 'AWS', again: true, listed: [true], other: 'NotFoundException',
    });
    assert.deepEqual(out.policy, { name: 'default', principal: { AWS: ROOT }, action: 'kms:*' });
    assert.deepEqual(out.putPolicy, { same: true, names: ['default'], truncated: false, malformed: 'MalformedPolicyDocumentException' });
  });

  it("boto3's paginators over ListKeys, ListAliases, ListGrants; ListResourceTags by Limit/Marker; error codes, status and message as boto3 exposes them; DryRun", async () => {
    const out = await section('paging-errors');
    assert.deepEqual(out.keys, [true, true, true], 'several pages, every key made, none twice');
    assert.deepEqual(out.aliases, [true, true]);
    assert.deepEqual(out.grants, [3, 5], '5 grants in pages of 2');
    assert.deepEqual(out.tags, [true, 2, false, ['k0', 'k1', 'k2', 'k3', 'k4']]);
    assert.deepEqual(out.errors, {
      notFound: ['NotFoundException', 400, true],
      // AWS answers a ciphertext that does not decrypt with no message at all, and so do we: nothing says which check failed.
      invalidCiphertext: ['InvalidCiphertextException', 400, false],
      disabled: ['DisabledException', 400, true],
      incorrectKey: ['IncorrectKeyException', 400, true],
      invalidState: ['KMSInvalidStateException', 400, true],
      validation: ['ValidationException', 400, true],
      unknownTag: ['NotFoundException', 400, true],
    });
    // Every operation the KMS API gives DryRun answers it as AWS does (412), instead of operating.
    assert.deepEqual(out.dryRun, Array.from({ length: 11 }, () => ['DryRunOperationException', 412, true]));
    assert.equal(out.dryRunFalse, true);
    assert.deepEqual(out.dryRunFails, ['KMSInvalidStateException', 'DisabledException', 'NotFoundException', 'KMSInvalidSignatureException', 'KMSInvalidMacException']);
  });

  it('rotation (enable/status/on demand/list/disable), tags, ScheduleKeyDeletion/CancelKeyDeletion', async () => {
    const out = await section('rotation-tags-deletion');
    assert.deepEqual(out.status, {
      off: false, on: true, period: 90, next: true, keyId: true, badPeriod: 'ValidationException', disabled: false, hmacRotation: 'UnsupportedOperationException',
    });
    assert.deepEqual(out.rotate, {
      keyId: true, count: 1, type: 'ON_DEMAND', date: true, truncated: false, oldDecrypts: 'before rotation', newDecrypts: 'after rotation', versions: [1, 2],
    });
    assert.deepEqual(out.tags, {
      after: [['stage', 'train'], ['team', 'ops']], truncated: false, untagged: [{ TagKey: 'stage', TagValue: 'train' }], reserved: 'TagException',
    });
    assert.deepEqual(out.schedule, {
      keyId: true, state: 'PendingDeletion', window: 7, date: true, describe: 'PendingDeletion',
      encrypt: 'KMSInvalidStateException', decrypt: 'KMSInvalidStateException', badWindow: 'ValidationException',
    });
    assert.deepEqual(out.cancel, { keyId: true, state: 'Disabled', again: 'KMSInvalidStateException', usable: 'before rotation' });
  });
});
