import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ObjectCorruptedError } from '../../src/s3/errors.js';
import { assertSealedKey } from '../../src/s3/sse/sealing.js';
import { robustSuite } from './harness.js';
import { s3Call, statusCode } from './s3-call.js';

type Sealed = Record<string, unknown>;

/** The stored sealed-key record of bucket `rob`'s object `key`, as JSON. */
function sealedKeyOf(dataDir: string, key: string): Sealed {
  const db = new Database(join(dataDir, 'metadata.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT sealed_key FROM s3_objects WHERE bucket = ? AND key = ?').get('rob', key) as { sealed_key: string } | undefined;
    assert.ok(row !== undefined, `rob/${key} is stored`);
    return JSON.parse(row.sealed_key) as Sealed;
  } finally {
    db.close();
  }
}

/** Replaces that record behind the running server's back (a second connection; WAL lets both in). */
function setSealedKey(dataDir: string, key: string, value: unknown): void {
  const db = new Database(join(dataDir, 'metadata.db'));
  try {
    db.pragma('busy_timeout = 5000');
    assert.equal(db.prepare('UPDATE s3_objects SET sealed_key = ? WHERE bucket = ? AND key = ?').run(JSON.stringify(value), 'rob', key).changes, 1);
  } finally {
    db.close();
  }
}

/** Sets one column of `rob/key` to raw text (no JSON encoding), behind the running server's back. */
function setColumn(dataDir: string, key: string, column: string, text: string): void {
  const db = new Database(join(dataDir, 'metadata.db'));
  try {
    db.pragma('busy_timeout = 5000');
    assert.equal(db.prepare(`UPDATE s3_objects SET ${column} = ? WHERE bucket = ? AND key = ?`).run(text, 'rob', key).changes, 1);
  } finally {
    db.close();
  }
}

const SSE: Record<string, Record<string, string>> = {
  'DSSE-KMS': { 'x-amz-server-side-encryption': 'aws:kms:dsse' },
  'SSE-KMS': { 'x-amz-server-side-encryption': 'aws:kms' },
  'SSE-S3': { 'x-amz-server-side-encryption': 'AES256' },
};

/** The PUT headers of `mode`. */
function sseHeaders(mode: string): Record<string, string> {
  const headers = SSE[mode];
  assert.ok(headers !== undefined, `a mode this file knows: ${mode}`);
  return headers;
}

/** Damaged sealed-key records, by mode: each must read as corruption, never as a TypeError. */
const DAMAGE: Record<string, ReadonlyArray<[string, (s: Sealed) => unknown]>> = {
  'DSSE-KMS': [
    ['one KMS blob instead of two', (s) => ({ ...s, kmsBlobs: [(s['kmsBlobs'] as string[])[0]] })],
    ['three KMS blobs', (s) => ({ ...s, kmsBlobs: [...(s['kmsBlobs'] as string[]), 'AAAA'] })],
    ['kmsBlobs a string', (s) => ({ ...s, kmsBlobs: 'abc' })],
    ['kmsBlobs null', (s) => ({ ...s, kmsBlobs: null })],
    ['kmsBlobs numbers', (s) => ({ ...s, kmsBlobs: [1, 2] })],
    ['the blobs swapped', (s) => ({ ...s, kmsBlobs: [...(s['kmsBlobs'] as string[])].reverse() })],
    ['a blob that is not base64 of a KMS blob', (s) => ({ ...s, kmsBlobs: ['!!!!', (s['kmsBlobs'] as string[])[1]] })],
    ['no sealed key', (s) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'sealed'))],
    ['sealed a number', (s) => ({ ...s, sealed: 5 })],
    ['context null', (s) => ({ ...s, context: null })],
    ['context a string', (s) => ({ ...s, context: 'x' })],
    ['a context value a number', (s) => ({ ...s, context: { 'aws:s3:arn': 5 } })],
    ['no key ARN', (s) => ({ ...s, keyArn: undefined })],
    ['an unknown mode', (s) => ({ ...s, mode: 'ROT13' })],
    ['format version 2', (s) => ({ ...s, v: 2 })],
    ['null', () => null],
    ['an array', () => []],
    ['a string', () => 'DSSE-KMS'],
  ],
  'SSE-KMS': [
    ['no KMS blob', (s) => ({ ...s, kmsBlob: undefined })],
    ['context an array', (s) => ({ ...s, context: ['a'] })],
    ['mode SSE-C without its fields', (s) => ({ ...s, mode: 'SSE-C' })],
  ],
  'SSE-S3': [
    ['a KMS blob that is a number', (s) => ({ ...s, kmsBlob: 5 })],
    ['mode DSSE-KMS without its fields', (s) => ({ ...s, mode: 'DSSE-KMS' })],
  ],
};

/**
 * Objects whose stored sealed-key record was damaged (by hand, a bad restore, a bug): every
 * read fails with S3's InternalError and no byte of the body, logged as ObjectCorruptedError
 * (or the KMS error for a blob KMS refuses), never as a TypeError; the rest of the bucket
 * stays readable and listable.
 */
