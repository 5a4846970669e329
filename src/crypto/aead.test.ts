import { strict as assert } from 'node:assert';
import { createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AeadError, gcmOpen, gcmSeal } from './aead.js';
import { NATIVE_GCM_ENV, nativeGcm } from './native-gcm/binding.js';
import { nodeGcm } from './native-gcm/test-support.js';
import { SecretBytes } from './secret-bytes.js';

// gcmSeal/gcmOpen run on the native addon when it is loaded and on node:crypto otherwise;
// CI runs this file both ways (.ci/run). Every case holds on either path.

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** node:crypto's iv ‖ ciphertext ‖ tag: the reference on either path. */
function reference(key: Buffer, iv: Buffer, aad: Buffer, plain: Buffer): Buffer {
  return Buffer.concat([iv, nodeGcm(key, iv, aad, plain)]);
}

function expectAeadError(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => err instanceof AeadError, what);
}

describe('gcmSeal / gcmOpen', () => {
  it(`run on the addon unless ${NATIVE_GCM_ENV}=off`, () => {
    assert.equal(nativeGcm() === undefined, process.env[NATIVE_GCM_ENV] === 'off');
  });

  it('match the McGrew-Viega AES-256 vectors', () => {
    const doc = JSON.parse(readFileSync(new URL('./testdata/aes-256-gcm-mcgrew-viega.json', import.meta.url), 'utf8')) as {
      vectors: Array<Record<'name' | 'key' | 'iv' | 'aad' | 'plaintext' | 'ciphertext' | 'tag', string>>;
    };
    assert.ok(doc.vectors.length >= 4);
    for (const v of doc.vectors) {
      const sealed = gcmSeal(hex(v.key), hex(v.plaintext), hex(v.aad), hex(v.iv));
      assert.equal(sealed.toString('hex'), v.iv + v.ciphertext + v.tag, v.name);
      assert.equal(gcmOpen(SecretBytes.copyOf(hex(v.key)), sealed, hex(v.aad)).toString('hex'), v.plaintext, v.name);
    }
  });

  it('seal byte-identically to node:crypto and open, over random sizes, with a fresh IV per seal by default', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(32);
      const aad = randomBytes(randomInt(0, 300));
      const plain = randomBytes([0, 1, 16, 32, 33, 1000, 4096][i % 7] ?? 0);
      const iv = randomBytes(12);
      assert.ok(gcmSeal(key, plain, aad, iv).equals(reference(key, iv, aad, plain)), `plaintext ${plain.length}`);
      const sealed = gcmSeal(SecretBytes.copyOf(key), plain, aad);
      ivs.add(sealed.subarray(0, 12).toString('hex'));
      assert.ok(sealed.equals(reference(key, sealed.subarray(0, 12), aad, plain)));
      assert.ok(gcmOpen(key, sealed, aad).equals(plain));
    }
    assert.equal(ivs.size, 200);
  });

  it('leave no plaintext behind in the buffer a refused open wrote it into (either path)', (t) => {
    // A wrong aad leaves key and IV right: the bytes written before the tag check are the
    // real plaintext, in node:crypto's update output (fallback) or gcmOpen's allocUnsafeSlow.
    const key = randomBytes(32);
    const secret = Buffer.alloc(37, 0x5c);
    const sealed = gcmSeal(key, secret, Buffer.from('binding'));
    const decipher = Object.getPrototypeOf(createDecipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12))) as { update: (...a: unknown[]) => unknown };
    const updated = t.mock.method(decipher, 'update');
    const made = t.mock.method(Buffer, 'allocUnsafeSlow');
    expectAeadError(() => gcmOpen(key, sealed, Buffer.from('bindinG')), 'other aad');
    const written = [...updated.mock.calls, ...made.mock.calls].map((c) => c.result as Buffer).filter((b) => Buffer.isBuffer(b) && b.length === secret.length);
    assert.equal(written.length, 1, 'the buffer the plaintext was written into was seen');
    assert.ok(written[0]!.every((b) => b === 0), 'unauthenticated plaintext left in memory');
  });

  it('refuse every bit flip, truncation, extension, wrong key, wrong aad, and a wrong key length, with AeadError', () => {
    const key = randomBytes(32);
    const aad = Buffer.from('binding');
    const sealed = gcmSeal(key, randomBytes(32), aad);
    for (let i = 0; i < sealed.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(sealed);
        bad[i]! ^= 1 << bit;
        expectAeadError(() => gcmOpen(key, bad, aad), `byte ${i} bit ${bit}`);
      }
    }
    for (let len = 0; len < sealed.length; len++) expectAeadError(() => gcmOpen(key, sealed.subarray(0, len), aad), `truncated to ${len}`);
    expectAeadError(() => gcmOpen(key, Buffer.concat([sealed, Buffer.of(0)]), aad), 'extended');
    const other = Buffer.from(key);
    other[0]! ^= 1;
    expectAeadError(() => gcmOpen(other, sealed, aad), 'other key');
    expectAeadError(() => gcmOpen(key, sealed, Buffer.from('bindinG')), 'other aad');
    expectAeadError(() => gcmOpen(key.subarray(0, 16), sealed, aad), '16-byte key');
  });
});
