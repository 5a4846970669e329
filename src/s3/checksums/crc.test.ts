import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChecksum, isWellFormedChecksum } from './checksum.js';
import { Crc32c, Crc64Nvme } from './crc.js';

const CHECK = Buffer.from('123456789');

test('CRC-32C check value of "123456789" is 0xE3069283', () => {
  assert.equal(new Crc32c().update(CHECK).value(), 0xe3069283);
});

test('CRC-64/NVME check value of "123456789" is 0xAE8B14860A799888', () => {
  assert.equal(new Crc64Nvme().update(CHECK).value(), 0xae8b14860a799888n);
});

test('CRC-32C of 66,560 bytes of "a" is sOO8/Q== (the AWS streaming-trailer example)', () => {
  assert.equal(createChecksum('crc32c').digestBase64(), 'AAAAAA==', 'empty input');
  const c = createChecksum('crc32c');
  c.update(Buffer.alloc(66560, 'a'));
  assert.equal(c.digestBase64(), 'sOO8/Q==');
});

test('incremental updates equal one update, at every split point', () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog 0123456789');
  for (const alg of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const) {
    const whole = createChecksum(alg);
    whole.update(data);
    const expected = whole.digestBase64();
    for (let i = 0; i <= data.length; i++) {
      const c = createChecksum(alg);
      c.update(data.subarray(0, i));
      c.update(data.subarray(i));
      assert.equal(c.digestBase64(), expected, `${alg} split at ${i}`);
    }
  }
});

test('well-formed checksum values: right length, canonical base64', () => {
  assert.equal(isWellFormedChecksum('crc32', 'sOO8/Q=='), true);
  assert.equal(isWellFormedChecksum('crc32', 'sOO8/Q'), false);
  assert.equal(isWellFormedChecksum('crc64nvme', 'sOO8/Q=='), false);
  assert.equal(isWellFormedChecksum('sha256', Buffer.alloc(32).toString('base64')), true);
  assert.equal(isWellFormedChecksum('sha1', 'not base64!'), false);
});
