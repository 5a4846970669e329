import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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

/** The byte-at-a-time definitions (one table each), the reference the eight-byte loops must match. */
function referenceCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function referenceCrc64Nvme(data: Uint8Array): bigint {
  let c = 0xffffffffffffffffn;
  for (const byte of data) {
    c ^= BigInt(byte);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0x9a6c9329ac4bc9b5n : c >> 1n;
  }
  return c ^ 0xffffffffffffffffn;
}

test('CRC-32C and CRC-64/NVME match the bitwise definitions on random data of every length to 40, and on 5,000 bytes split unevenly', () => {
  const data = randomBytes(5000);
  for (let n = 0; n <= 40; n++) {
    const d = data.subarray(3, 3 + n);
    assert.equal(new Crc32c().update(d).value(), referenceCrc32c(d), `crc32c of ${n} bytes`);
    assert.equal(new Crc64Nvme().update(d).value(), referenceCrc64Nvme(d), `crc64nvme of ${n} bytes`);
  }
  const c32 = new Crc32c();
  const c64 = new Crc64Nvme();
  for (let at = 0, step = 1; at < data.length; at += step, step = 1 + ((step * 7 + 3) % 97)) {
    c32.update(data.subarray(at, at + step));
    c64.update(data.subarray(at, at + step));
  }
  assert.equal(c32.value(), referenceCrc32c(data));
  assert.equal(c64.value(), referenceCrc64Nvme(data));
});
