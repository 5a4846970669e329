import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { rawKmsRequest, type RawKmsRequest, type RawResponse } from '../helpers/signed-request.js';
import { TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { assertNoSecret, robustSuite } from './harness.js';

/**
 * Malformed KMS JSON 1.1 requests, correctly signed: each gets a 4xx with an AWS-shaped
 * body (`__type`), the server keeps serving, and no request ends in a bare JavaScript error.
 */
describe('KMS: malformed input', () => {
  let keyId: string;
  const t = robustSuite(
    {},
    {
      async setup() {
        const created = await rawKmsRequest(t.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
        keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
      },
    },
  );

  const send = (target: string | undefined, body: string | Buffer, extra: Partial<RawKmsRequest> = {}): Promise<RawResponse> =>
    rawKmsRequest(t.endpoint, { ...(target !== undefined ? { target } : {}), body, ...extra });

  function expectError(r: RawResponse, code: string, what: string): void {
    assert.equal(`${r.status} ${r.json.__type}`, `400 ${code}`, what);
    assert.equal(r.headers.get('content-type'), 'application/x-amz-json-1.1', `${what}: a JSON 1.1 error body`);
  }

  it('a body that is not JSON, or JSON that is not an object → SerializationException', async () => {
    for (const body of ['{"KeyId":', 'not json', '[]', '"x"', 'null', '42', 'true', '{"KeyId":"a"}}']) {
      expectError(await send('TrentService.Encrypt', body), 'SerializationException', body);
    }
  });

  it('JSON nested thousands deep → SerializationException, not a stack overflow (500)', async () => {
    const deepObject = `{"KeyId":"${keyId}","x":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
    expectError(await send('TrentService.DescribeKey', deepObject), 'SerializationException', 'nested objects');
    const deepArray = `{"KeyId":"${keyId}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    expectError(await send('TrentService.DescribeKey', deepArray), 'SerializationException', 'nested arrays');
    // Real requests nest a few levels (grant constraints are the deepest): still served.
    const grant = {
      KeyId: keyId,
      GranteePrincipal: 'arn:aws:iam::000000000000:root',
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { team: 'ml' } },
    };
    assert.equal((await send('TrentService.CreateGrant', JSON.stringify(grant))).status, 200);
  });

  // A member of the wrong JSON type fails deserialization, which AWS's JSON 1.1 services answer
  // as SerializationException, before any validation: test/kms/wire-types.test.ts gives the
  // evidence. A member of the right type that breaks a constraint stays ValidationException.
  it('fields of the wrong JSON type → SerializationException', async () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['TrentService.DescribeKey', { KeyId: 123 }],
      ['TrentService.DescribeKey', { KeyId: { a: 1 } }],
      ['TrentService.GenerateDataKey', { KeyId: keyId, NumberOfBytes: '32' }],
      ['TrentService.Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: ['a', 'b'] }],
      ['TrentService.Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: 'a=b' }],
      ['TrentService.Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: { a: { b: 'c' } } }],
      ['TrentService.Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: { a: 5 } }],
      // Not base64 is a blob that does not deserialize (Smithy's malformed-blob protocol test).
      ['TrentService.Decrypt', { CiphertextBlob: '!!! not base64 !!!' }],
      ['TrentService.Decrypt', { CiphertextBlob: 5 }],
      ['TrentService.Decrypt', { CiphertextBlob: 'ab-_' }],
      ['TrentService.Encrypt', { KeyId: keyId, Plaintext: ['aGk='] }],
      ['TrentService.ListKeys', { Limit: '10' }],
      ['TrentService.CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::000000000000:root', Operations: 'Decrypt' }],
      ['TrentService.ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: '7' }],
      ['TrentService.CreateKey', { Policy: { Version: '2012-10-17' } }],
      ['TrentService.Encrypt', { KeyId: keyId, Plaintext: 'aGk=', GrantTokens: 'token' }],
      ['TrentService.Decrypt', { CiphertextBlob: 'AAAA', GrantTokens: [1] }],
      ['TrentService.CreateKey', { Tags: { a: 'b' } }],
      ['TrentService.TagResource', { KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: 7 }] }],
      ['TrentService.CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::000000000000:root', Operations: ['Decrypt'], Constraints: 'team=ml' }],
    ];
    for (const [target, body] of cases) {
      const r = await send(target, JSON.stringify(body));
      expectError(r, 'SerializationException', `${target} ${JSON.stringify(body)}`);
      assert.ok((r.json.message ?? '').length > 0, `${target}: the message says what did not deserialize`);
    }
  });

  it('fields of the right type that break a constraint → ValidationException naming the field', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      // A fraction is a number: refused as a value (the type is right).
      ['TrentService.GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32.5 }, 'numberOfBytes'],
      ['TrentService.GenerateRandom', { NumberOfBytes: -1 }, 'numberOfBytes'],
      ['TrentService.GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', GrantTokens: Array.from({ length: 11 }, () => 't') }, 'grantTokens'],
      ['TrentService.DescribeKey', { KeyId: '' }, 'keyId'],
      ['TrentService.DescribeKey', { KeyId: null }, 'keyId'],
      // A tag of the right types whose TagKey is empty.
      ['TrentService.CreateKey', { Tags: [{ TagKey: '', TagValue: 'v' }] }, 'TagKey'],
    ];
    for (const [target, body, field] of cases) {
      const r = await send(target, JSON.stringify(body));
      expectError(r, 'ValidationException', `${target} ${JSON.stringify(body)}`);
      assert.match(r.json.message ?? '', new RegExp(field), `${target}: the message names ${field}`);
    }
  });

  it('huge fields and bodies → ValidationException; the message quotes at most a short prefix', async () => {
    const long = await send('TrentService.DescribeKey', JSON.stringify({ KeyId: 'k'.repeat(100_000) }));
    expectError(long, 'ValidationException', 'KeyId of 100,000 characters');
    assert.ok((long.json.message ?? '').length < 400, 'the message does not echo the whole value');
    const plaintext = await send('TrentService.Encrypt', JSON.stringify({ KeyId: keyId, Plaintext: randomBytes(4097).toString('base64') }));
    expectError(plaintext, 'ValidationException', 'plaintext over 4096 bytes');
    const body = await send('TrentService.DescribeKey', JSON.stringify({ KeyId: keyId, Padding: 'p'.repeat(200_000) }));
    expectError(body, 'ValidationException', 'a body over the 128 KiB limit');
  });

  it('unknown, missing or prototype-named targets → UnknownOperationException', async () => {
    for (const target of ['TrentService.Frobnicate', 'TrentService.__proto__', 'TrentService.constructor', 'TrentService.hasOwnProperty', 'TrentService.', 'Encrypt', undefined]) {
      expectError(await send(target, '{}'), 'UnknownOperationException', String(target));
    }
  });

  it('invalid UTF-8 in the body and a wrong Content-Type still get AWS-shaped answers', async () => {
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x4b, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]);
    // Refused as a body, before any field is read (test/kms/context-collisions.test.ts says why).
    expectError(await send('TrentService.DescribeKey', invalidUtf8), 'SerializationException', 'invalid UTF-8');
    const r = await send('TrentService.DescribeKey', '{"KeyId":', { headers: { 'content-type': 'text/plain' } });
    expectError(r, 'UnknownOperationException', 'text/plain with a broken body');
  });

  it('a Content-Type that is not JSON → UnknownOperationException, nothing done; JSON 1.0/1.1 (with parameters) and application/json are served', async () => {
    const create = (contentType: string): Promise<RawResponse> => send('TrentService.CreateKey', '{"Description":"ct"}', { headers: { 'content-type': contentType } });
    const count = async (): Promise<number> => ((await send('TrentService.ListKeys', '{}')).json['Keys'] as unknown[]).length;
    const before = await count();
    for (const contentType of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/xml', 'application/x-amz-json-1.1x', 'application/jsonx']) {
      expectError(await create(contentType), 'UnknownOperationException', contentType);
    }
    assert.equal(await count(), before, 'no refused CreateKey made a key');
    for (const contentType of ['application/x-amz-json-1.1', 'application/x-amz-json-1.1; charset=utf-8', 'Application/X-Amz-Json-1.0', 'application/json']) {
      assert.equal((await create(contentType)).status, 200, contentType);
    }
  });

  it('an encryption context key spelled __proto__ is bound like any other', async () => {
    const enc = await send('TrentService.Encrypt', `{"KeyId":"${keyId}","Plaintext":"aGk=","EncryptionContext":{"__proto__":"x"}}`);
    assert.equal(enc.status, 200);
    const blob = enc.json['CiphertextBlob'] as string;
    expectError(await send('TrentService.Decrypt', `{"CiphertextBlob":"${blob}"}`), 'InvalidCiphertextException', 'without the context');
    expectError(await send('TrentService.Decrypt', `{"CiphertextBlob":"${blob}","EncryptionContext":{"__proto__":"y"}}`), 'InvalidCiphertextException', 'another value');
    const dec = await send('TrentService.Decrypt', `{"CiphertextBlob":"${blob}","EncryptionContext":{"__proto__":"x"}}`);
    assert.equal(dec.status, 200);
    assert.equal(dec.json['Plaintext'], 'aGk=');
  });

  it('malformed input to RSA, ECC and HMAC keys → the 4xx code of each operation, never an OpenSSL error as a 500', async () => {
    const make = async (KeySpec: string, KeyUsage: string): Promise<string> =>
      ((await send('TrentService.CreateKey', JSON.stringify({ KeySpec, KeyUsage }))).json['KeyMetadata'] as { KeyId: string }).KeyId;
    const rsa = await make('RSA_2048', 'ENCRYPT_DECRYPT');
    const rsaSign = await make('RSA_2048', 'SIGN_VERIFY');
    const ecc = await make('ECC_NIST_P256', 'SIGN_VERIFY');
    const hmac = await make('HMAC_256', 'GENERATE_VERIFY_MAC');
    const b = (n: number): string => randomBytes(n).toString('base64');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['Encrypt', { KeyId: rsa, Plaintext: b(300), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, 'ValidationException'],
      ['Encrypt', { KeyId: rsa, Plaintext: b(10) }, 'InvalidKeyUsageException'],
      ['Decrypt', { KeyId: rsa, CiphertextBlob: b(256), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, 'InvalidCiphertextException'],
      ['Decrypt', { KeyId: rsa, CiphertextBlob: b(3), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }, 'InvalidCiphertextException'],
      ['Sign', { KeyId: ecc, Message: b(5), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }, 'ValidationException'],
      ['Sign', { KeyId: ecc, Message: b(5), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }, 'InvalidKeyUsageException'],
      ['Sign', { KeyId: rsaSign, Message: b(31), MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }, 'ValidationException'],
      ['Verify', { KeyId: ecc, Message: b(5), Signature: b(70), SigningAlgorithm: 'ECDSA_SHA_256' }, 'KMSInvalidSignatureException'],
      ['Verify', { KeyId: ecc, Message: b(5), Signature: b(1), SigningAlgorithm: 'ECDSA_SHA_256' }, 'KMSInvalidSignatureException'],
      ['Verify', { KeyId: rsaSign, Message: b(5), Signature: b(7), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }, 'KMSInvalidSignatureException'],
      ['VerifyMac', { KeyId: hmac, Message: b(5), Mac: b(3), MacAlgorithm: 'HMAC_SHA_256' }, 'KMSInvalidMacException'],
      ['GenerateMac', { KeyId: hmac, Message: b(5), MacAlgorithm: 'HMAC_SHA_512' }, 'InvalidKeyUsageException'],
      ['GenerateDataKeyPair', { KeyId: rsa, KeyPairSpec: 'RSA_2048' }, 'InvalidKeyUsageException'],
      ['GetPublicKey', { KeyId: hmac }, 'UnsupportedOperationException'],
      ['PutKeyPolicy', { KeyId: rsa, PolicyName: 'default', Policy: `{"Version":"2012-10-17","Statement":${'['.repeat(5000)}${']'.repeat(5000)}}` }, 'MalformedPolicyDocumentException'],
      ['PutKeyPolicy', { KeyId: rsa, PolicyName: 'default', Policy: '{"Version":"2012-10-17","Statement":[null]}' }, 'MalformedPolicyDocumentException'],
      ['RetireGrant', { GrantToken: 'garbage' }, 'InvalidGrantTokenException'],
      ['RevokeGrant', { KeyId: rsa, GrantId: '!!' }, 'InvalidGrantIdException'],
    ];
    for (const [operation, body, code] of cases) expectError(await send(`TrentService.${operation}`, JSON.stringify(body)), code, `${operation} ${JSON.stringify(body).slice(0, 80)}`);
  });

  it('bad signatures are refused without echoing the secret access key or the plaintext', async () => {
    const marker = Buffer.from(`plaintext-marker-${randomBytes(8).toString('hex')}`);
    const body = JSON.stringify({ KeyId: keyId, Plaintext: marker.toString('base64') });
    const wrongSecret = `wrong-${randomBytes(16).toString('hex')}`;
    const wrong = await send('TrentService.Encrypt', body, { secretAccessKey: wrongSecret });
    expectError(wrong, 'InvalidSignatureException', 'signed with the wrong secret');
    const tampered = await send('TrentService.Encrypt', body, { afterSigning: (r) => (r.body = body.replace('KeyId', 'KeyID')) });
    expectError(tampered, 'InvalidSignatureException', 'body changed after signing');
    const unknown = await send('TrentService.Encrypt', body, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00' });
    expectError(unknown, 'UnrecognizedClientException', 'unknown access key');
    const invalid = await send('TrentService.Encrypt', JSON.stringify({ KeyId: 'alias/none', Plaintext: marker.toString('base64') }));
    assert.equal(invalid.status, 400);
    for (const r of [wrong, tampered, unknown, invalid]) {
      assertNoSecret(JSON.stringify(r.json), [TEST_SECRET_ACCESS_KEY, wrongSecret, marker.toString('utf8'), marker], 'a KMS error body');
    }
    assertNoSecret(t.rawLog.join('\n'), [TEST_SECRET_ACCESS_KEY, wrongSecret, marker.toString('utf8'), marker], 'the server log');
  });
});
