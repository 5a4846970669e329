import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { seededRandom } from '../../common/seeded-random.js';
import { KMS_ROUTES } from './routes.js';

/** Key records as far as a response reads them (keyArn: region, account, key id). */
const KEYS = [
  { region: 'us-east-1', accountId: '000000000000', keyId: '6f1c2b1e-8f1a-4c55-9a0e-0d9b5d7c1a22' },
  { region: 'eu-west-1', accountId: '111111111111', keyId: '00000000-0000-4000-8000-000000000000' },
  // Characters JSON must escape, in case a setting ever carries them.
  { region: 'us-"east\\1', accountId: '\u2028\n', keyId: 'é' },
];
const ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];

describe('KMS routes with respondText', () => {
  const withText = Object.entries(KMS_ROUTES).filter(([, r]) => r.respondText !== undefined);

  it('are the hot read-only crypto routes (the handler uses the text only for a read-only route)', () => {
    assert.deepEqual(withText.map(([name]) => name).sort(), ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext']);
    for (const [name, r] of withText) assert.equal(r.readOnly, true, name);
  });

  it('write exactly JSON.stringify(respond(result)): every base64 padding, keys alternating, escaped ARNs', () => {
    const random = seededRandom(7);
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    let checked = 0;
    for (let i = 0; i < 300; i++) {
      // Alternating keys: the last ARN's JSON text is remembered, so each call follows another key's.
      const key = KEYS[i % KEYS.length]!;
      const result = {
        key,
        ciphertextBlob: bytes(i % 70),
        plaintext: bytes((i * 7) % 45),
        encryptionAlgorithm: ALGORITHMS[i % ALGORITHMS.length],
      };
      for (const [name, r] of withText) {
        assert.equal(r.respondText!(result), JSON.stringify(r.respond(result)), `${name}, case ${i}`);
        checked++;
      }
    }
    assert.equal(checked, 1200);
  });
});
