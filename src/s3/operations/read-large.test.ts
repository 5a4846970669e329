import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DecryptionError, sealBuffer, SecretBytes } from '../../crypto/index.js';
import { FsObjectBackend } from '../../store/fs-objects/fs-object-backend.js';
import type { ObjectRecord, PartLayout } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding, derivePartKey, newPartKeySalt, partDataBinding, partListTag, type SealedObjectKey } from '../sse/sealing.js';
import { plaintextBatches } from './read-large.js';

/** A sealed key's shape for records the reader gets its key for directly (only its mode is read: partListVerifies). */
const SSE_S3 = { v: 1, mode: 'SSE-S3', kmsBlob: '', sealed: '' } as SealedObjectKey;

// plaintextBatches over a real FsObjectBackend: the fields it reads of S3Deps and ObjectRecord
// are the backend and the body's location, size and segment size; the rest is never touched.
describe('plaintextBatches', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-read-large-'));
  const backend = new FsObjectBackend(root);
  const deps = { backend } as unknown as S3Deps;
  after(() => rmSync(root, { recursive: true, force: true }));

  interface Stored {
    readonly record: ObjectRecord;
    readonly key: Buffer;
    readonly plain: Buffer;
    readonly path: string;
  }

  async function store(size: number, segmentSize = 64 * 1024): Promise<Stored> {
    const plain = randomBytes(size);
    const key = randomBytes(32);
    const binding = { bucket: 'b', key: `k-${size}`, objectId: randomUUID() };
    const sealed = sealBuffer(SecretBytes.copyOf(key), plain, { aad: dataBinding(binding), segmentSize });
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.once('error', reject).end(sealed, resolve));
    await pending.commit();
    const record = { ...binding, storageId: pending.storageId, size, segmentSize } as unknown as ObjectRecord;
    return { record, key, plain, path: join(root, 'data', pending.storageId.slice(0, 2), pending.storageId) };
  }

  async function read(s: Stored, range?: { start: number; endInclusive: number }): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const batch of plaintextBatches(deps, s.record, SecretBytes.copyOf(s.key), range)) out.push(...batch);
    return Buffer.concat(out);
  }

  it('reads whole objects and ranges of them, one after another and at once (pooled read buffers)', async () => {
    const objects = await Promise.all([store(3 * 1024 * 1024 + 5), store(1024 * 1024), store(200_001), store(5000, 1000)]);
    for (const s of objects) assert.ok((await read(s)).equals(s.plain), `whole ${s.plain.length}`);
    const ranges = objects.flatMap((s) => [0, 1, 65_535, 65_536, s.plain.length - 1].filter((a) => a < s.plain.length).map((a) => ({ s, a, b: Math.min(s.plain.length - 1, a + 1_200_000) })));
    const got = await Promise.all(ranges.map(({ s, a, b }) => read(s, { start: a, endInclusive: b })));
    ranges.forEach(({ s, a, b }, i) => assert.ok(got[i]!.equals(s.plain.subarray(a, b + 1)), `${s.plain.length} bytes ${a}-${b}`));
  });

  it('a GET abandoned while its read-ahead is in flight keeps its buffers until that read landed (no bytes spill into other GETs)', async () => {
    const objects = await Promise.all([store(4 * 1024 * 1024 + 7), store(3 * 1024 * 1024 + 1)]);
    // The abandoned GETs' reads land late (as a slow disk would): a buffer handed back to the
    // pool before its read landed would be overwritten under a GET running meanwhile.
    const late: S3Deps = {
      backend: {
        openReader: async (storageId: string) => {
          const reader = await backend.openReader(storageId);
          return {
            read: async (buffer: Buffer, offset: number, length: number, position: number) => {
              const scratch = Buffer.alloc(length);
              const n = await reader.read(scratch, 0, length, position);
              await new Promise((resolve) => setTimeout(resolve, 40));
              scratch.copy(buffer, offset, 0, n);
              return n;
            },
            close: () => reader.close(),
          };
        },
      },
    } as unknown as S3Deps;
    const abandon = async (s: Stored): Promise<void> => {
      for await (const batch of plaintextBatches(late, s.record, SecretBytes.copyOf(s.key))) {
        assert.ok(batch.length > 0);
        break;
      }
    };
    const slowRead = async (s: Stored): Promise<Buffer> => {
      const out: Buffer[] = [];
      for await (const batch of plaintextBatches(deps, s.record, SecretBytes.copyOf(s.key))) {
        out.push(...batch);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      return Buffer.concat(out);
    };
    for (let round = 0; round < 3; round++) {
      const abandoned = Promise.all([...objects, ...objects].map((s) => abandon(s)));
      // Let the abandoned GETs reach their first batch (read-ahead in flight), then start the others.
      await new Promise((resolve) => setTimeout(resolve, 60));
      const whole = objects.map((s) => slowRead(s));
      const got = await Promise.all(whole);
      await abandoned;
      objects.forEach((s, i) => assert.ok(got[i]!.equals(s.plain), `round ${round}, object ${i}`));
    }
  });

  it('a flipped byte in the header (read with the first segments), a body cut short or one byte too long raises DecryptionError', async () => {
    const s = await store(2 * 1024 * 1024 + 100);
    const original = readFileSync(s.path);
    for (const offset of [0, 4, 10, 44, 45, original.length - 1]) {
      const copy = Buffer.from(original);
      copy[offset] = copy[offset]! ^ 0x01;
      writeFileSync(s.path, copy);
      await assert.rejects(read(s), DecryptionError, `flip at ${offset}`);
      // A range in the middle reads the header on its own: it must fail the same way.
      if (offset < 45) await assert.rejects(read(s, { start: 1024 * 1024, endInclusive: 1024 * 1024 + 10 }), DecryptionError, `ranged, flip at ${offset}`);
    }
    for (const length of [0, 20, 45, 46, original.length - 1]) {
      writeFileSync(s.path, original);
      truncateSync(s.path, length);
      await assert.rejects(read(s), DecryptionError, `cut at ${length}`);
    }
    writeFileSync(s.path, Buffer.concat([original, Buffer.from([0])]));
    await assert.rejects(read(s), DecryptionError, 'one byte too long');
    writeFileSync(s.path, original);
    assert.ok((await read(s)).equals(s.plain));
  });
});

