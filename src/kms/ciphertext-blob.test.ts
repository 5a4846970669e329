import { strict as assert } from 'node:assert';
import { createDecipheriv, hkdfSync, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { NATIVE_GCM_ENV, nativeGcm } from '../crypto/native-gcm/binding.js';
import { nodeGcm } from '../crypto/native-gcm/test-support.js';
import { BLOB_FORMAT, openBlob, readBlobHeader, sealBlob, type RandomSource } from './ciphertext-blob.js';
import { canonicalContext, prefixedCanonicalContext, type EncryptionContext } from './encryption-context.js';
import { InvalidCiphertextError } from './errors.js';

interface Vector {
  name: string;
  material: string;
  keyId: string;
  keyVersion: number;
  salt: string;
  iv: string;
  plaintext: string;
  canonicalContext: string;
  blob: string;
  context?: Record<string, string>;
}

const doc = JSON.parse(readFileSync(new URL('./testdata/blob-v1.json', import.meta.url), 'utf8')) as { version: number; vectors: Vector[] };
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Hands out the vector's salt ‖ IV (sealBlob's one 28-byte request), once, and refuses anything else. */
function fixedRandom(v: Vector): RandomSource {
  const queue = [Buffer.concat([hex(v.salt), hex(v.iv)])];
  return (n) => {
    const next = queue.shift();
    assert.ok(next !== undefined && next.length === n, 'unexpected randomness request');
    return next;
  };
}

function material(v: Vector): SecretBytes {
  return SecretBytes.copyOf(hex(v.material));
}

function expectInvalid(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => err instanceof InvalidCiphertextError && err.message === '', what);
}

describe('KMS blob v1 known-answer vectors (independent implementation of FORMAT.md)', () => {
  it('covers the cases FORMAT.md needs', () => {
    assert.equal(doc.version, 1);
    assert.ok(doc.vectors.length >= 6);
    assert.ok(doc.vectors.some((v) => v.context === undefined), 'a vector without context');
    assert.ok(doc.vectors.some((v) => v.keyVersion > 1), 'a rotated-version vector');
    assert.ok(doc.vectors.some((v) => hex(v.plaintext).length === 4096), 'a maximum-size vector');
  });

  for (const v of doc.vectors) {
    it(`seals: ${v.name}`, () => {
      const blob = sealBlob(material(v), v.keyId, v.keyVersion, hex(v.plaintext), v.context, fixedRandom(v));
      assert.equal(blob.toString('hex'), v.blob);
    });
    it(`opens: ${v.name}`, () => {
      assert.equal(openBlob(material(v), hex(v.blob), v.context).toString('hex'), v.plaintext);
      assert.deepEqual(readBlobHeader(hex(v.blob)), { format: BLOB_FORMAT.V1, keyId: v.keyId, keyVersion: v.keyVersion });
    });
    it(`canonical context: ${v.name}`, () => {
      assert.equal(canonicalContext(v.context).toString('hex'), v.canonicalContext);
    });
  }

  it('the two boundary vectors share everything but the context split, and differ', () => {
    const a = doc.vectors.find((v) => v.context?.['a'] === 'bc');
    const b = doc.vectors.find((v) => v.context?.['ab'] === 'c');
    assert.ok(a && b);
    assert.notEqual(a.canonicalContext, b.canonicalContext);
  });
});

