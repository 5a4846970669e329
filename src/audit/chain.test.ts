import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it, mock } from 'node:test';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_HASH, recordHash, recordHashOfUtf8 } from './chain.js';
import { AuditEncodingError } from './errors.js';
import { appendMany, openFixture, sampleEvent } from './test-support.js';
import { verifyAudit } from './verify.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }), '{"a":{"c":null,"d":[1,"x"]},"b":1}');
  });
  it('is idempotent through JSON.parse', () => {
    const v = { z: 'é\u2028"', y: 1.5e-7, x: [true, false], w: {} };
    const once = canonicalJson(v);
    assert.equal(canonicalJson(JSON.parse(once)), once);
  });
  it('refuses values that are not JSON', () => {
    assert.throws(() => canonicalJson({ a: Buffer.from('x') }), AuditEncodingError);
    assert.throws(() => canonicalJson({ a: Number.NaN }), AuditEncodingError);
  });
});

describe('recordHash', () => {
  it('binds prevHash, seq and content', () => {
    const base = recordHash(GENESIS_HASH, 1, '{}');
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.notEqual(recordHash(GENESIS_HASH, 2, '{}'), base);
    assert.notEqual(recordHash('1'.repeat(64), 1, '{}'), base);
    assert.notEqual(recordHash(GENESIS_HASH, 1, '{"a":1}'), base);
  });
  it('matches known-answer vectors (format version 1; computed with separate Hash updates per field)', () => {
    assert.equal(recordHash(GENESIS_HASH, 1, '{}'), '3503c37b85f05450cd23f06ee663ea7d081b2a2209e2a2b126437ef35d2bf372');
    assert.equal(recordHash('ab'.repeat(32), 2 ** 40 + 5, '{"k":"é€𝄞"}'), 'a0c9e8b05a0dda218410cb69272ad2390d12ff63b16a859e00d1b5d1624e28dd');
  });
  it('equals the spelled-out construction for long and non-ASCII JSON, before and after a long one', () => {
    const spelled = (prev: string, seq: number, json: string): string => {
      const seqBytes = Buffer.alloc(8);
      seqBytes.writeBigUInt64BE(BigInt(seq));
      return createHash('sha256').update(Buffer.concat([Buffer.of(0x01), Buffer.from(prev, 'hex'), seqBytes, Buffer.from(json, 'utf8')])).digest('hex');
    };
    const long = JSON.stringify({ v: '\u{1F600}ü'.repeat(5000) });
    const cases: [string, number, string][] = [
      ['1'.repeat(64), 7, '{"a":"short"}'],
      ['2'.repeat(64), Number.MAX_SAFE_INTEGER, long],
      ['3'.repeat(64), 2 ** 32, '{"a":"after the long one"}'],
      ['5'.repeat(64), 9, JSON.stringify({ v: 'é'.repeat(100_000) })], // above the shared buffer's limit
      ['6'.repeat(64), 10, '{"a":"after the outsized one"}'],
      ['4'.repeat(64), 2 ** 32 - 1, '{"lone":"\ud800"}'],
    ];
    for (const [prev, seq, json] of cases) assert.equal(recordHash(prev, seq, json), spelled(prev, seq, json));
  });
  it('recordHashOfUtf8 of the UTF-8 bytes equals recordHash of the string (known answers, long, outsized, after each other)', () => {
    const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
    assert.equal(recordHashOfUtf8(GENESIS_HASH, 1, utf8('{}')), '3503c37b85f05450cd23f06ee663ea7d081b2a2209e2a2b126437ef35d2bf372');
    assert.equal(recordHashOfUtf8('ab'.repeat(32), 2 ** 40 + 5, utf8('{"k":"é€𝄞"}')), 'a0c9e8b05a0dda218410cb69272ad2390d12ff63b16a859e00d1b5d1624e28dd');
    const cases: [string, number, string][] = [
      ['1'.repeat(64), 7, '{"a":"short"}'],
      ['2'.repeat(64), Number.MAX_SAFE_INTEGER, JSON.stringify({ v: '\u{1F600}ü'.repeat(5000) })],
      ['5'.repeat(64), 9, JSON.stringify({ v: 'é'.repeat(100_000) })], // above the shared buffer's limit
      ['3'.repeat(64), 2 ** 32, '{"a":"after the outsized one"}'],
      ['4'.repeat(64), 3, ''],
    ];
    for (const [prev, seq, json] of cases) {
      // A view into a larger buffer, as a journal read gives it.
      const view = Buffer.concat([Buffer.from('zz'), Buffer.from(json, 'utf8'), Buffer.from('zz')]).subarray(2, 2 + Buffer.byteLength(json, 'utf8'));
      assert.equal(recordHashOfUtf8(prev, seq, view), recordHash(prev, seq, json));
    }
    assert.throws(() => recordHashOfUtf8('A'.repeat(64), 1, utf8('{}')), RangeError);
    assert.throws(() => recordHashOfUtf8(GENESIS_HASH, 0, utf8('{}')), RangeError);
  });
  it('refuses a malformed prevHash or seq', () => {
    assert.throws(() => recordHash('A'.repeat(64), 1, '{}'), RangeError);
    // The hash computed just before is trusted as the next prevHash without the regex; anything else is checked.
    const last = recordHash(GENESIS_HASH, 1, '{}');
    assert.throws(() => recordHash(last.toUpperCase(), 2, '{}'), RangeError);
    assert.throws(() => recordHashOfUtf8(`${last.slice(0, 63)}g`, 2, Buffer.from('{}')), RangeError);
    assert.throws(() => recordHashOfUtf8(`${last}0`, 2, Buffer.from('{}')), RangeError);
    assert.throws(() => recordHash(GENESIS_HASH, 0, '{}'), RangeError);
    assert.throws(() => recordHash(GENESIS_HASH, 1.5, '{}'), RangeError);
  });
});

