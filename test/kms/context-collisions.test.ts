import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { testServerFixture } from '../helpers/server.js';
import { rawKmsRequest } from '../helpers/signed-request.js';

// Two encryption contexts that differ must never bind the same ciphertext. Text that has no
// exact UTF-8 form (invalid bytes in the body, lone surrogates in the JSON) would be written as
// U+FFFD by any lenient encoding, so such contexts are refused before anything is sealed.
describe('KMS: encryption contexts that would collide are refused', () => {
  let keyId = '';
  const fx = testServerFixture(async (f) => {
    keyId = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
  });

  const encrypt = (body: string | Buffer) => rawKmsRequest(fx.server.endpoint, { target: 'TrentService.Encrypt', body });
  const decrypt = (blob: string, contextJson: string) =>
    rawKmsRequest(fx.server.endpoint, { target: 'TrentService.Decrypt', body: `{"CiphertextBlob":"${blob}","EncryptionContext":${contextJson}}` });

  it('a body that is not UTF-8 is SerializationException, and no blob is made', async () => {
    const body = (contextByte: number) =>
      Buffer.concat([Buffer.from(`{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":{"k":"x`), Buffer.from([contextByte]), Buffer.from('"}}')]);
    for (const b of [0xff, 0xfe, 0xc0]) {
      const r = await encrypt(body(b));
      assert.equal(`${r.status} ${r.json.__type}`, '400 SerializationException', `context byte 0x${b.toString(16)}`);
      assert.equal(r.json['CiphertextBlob'], undefined);
    }
  });

  it('lone surrogates in a context key or value are ValidationException, on Encrypt and on Decrypt', async () => {
    for (const context of ['{"k":"\\ud800"}', '{"k":"x\\udfff"}', '{"\\udbff":"v"}', '{"k":"\\udc00\\ud800"}']) {
      const r = await encrypt(`{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":${context}}`);
      assert.equal(`${r.status} ${r.json.__type}`, '400 ValidationException', context);
      assert.equal(r.json['CiphertextBlob'], undefined, context);
    }
    // A well-formed pair (one astral character) is an ordinary context: it seals and opens,
    // and a lone half of it does not open what the pair sealed.
    const sealed = await encrypt(`{"KeyId":"${keyId}","Plaintext":"AAAA","EncryptionContext":{"k":"\\ud83d\\ude00"}}`);
    assert.equal(sealed.status, 200);
    const blob = String(sealed.json['CiphertextBlob']);
    assert.equal((await decrypt(blob, '{"k":"\\ud83d\\ude00"}')).status, 200);
    const lone = await decrypt(blob, '{"k":"\\ud83d"}');
    assert.equal(`${lone.status} ${lone.json.__type}`, '400 ValidationException');
  });
});