describe('KMS blob: the path in use (native addon, or node:crypto when it is off) writes the bytes FORMAT.md says', () => {
  it(`runs on the addon unless ${NATIVE_GCM_ENV}=off (CI runs this file both ways)`, () => {
    assert.equal(nativeGcm() === undefined, process.env[NATIVE_GCM_ENV] === 'off');
  });

  /** FORMAT.md's Encrypt with node:crypto's own HKDF: independent of both paths of the module. */
  function reference(m: Buffer, keyId: string, version: number, salt: Buffer, iv: Buffer, plain: Buffer, context: EncryptionContext | undefined): Buffer {
    const u32 = Buffer.alloc(4);
    u32.writeUInt32BE(version);
    const header = Buffer.concat([Buffer.of(1), Buffer.from(keyId.replace(/-/g, ''), 'hex'), u32, salt, iv]);
    const key = Buffer.from(hkdfSync('sha256', m, salt, Buffer.from('cipherlake/kms/blob/v1'), 32));
    return Buffer.concat([header, nodeGcm(key, iv, Buffer.concat([header, canonicalContext(context)]), plain)]);
  }

  /** A context of `pairs` pairs with keys and values of random lengths (up to ~6 KiB in all). */
  function randomContext(pairs: number): EncryptionContext | undefined {
    if (pairs < 0) return undefined;
    const c: Record<string, string> = {};
    for (let i = 0; i < pairs; i++) c[`k${i}-${randomBytes(randomInt(0, 40)).toString('hex')}`] = randomBytes(randomInt(0, 400)).toString('base64');
    return c;
  }

  it('seals byte-identically to the reference and opens, over random material, contexts (0 to several KiB) and plaintexts (0 to 4096)', () => {
    const plainSizes = [0, 1, 15, 16, 32, 33, 64, 1000, 4095, 4096];
    for (let i = 0; i < 200; i++) {
      const m = randomBytes(32);
      const keyId = randomUUID();
      const version = randomInt(1, 2 ** 32 - 1);
      const salt = randomBytes(16);
      const iv = randomBytes(12);
      const plain = randomBytes(plainSizes[i % plainSizes.length] ?? 0);
      const context = randomContext(i % 7 === 0 ? -1 : randomInt(0, i % 5 === 0 ? 24 : 3));
      const random: RandomSource = (n) => {
        assert.equal(n, 28);
        return Buffer.concat([salt, iv]);
      };
      const blob = sealBlob(SecretBytes.copyOf(m), keyId, version, plain, context, random);
      const what = `plaintext ${plain.length}, context ${canonicalContext(context).length} bytes`;
      assert.ok(blob.equals(reference(m, keyId, version, salt, iv, plain, context)), what);
      assert.ok(openBlob(SecretBytes.copyOf(m), blob, context).equals(plain), what);
    }
  });
});

describe('KMS blob tamper sweep', () => {
  const v = doc.vectors.find((x) => x.name.startsWith('short text'))!;
  const blob = hex(v.blob);

  it('every single bit flip is InvalidCiphertextError', () => {
    const m = material(v);
    for (let i = 0; i < blob.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(blob);
        bad[i]! ^= 1 << bit;
        expectInvalid(() => openBlob(m, bad, v.context), `flip byte ${i} bit ${bit}`);
      }
    }
  });

  it('every truncation is InvalidCiphertextError', () => {
    const m = material(v);
    for (let len = 0; len < blob.length; len++) expectInvalid(() => openBlob(m, blob.subarray(0, len), v.context), `truncated to ${len}`);
  });

  it('every extension is InvalidCiphertextError', () => {
    const m = material(v);
    for (const extra of [Buffer.of(0), Buffer.of(0xff), Buffer.alloc(16), blob.subarray(49, 65), blob]) {
      expectInvalid(() => openBlob(m, Buffer.concat([blob, extra]), v.context), `extended by ${extra.length}`);
      expectInvalid(() => openBlob(m, Buffer.concat([extra, blob]), v.context), `prefixed by ${extra.length}`);
    }
  });

  it('wrong material (a blob from another installation) is InvalidCiphertextError', () => {
    const other = Buffer.from(hex(v.material));
    other[0]! ^= 1;
    expectInvalid(() => openBlob(SecretBytes.copyOf(other), blob, v.context), 'other material');
  });

  it('an unknown format code is refused by readBlobHeader', () => {
    for (const code of [0x00, 0x02, 0xff]) {
      const bad = Buffer.from(blob);
      bad[0] = code;
      expectInvalid(() => readBlobHeader(bad), `format ${code}`);
    }
  });
});