describe('chain round trip', () => {
  it('appends, signs digests and verifies intact', async () => {
    const f = await openFixture({ digestEveryRecords: 10 });
    // three separate turns, so three batches; the first two reach the every-10 threshold
    await appendMany(f.trail, 10);
    await appendMany(f.trail, 10, 11);
    await appendMany(f.trail, 5, 21);
    await f.trail.close();
    const report = await verifyAudit(f.store, f.signer.publicKeyPem());
    assert.deepEqual(report.problems, []);
    assert.equal(report.intact, true);
    assert.equal(report.recordsChecked, 25);
    assert.equal(report.lastSignedSeq, 25);
    assert.equal(report.unsignedTail, null);
    assert.equal(report.digestsChecked, 3);
  });

  it('continues the chain after reopening the store', async () => {
    const f = await openFixture();
    await appendMany(f.trail, 3);
    await f.trail.close();
    const again = await openFixture({}, f.db);
    await again.trail.append(sampleEvent(4));
    await again.trail.close();
    // two signers: the reopened trail got a new key; both keys verify their digests
    const report = await verifyAudit(again.store, [f.signer.publicKeyDer(), again.signer.publicKeyPem()]);
    assert.deepEqual(report.problems, []);
    assert.equal(report.lastSeq, 4);
  });

  it('reports records after the last digest as an unsigned tail, not a problem', async () => {
    const f = await openFixture();
    await appendMany(f.trail, 3);
    await f.trail.checkpoint();
    await appendMany(f.trail, 2, 4);
    const report = await verifyAudit(f.store, f.signer.publicKeyPem());
    assert.equal(report.intact, true);
    assert.deepEqual(report.unsignedTail, { fromSeq: 4, toSeq: 5 });
  });

  it('rejects a digest signed by a key it was not given', async () => {
    const f = await openFixture();
    await appendMany(f.trail, 2);
    await f.trail.close();
    const other = await openFixture();
    const report = await verifyAudit(f.store, other.signer.publicKeyPem());
    assert.deepEqual(report.problems, [
      { kind: 'digest-forged', digestIndex: 0, fromSeq: 1, toSeq: 2 },
    ]);
  });
});

describe('digest schedule', () => {
  it('signs on the interval timer only when there are new records', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const f = await openFixture({ digestIntervalMs: 60_000 });
      await appendMany(f.trail, 3);
      assert.equal(f.trail.stats().digests, 0);
      mock.timers.tick(60_000);
      for (let i = 0; i < 50 && f.trail.stats().digests === 0; i += 1) await new Promise((r) => setImmediate(r));
      assert.equal(f.trail.stats().digests, 1, 'the timer signed a digest');
      mock.timers.tick(60_000);
      assert.equal(await f.trail.checkpoint(), null, 'nothing new to sign');
      assert.equal(f.trail.stats().digests, 1);
      await f.trail.close();
      assert.equal((await verifyAudit(f.store, f.signer.publicKeyPem())).lastSignedSeq, 3);
    } finally {
      mock.timers.reset();
    }
  });
});
