import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DecryptionError, sealBuffer, SecretBytes } from '../../crypto/index.js';
import { FsObjectBackend } from '../../store/fs-objects/fs-object-backend.js';
import type { ObjectRecord } from '../metadata-store.js';
import type { S3Deps } from '../s3-deps.js';
import { dataBinding } from '../sse/sealing.js';
import { plaintextBatches } from './read-large.js';

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