describe('KMS blob wrong-context table', () => {
  const base: EncryptionContext = { purpose: 'test', bucket: 'photos' };
  const rows: Array<[string, EncryptionContext | undefined, EncryptionContext | undefined]> = [
    ['extra pair', base, { ...base, extra: 'x' }],
    ['missing pair', base, { purpose: 'test' }],
    ['changed value', base, { purpose: 'test', bucket: 'photoz' }],
    ['changed key', base, { purpose: 'test', Bucket: 'photos' }],
    ['key/value boundary shift a:bc vs ab:c', { a: 'bc' }, { ab: 'c' }],
    ['key/value boundary shift ab:c vs a:bc', { ab: 'c' }, { a: 'bc' }],
    ['value moved between keys', { a: 'x', b: '' }, { a: '', b: 'x' }],
    ['context given, none expected', base, undefined],
    ['none given, context expected', undefined, base],
    ['empty value vs absent pair', { a: '' }, {}],
    ['unicode normalisation is not applied (NFC vs NFD)', { k: '\u00e9' }, { k: 'e\u0301' }],
  ];
  const m = SecretBytes.copyOf(Buffer.alloc(32, 7));
  const keyId = '00112233-4455-6677-8899-aabbccddeeff';

  for (const [name, sealedWith, openedWith] of rows) {
    it(name, () => {
      const blob = sealBlob(m, keyId, 1, Buffer.from('secret'), sealedWith);
      assert.equal(openBlob(m, blob, sealedWith).toString(), 'secret');
      expectInvalid(() => openBlob(m, blob, openedWith), name);
    });
  }

  it('a refused open leaves no plaintext behind in the buffer it was written into (either path)', (t) => {
    // Under a wrong context the key and IV are right: the bytes written before the tag check
    // are the real plaintext. node:crypto's update (fallback) or openBlob's allocUnsafeSlow
    // (addon) makes that buffer; every one of the plaintext's length must end up zeroed.
    const secret = Buffer.from('a secret of exactly forty-three bytes long!');
    const blob = sealBlob(m, keyId, 1, secret, base);
    const decipher = Object.getPrototypeOf(createDecipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12))) as { update: (...a: unknown[]) => unknown };
    const updated = t.mock.method(decipher, 'update');
    const made = t.mock.method(Buffer, 'allocUnsafeSlow');
    expectInvalid(() => openBlob(m, blob, { ...base, bucket: 'other' }), 'wrong context');
    const written = [...updated.mock.calls, ...made.mock.calls].map((c) => c.result as Buffer).filter((b) => Buffer.isBuffer(b) && b.length === secret.length);
    assert.equal(written.length, 1, 'the buffer the plaintext was written into was seen');
    assert.ok(written[0]!.every((b) => b === 0), 'unauthenticated plaintext left in memory');
  });

  it('absent and empty context are the same context', () => {
    const blob = sealBlob(m, keyId, 1, Buffer.from('secret'), undefined);
    assert.equal(openBlob(m, blob, {}).toString(), 'secret');
  });

  it('pair order does not matter', () => {
    const blob = sealBlob(m, keyId, 1, Buffer.from('secret'), { z: '1', a: '2', m: '3' });
    assert.equal(openBlob(m, blob, { a: '2', m: '3', z: '1' }).toString(), 'secret');
  });

  it('every seal draws a fresh salt and IV, also across refills of the randomness pool', () => {
    const seen = new Set<string>();
    const kept: [Buffer, string][] = [];
    const n = 1000; // several pools' worth
    for (let i = 0; i < n; i++) {
      const blob = sealBlob(m, keyId, 1, Buffer.from('secret'), undefined);
      seen.add(blob.subarray(21, 49).toString('hex'));
      assert.equal(openBlob(m, blob, undefined).toString(), 'secret');
      kept.push([blob, blob.toString('hex')]);
    }
    assert.equal(seen.size, n);
    // The salt and IV come from a pool refilled in place: no blob may share the pool's
    // memory, or a refill would rewrite its header after the fact.
    for (const [blob, hex] of kept) {
      assert.equal(blob.toString('hex'), hex, 'a blob changed after the pool was refilled');
      assert.equal(openBlob(m, blob, undefined).toString(), 'secret');
    }
  });
});