// A multipart object: each part its own segment stream under its part key and binding, back
// to back in one body file (MULTIPART.md). Parts here may be small (the 5 MiB minimum is
// CompleteMultipartUpload's rule, not the reader's), so many boundaries fit in little data.
describe('plaintextBatches of a multipart object', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-read-large-mp-'));
  const backend = new FsObjectBackend(root);
  const deps = { backend } as unknown as S3Deps;
  after(() => rmSync(root, { recursive: true, force: true }));

  interface StoredParts {
    readonly record: ObjectRecord;
    readonly key: Buffer;
    readonly plain: Buffer;
    readonly path: string;
    /** Each part's sealed stream, in order. */
    readonly sealed: Buffer[];
  }

  /**
   * `salted`: part keys with a salt each, as every part written now (else v1, as parts written
   * before salts); per part when an array (an upload begun before salts and completed after).
   */
  async function storeParts(sizes: readonly number[], segmentSize = 64 * 1024, salted: boolean | readonly boolean[] = false): Promise<StoredParts> {
    const plains = sizes.map((n) => randomBytes(n));
    const key = randomBytes(32);
    const binding = { bucket: 'b', key: `mp-${sizes.join('-')}`, objectId: randomUUID() };
    const salts = sizes.map((_, i) => ((typeof salted === 'boolean' ? salted : salted[i] === true) ? newPartKeySalt() : undefined));
    const sealed = plains.map((plain, i) => {
      const partKey = derivePartKey(SecretBytes.copyOf(key), i + 1, salts[i]);
      try {
        return sealBuffer(partKey, plain, { aad: partDataBinding(binding, i + 1), segmentSize });
      } finally {
        partKey.dispose();
      }
    });
    const pending = await backend.create();
    await new Promise<void>((resolve, reject) => pending.stream.once('error', reject).end(Buffer.concat(sealed), resolve));
    await pending.commit();
    const plain = Buffer.concat(plains);
    const parts = sizes.map((size, i) => ({ partNumber: i + 1, size, ...(salts[i] !== undefined ? { keySalt: salts[i] } : {}) }));
    // Tagged as a completion does (every list with a salted part owes its tag).
    const partsTag = salts.some((x) => x !== undefined) ? partListTag(SecretBytes.copyOf(key), binding, parts) : undefined;
    const record = { ...binding, storageId: pending.storageId, size: plain.length, segmentSize, parts, sealedKey: SSE_S3, ...(partsTag !== undefined ? { partsTag } : {}) } as unknown as ObjectRecord;
    return { record, key, plain, path: join(root, 'data', pending.storageId.slice(0, 2), pending.storageId), sealed };
  }

  /** `s` with another part list, tagged under its key (as if completed so) unless `tagged` is false. */
  function withParts(s: StoredParts, parts: readonly PartLayout[], tagged = true): StoredParts {
    const { partsTag: _, ...rest } = s.record;
    const record = { ...rest, parts, ...(tagged ? { partsTag: partListTag(SecretBytes.copyOf(s.key), s.record, parts) } : {}) } as ObjectRecord;
    return { ...s, record };
  }

  async function read(s: StoredParts, range?: { start: number; endInclusive: number }, into?: Buffer[]): Promise<Buffer> {
    const out = into ?? [];
    for await (const batch of plaintextBatches(deps, s.record, SecretBytes.copyOf(s.key), range)) out.push(...batch);
    return Buffer.concat(out);
  }

  /** What a failed read delivered before it raised. */
  async function readUntilFailure(s: StoredParts, range?: { start: number; endInclusive: number }): Promise<Buffer> {
    const out: Buffer[] = [];
    await assert.rejects(read(s, range, out), DecryptionError);
    return Buffer.concat(out);
  }

  it('reads whole objects and ranges within a part, across part boundaries and to the end, parts of odd sizes', async () => {
    const objects = await Promise.all([
      // Odd sizes, a part of whole segments, a part of more than one read (~1 MiB), a one-byte part, an empty last part.
      storeParts([200_001, 3 * 64 * 1024, 1_100_000, 1, 70_000, 0]),
      storeParts([5000, 1, 2999, 1000, 12_345], 1000),
      storeParts([2_500_000]),
      storeParts([200_001, 1_100_000, 1, 70_000, 0], 64 * 1024, true),
      // Mixed: v1 and v2 parts in one object, the empty last parts one of each.
      storeParts([200_001, 1_100_000, 1, 70_000, 0, 0], 64 * 1024, [false, true, false, true, false, true]),
      storeParts([5000, 1, 2999, 1000, 12_345], 1000, [true, false, true, false, false]),
    ]);
    for (const s of objects) {
      assert.ok((await read(s)).equals(s.plain), `whole ${s.record.key}`);
      const bounds: number[] = [];
      let at = 0;
      for (const p of s.record.parts!) {
        at += p.size;
        bounds.push(at);
      }
      const size = s.plain.length;
      const points = [...new Set([0, 1, 999, 1000, 65_535, 65_536, size - 1, ...bounds.flatMap((b) => [b - 2, b - 1, b, b + 1])])].filter((a) => a >= 0 && a < size);
      const ranges = points.flatMap((a) => [0, 1, 65_536, 1_300_000].map((len) => ({ a, b: Math.min(size - 1, a + len) })));
      const got = await Promise.all(ranges.map(({ a, b }) => read(s, { start: a, endInclusive: b })));
      ranges.forEach(({ a, b }, i) => assert.ok(got[i]!.equals(s.plain.subarray(a, b + 1)), `${s.record.key} bytes ${a}-${b}`));
    }
  });

  it('salted parts open only under their own salt: a part whose recorded salt is another fails the reads that touch it', async () => {
    const s = await storeParts([100_000, 100_000, 100_000], 64 * 1024, true);
    assert.ok((await read(s)).equals(s.plain));
    const parts = s.record.parts!.map((p, i) => (i === 1 ? { ...p, keySalt: newPartKeySalt() } : p));
    // Untagged for that list, it fails before any part is read (partListVerifies).
    assert.equal((await readUntilFailure(withParts(s, parts, false))).length, 0);
    // Tagged for it (only the key holder could), part 2 still opens only under its own salt.
    const other = withParts(s, parts);
    assert.ok((await readUntilFailure(other)).equals(s.plain.subarray(0, 100_000)), 'part 1, nothing of part 2');
    assert.ok((await read(other, { start: 0, endInclusive: 99_999 })).equals(s.plain.subarray(0, 100_000)), 'part 1 alone still reads');
    await readUntilFailure(other, { start: 150_000, endInclusive: 150_001 });
    // Its v1 key (no salt recorded) does not open it either.
    const unsalted = withParts(s, s.record.parts!.map(({ keySalt: _, ...p }) => p), false);
    assert.equal((await readUntilFailure(unsalted)).length, 0);
  });

  it('derives each part key only for the parts read, and disposes every key when the read ends early or fails', async () => {
    const s = await storeParts([1_100_000, 1_100_000, 1_100_000]);
    const adopt = SecretBytes.adopt;
    const made: SecretBytes[] = [];
    SecretBytes.adopt = (bytes: Buffer) => {
      const k = adopt(bytes);
      made.push(k);
      return k;
    };
    const disposed = (k: SecretBytes): boolean => {
      try {
        k.unsafeBytes();
        return false;
      } catch {
        return true;
      }
    };
    try {
      const objectKey = SecretBytes.copyOf(s.key);
      for await (const batch of plaintextBatches(deps, s.record, objectKey, { start: 1_100_000 + 5, endInclusive: 2 * 1_100_000 + 5 })) {
        assert.ok(batch.length > 0);
        break;
      }
      assert.equal(made.length, 1, 'a range in part 2 derives its key only, once its first batch is asked for');
      assert.ok(made.every(disposed) && disposed(objectKey), 'part key and object key disposed after an early end');
      made.length = 0;
      const original = readFileSync(s.path);
      const bad = Buffer.from(original);
      const flip = s.sealed[0]!.length + 5000;
      bad[flip] = bad[flip]! ^ 0x10;
      writeFileSync(s.path, bad);
      const failing = SecretBytes.copyOf(s.key);
      const got = await readUntilFailure(s);
      writeFileSync(s.path, original);
      assert.ok(got.equals(s.plain.subarray(0, 1_100_000)), 'part 1 whole, nothing of part 2');
      assert.equal(made.length, 2);
      assert.ok(made.every(disposed), 'part keys disposed after a failure');
      assert.ok(!disposed(failing), 'a key the read was not given is not touched');
    } finally {
      SecretBytes.adopt = adopt;
    }
  });

  it('a flipped byte in a part fails the reads that touch it after the verified prefix, and only those', async () => {
    const s = await storeParts([1_200_000, 2_100_000, 300_000]);
    const original = readFileSync(s.path);
    const p2 = s.sealed[0]!.length;
    const p3 = p2 + s.sealed[1]!.length;
    const unit = 64 * 1024 + 16;
    // Part 2's header (salt, nonce prefix), its first segment, a segment of its second read, its final tag; part 3's first byte.
    for (const at of [p2 + 1, p2 + 20, p2 + 45, p2 + 45 + 17 * unit + 9, p3 - 1, p3]) {
      const bad = Buffer.from(original);
      bad[at] = bad[at]! ^ 0x01;
      writeFileSync(s.path, bad);
      try {
        const got = await readUntilFailure(s);
        assert.ok(got.equals(s.plain.subarray(0, got.length)), `flip at ${at}: a verified prefix`);
        // Nothing of the batch that holds the bad segment: a part's batches start at its first segment.
        const partStart = at < p3 ? 1_200_000 : 1_200_000 + 2_100_000;
        const segmentInPart = Math.max(0, Math.floor((at - (at < p3 ? p2 : p3) - 45) / unit));
        assert.ok(got.length <= partStart + Math.floor(segmentInPart / 16) * 16 * 64 * 1024, `flip at ${at}: ${got.length} bytes delivered`);
        assert.ok((await read(s, { start: 0, endInclusive: 1_199_999 })).equals(s.plain.subarray(0, 1_200_000)), 'part 1 alone still reads');
        if (at < p3) assert.ok((await read(s, { start: 3_300_000, endInclusive: 3_599_999 })).equals(s.plain.subarray(3_300_000)), 'part 3 alone still reads');
        await readUntilFailure(s, { start: at < p3 ? 1_200_000 : 3_300_000, endInclusive: at < p3 ? 3_299_999 : 3_599_999 });
      } finally {
        writeFileSync(s.path, original);
      }
    }
  });

  it('empty last parts: a read to the end opens their streams, so a body extended past them or with them cut or altered fails before any batch', async () => {
    // Only the last part of a completed upload may be empty (EntityTooSmall for the others),
    // but the reader takes any layout: two empty parts after the last one with bytes.
    const s = await storeParts([70_000, 1_100_000, 0, 0]);
    const original = readFileSync(s.path);
    const tail = s.sealed[0]!.length + s.sealed[1]!.length;
    const [, , e3, e4] = s.sealed as [Buffer, Buffer, Buffer, Buffer];
    assert.equal(original.length, tail + e3.length + e4.length);
    assert.ok((await read(s)).equals(s.plain));
    const flipped = (at: number): Buffer => {
      const copy = Buffer.from(original);
      copy[at] = copy[at]! ^ 0x01;
      return copy;
    };
    for (const [name, bytes] of [
      ['one byte too long', Buffer.concat([original, Buffer.from([0])])],
      ['the last empty part cut', original.subarray(0, tail + e3.length)],
      ['both empty parts cut', original.subarray(0, tail)],
      ['one byte short', original.subarray(0, original.length - 1)],
      ['the empty parts swapped', Buffer.concat([original.subarray(0, tail), e4, e3])],
      ['a flipped byte in the header of part 3', flipped(tail + 10)],
      ['a flipped byte in the tag of part 4', flipped(original.length - 1)],
    ] as const) {
      writeFileSync(s.path, bytes);
      try {
        assert.equal((await readUntilFailure(s)).length, 0, `${name}: nothing before the failure`);
        assert.equal((await readUntilFailure(s, { start: 69_000, endInclusive: s.plain.length - 1 })).length, 0, `${name}: a range to the end`);
        // A range that stops before the end reads as before (as a single-part range never reads the byte past the body).
        assert.ok((await read(s, { start: 69_000, endInclusive: s.plain.length - 2 })).equals(s.plain.subarray(69_000, s.plain.length - 1)), `${name}: a range short of the end`);
      } finally {
        writeFileSync(s.path, original);
      }
    }
    assert.ok((await read(s, { start: 1, endInclusive: s.plain.length - 1 })).equals(s.plain.subarray(1)));
  });

  it('two parts swapped, a body cut short anywhere or one byte too long raises DecryptionError', async () => {
    const s = await storeParts([700_000, 700_000, 100_000]);
    const original = readFileSync(s.path);
    const [a, b, c] = s.sealed as [Buffer, Buffer, Buffer];
    writeFileSync(s.path, Buffer.concat([b, a, c]));
    assert.equal((await readUntilFailure(s)).length, 0, 'part 2 where part 1 belongs opens nothing');
    await readUntilFailure(s, { start: 700_000, endInclusive: 700_010 });
    assert.ok((await read(s, { start: 1_400_000, endInclusive: 1_499_999 })).equals(s.plain.subarray(1_400_000)), 'part 3 is in its place');
    for (const length of [a.length - 1, a.length, a.length + 44, a.length + b.length - 1, a.length + b.length, original.length - 1]) {
      writeFileSync(s.path, original.subarray(0, length));
      const got = await readUntilFailure(s);
      assert.ok(got.equals(s.plain.subarray(0, got.length)), `cut at ${length}`);
    }
    writeFileSync(s.path, Buffer.concat([original, Buffer.from([0])]));
    await readUntilFailure(s);
    await readUntilFailure(s, { start: 1_450_000, endInclusive: 1_499_999 });
    writeFileSync(s.path, original);
    assert.ok((await read(s)).equals(s.plain));
  });
});