describe('S3: objects whose sealed-key record is damaged', () => {
  const t = robustSuite(
    {},
    {
      async setup() {
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob')).status, 200);
        assert.equal((await s3Call(t.endpoint, 'PUT', '/rob/healthy', { body: 'still fine', headers: sseHeaders('DSSE-KMS') })).status, 200);
      },
      async check() {
        const healthy = await s3Call(t.endpoint, 'GET', '/rob/healthy');
        assert.equal(`${healthy.status} ${healthy.text}`, '200 still fine', 'an intact object in the same bucket still reads');
        assert.equal((await s3Call(t.endpoint, 'GET', '/rob', { query: { 'list-type': '2' } })).status, 200, 'the bucket still lists');
      },
    },
  );

  for (const [mode, damages] of Object.entries(DAMAGE)) {
    it(`${mode}: GET, HEAD and copy of a damaged record fail cleanly (${damages.length} kinds of damage)`, async () => {
      for (const [i, [name, damage]] of damages.entries()) {
        const key = `${mode}-${i}`;
        const secret = `plaintext of ${key} that must never be served`;
        assert.equal((await s3Call(t.endpoint, 'PUT', `/rob/${key}`, { body: secret, headers: sseHeaders(mode) })).status, 200);
        setSealedKey(t.dataDir, key, damage(sealedKeyOf(t.dataDir, key)));
        const from = t.rawLog.length;
        const get = await s3Call(t.endpoint, 'GET', `/rob/${key}`);
        assert.equal(statusCode(get), '500 InternalError', `GET: ${name}`);
        assert.ok(!get.text.includes('plaintext of'), `GET: ${name}: no byte of the object`);
        assert.equal((await s3Call(t.endpoint, 'HEAD', `/rob/${key}`)).status, 500, `HEAD: ${name}`);
        const copy = await s3Call(t.endpoint, 'PUT', `/rob/copy-${key}`, { headers: { 'x-amz-copy-source': `/rob/${key}` } });
        assert.equal(statusCode(copy), '500 InternalError', `copy: ${name}`);
        assert.equal((await s3Call(t.endpoint, 'HEAD', `/rob/copy-${key}`)).status, 404, `copy: ${name}: nothing written`);
        const logged = t.logs().slice(from).filter((l) => l.level >= 50).map((l) => l.err?.type);
        assert.ok(logged.length > 0 && logged.every((type) => type === 'ObjectCorruptedError' || type === 'InvalidCiphertextError'), `${name}: logged as ${logged.join(', ')}`);
        // The damage is the record's only: deleting the object still works.
        assert.equal((await s3Call(t.endpoint, 'DELETE', `/rob/${key}`)).status, 204, `DELETE: ${name}`);
      }
    });
  }

  it('a JSON column that is not JSON: the bucket still lists (the object too), the object fails as corruption', async () => {
    for (const column of ['content', 'user_metadata', 'sealed_key', 'checksums', 'tags', 'parts']) {
      const key = `unparsable-${column}`;
      assert.equal((await s3Call(t.endpoint, 'PUT', `/rob/${key}`, { body: 'x', headers: { 'x-amz-tagging': 'a=b' } })).status, 200);
      setColumn(t.dataDir, key, column, '{"damaged');
      const list = await s3Call(t.endpoint, 'GET', '/rob', { query: { 'list-type': '2', prefix: key } });
      assert.equal(statusCode(list), '200 ', `list: ${column}`);
      assert.ok(list.text.includes(`<Key>${key}</Key>`), `list: ${column}: the damaged object is listed`);
      const from = t.rawLog.length;
      assert.equal(statusCode(await s3Call(t.endpoint, 'GET', `/rob/${key}`)), '500 InternalError', `GET: ${column}`);
      assert.equal((await s3Call(t.endpoint, 'HEAD', `/rob/${key}`)).status, 500, `HEAD: ${column}`);
      const logged = t.logs().slice(from).filter((l) => l.level >= 50).map((l) => l.err?.type);
      assert.ok(logged.length > 0 && logged.every((type) => type === 'ObjectCorruptedError'), `${column}: logged as ${logged.join(', ')}`);
      assert.equal((await s3Call(t.endpoint, 'DELETE', `/rob/${key}`)).status, 204, `DELETE: ${column}`);
    }
  });

  it('assertSealedKey accepts every mode it writes and refuses a DSSE-KMS record with one blob', async () => {
    for (const mode of Object.keys(SSE)) {
      assert.equal((await s3Call(t.endpoint, 'PUT', `/rob/shape-${mode}`, { body: 'x', headers: sseHeaders(mode) })).status, 200);
      const sealed = sealedKeyOf(t.dataDir, `shape-${mode}`);
      assert.doesNotThrow(() => assertSealedKey(sealed), mode);
    }
    const dsse = sealedKeyOf(t.dataDir, 'shape-DSSE-KMS');
    assert.throws(() => assertSealedKey({ ...dsse, kmsBlobs: [(dsse['kmsBlobs'] as string[])[0]] }), ObjectCorruptedError);
  });
});