describe('canonicalContext injectivity', () => {
  const contexts: Array<EncryptionContext | undefined> = [
    undefined,
    { a: 'bc' },
    { ab: 'c' },
    { abc: '' },
    { '': 'abc' },
    { a: 'b', c: '' },
    { a: '', b: 'c' },
    { a: 'b\u0000c' },
    { 'a\u0000b': 'c' },
    { a: '\u0000\u0000\u0000\u0001b' },
    { a: 'b', bc: 'd' },
    { ab: 'bc', d: '' },
    { k: '\u00e9' },
    { k: 'e\u0301' },
    { '\u00e9': 'k' },
  ];

  it('distinct contexts never encode the same (pairwise over tricky cases)', () => {
    const seen = new Map<string, string>();
    for (const c of contexts) {
      const enc = canonicalContext(c).toString('hex');
      const id = JSON.stringify(c ?? {});
      const prior = seen.get(enc);
      assert.ok(prior === undefined || prior === id, `${id} collides with ${prior}`);
      seen.set(enc, id);
    }
    assert.equal(seen.size, contexts.length);
  });

  it('the encoding decodes back to the same pairs (so it is injective by construction)', () => {
    for (const c of contexts) assert.deepEqual(decodeCanonical(canonicalContext(c)), Object.fromEntries(Object.entries(c ?? {})));
  });

  it('sorts by UTF-8 bytes, not UTF-16 code units', () => {
    // In UTF-16 code units U+1F600 (D83D DE00) sorts before U+FF61; in UTF-8 (F0.. vs EF..) after.
    const enc = canonicalContext({ '\u{1F600}': 'emoji', '\uFF61': 'halfwidth' });
    const pairs = decodeCanonicalOrdered(enc);
    assert.deepEqual(pairs.map(([k]) => k), ['\uFF61', '\u{1F600}']);
  });

  it('a context of one pair (written directly, not through the sorted path) is the layout byte for byte, behind any prefix', () => {
    const u32 = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    // Independent of the implementation: the layout spelled out, strings encoded by Buffer.from.
    const layout = (pairs: Array<[string, string]>): Buffer =>
      Buffer.concat([u32(pairs.length), ...pairs.flatMap(([k, v]) => [u32(Buffer.byteLength(k)), Buffer.from(k), u32(Buffer.byteLength(v)), Buffer.from(v)])]);
    const singles: Array<[string, string]> = [
      ['purpose', 'test'],
      ['k', ''],
      ['', 'v'],
      ['', ''],
      ['ünï', 'cödé'],
      ['\u{1F600}', '\u{1F600}\uFF61é'],
      ['k', 'e\u0301\u0000'],
      ['lone', '\uD800x\uDC00'],
      ['\uD83D', 'lone high surrogate key'],
      ['κ'.repeat(300), 'a key too long to be cached, in two-byte characters'],
      ['aws:s3:arn', 'arn:aws:s3:::bücket/kéy/\u{10FFFF}'],
    ];
    for (const prefix of [Buffer.alloc(0), Buffer.from('01020304ff', 'hex')]) {
      assert.deepEqual(prefixedCanonicalContext(prefix, undefined), Buffer.concat([prefix, u32(0)]));
      assert.deepEqual(prefixedCanonicalContext(prefix, {}), Buffer.concat([prefix, u32(0)]));
      for (const [k, v] of singles) {
        // Twice: the second finds the key's bytes cached.
        for (let i = 0; i < 2; i++) assert.deepEqual(prefixedCanonicalContext(prefix, { [k]: v }), Buffer.concat([prefix, layout([[k, v]])]), `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      }
    }
    // The same pairs among others take the sorted path; its bytes for them are the layout's too.
    const two: Array<[string, string]> = [['\uFF61', ''], ['\u{1F600}', 'ü']]; // in UTF-8 byte order
    assert.deepEqual(canonicalContext(Object.fromEntries([...two].reverse())), layout(two));
  });

  it('absent and empty are u32(0)', () => {
    assert.equal(canonicalContext(undefined).toString('hex'), '00000000');
    assert.equal(canonicalContext({}).toString('hex'), '00000000');
  });
});

function decodeCanonicalOrdered(buf: Buffer): Array<[string, string]> {
  let off = 0;
  const take = (): Buffer => {
    const n = buf.readUInt32BE(off);
    off += 4;
    const out = buf.subarray(off, off + n);
    off += n;
    return out;
  };
  const count = buf.readUInt32BE(0);
  off = 4;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) pairs.push([take().toString('utf8'), take().toString('utf8')]);
  assert.equal(off, buf.length, 'no trailing bytes');
  return pairs;
}

function decodeCanonical(buf: Buffer): Record<string, string> {
  return Object.fromEntries(decodeCanonicalOrdered(buf));
}
