import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateKeyCommand, GenerateRandomCommand, KMSServiceException } from '@aws-sdk/client-kms';
import { testServerFixture } from '../helpers/server.js';
import { rawKmsRequest, type RawResponse } from '../helpers/signed-request.js';

/*
 * NumberOfBytes as KMS answers it, pinned to LocalStack's snapshots recorded against AWS
 * (localstack/localstack tests/aws/services/kms/test_kms.snapshot.json,
 * TestKMS::test_generate_random_invalid_number_of_bytes[None|0|1025], recorded 13-04-2023):
 * GenerateRandom without NumberOfBytes is "NumberOfBytes is required.", and a value out of
 * range is quoted in Coral's constraint message. All 400 ValidationException.
 */
describe('KMS NumberOfBytes', () => {
  let keyId = '';
  const fx = testServerFixture(async ({ kms }) => {
    keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  });
  const send = (operation: string, body: Record<string, unknown>): Promise<RawResponse> => rawKmsRequest(fx.server.endpoint, { target: `TrentService.${operation}`, body: JSON.stringify(body) });
  const expectValidation = (r: RawResponse, message: string): void => {
    assert.deepEqual([r.status, r.json.__type, r.json.message], [400, 'ValidationException', message]);
  };

  it('GenerateRandom without NumberOfBytes (absent or null) is refused, not served a default length', async () => {
    expectValidation(await send('GenerateRandom', {}), 'NumberOfBytes is required.');
    expectValidation(await send('GenerateRandom', { NumberOfBytes: null }), 'NumberOfBytes is required.');
    // Through the SDK: the same exception class and message.
    const err = await fx.kms.send(new GenerateRandomCommand({})).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof KMSServiceException, String(err));
    assert.deepEqual([err.name, err.message, err.$metadata.httpStatusCode], ['ValidationException', 'NumberOfBytes is required.', 400]);
  });

  it('an out-of-range NumberOfBytes is named with its value quoted, as KMS words it', async () => {
    expectValidation(await send('GenerateRandom', { NumberOfBytes: 0 }), "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1");
    expectValidation(await send('GenerateRandom', { NumberOfBytes: 1025 }), "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
    expectValidation(await send('GenerateDataKey', { KeyId: keyId, NumberOfBytes: 1025 }), "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
  });

  it('1 and 1024 bytes are served', async () => {
    for (const n of [1, 1024]) {
      const r = await send('GenerateRandom', { NumberOfBytes: n });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(Buffer.from(String(r.json.Plaintext), 'base64').length, n);
    }
  });
});
