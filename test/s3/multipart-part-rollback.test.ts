import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filesUnder } from '../helpers/files.js';
import { errorCode, receiveGet, type Received } from './helpers.js';

// Re-uploading a part number replaces the part. Each upload of a part is sealed under its own
// key (derivePartKey with a fresh salt kept in the part row, s3/MULTIPART.md), so the sealed
// stream of the part it replaced, kept by someone who can change the body files but not
// metadata.db, and put back where the new part stands in the completed body, fails to open:
// the GET fails and never delivers the replaced content. (With one key per part number, the
// old stream opened as that part. A writer of metadata.db who restores the old salt too
// fails on the part list's tag: the last test below.)

const B = 'rollback';
const MiB = 1024 * 1024;
const PART = 5 * MiB;

/** What a GET of `key` delivers (receiveGet). */
const receive = (s3: S3Client, key: string, extra: { Range?: string; PartNumber?: number } = {}): Promise<Received> => receiveGet(s3, { Bucket: B, Key: key, ...extra });

describe('S3 multipart: a replaced part, or a rewritten part list, put back into a completed object', () => {
  let t: TestServer;
  let s3: S3Client;
  let db: Database.Database;
  let data = '';

  before(async () => {
    t = await startTestServer();
    s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    data = join(t.dataDir, 'objects', 'data');
    db = new Database(join(t.dataDir, 'metadata.db'));
  });
  after(async () => {
    db?.close();
    await t?.close();
  });

  /** A file under the data directory that appeared during `action`. */
  async function newFile(action: () => Promise<unknown>): Promise<string> {
    const seen = new Set(filesUnder(data));
    await action();
    const added = filesUnder(data).filter((f) => !seen.has(f));
    assert.equal(added.length, 1, 'one new body file');
    return added[0]!;
  }

  /**
   * Uploads parts 1–3 of `key`, part `replaced` twice (the first time with `old`), completes,
   * and returns the completed body file, the replaced part's first sealed stream and its
   * offset in the body (parts 1 and 2 have the same size, so their sealed streams too).
   */
  async function completeWithReplacedPart(key: string, replaced: 1 | 2, plains: Buffer[], old: Buffer): Promise<{ body: string; oldSealed: Buffer; offset: number }> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
    const upload = (n: number, Body: Buffer): Promise<string> => s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: n, Body })).then((r) => r.ETag!);
    const oldFile = await newFile(() => upload(replaced, old));
    const oldSealed = readFileSync(oldFile);
    const etags = [];
    for (let n = 1; n <= plains.length; n++) etags.push(await upload(n, plains[n - 1]!));
    const parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
    const body = await newFile(() => s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId, MultipartUpload: { Parts: parts } })));
    return { body, oldSealed, offset: (replaced - 1) * oldSealed.length };
  }

  for (const replaced of [1, 2] as const) {
    it(`part ${replaced}: the untampered object reads back; with the replaced stream spliced in, whole, ranged and partNumber GETs fail without its bytes`, async () => {
      const key = `replaced-${replaced}`;
      const plains = [Buffer.alloc(PART, 0x11), Buffer.alloc(PART, 0x22), Buffer.alloc(1000, 0x33)];
      const old = Buffer.alloc(PART, 0xee);
      const { body, oldSealed, offset } = await completeWithReplacedPart(key, replaced, plains, old);
      const whole = Buffer.concat(plains);
      const clean = await receive(s3, key);
      assert.equal(clean.failed, false);
      assert.ok(clean.bytes.equals(whole), 'the completed object holds the new part');

      const sealed = readFileSync(body);
      // The same size in, the same offsets after: only the replaced part's bytes differ.
      writeFileSync(body, Buffer.concat([sealed.subarray(0, offset), oldSealed, sealed.subarray(offset + oldSealed.length)]));
      const start = (replaced - 1) * PART;
      for (const extra of [{}, { Range: `bytes=${start}-${start + 99}` }, { PartNumber: replaced }]) {
        const r = await receive(s3, key, extra);
        assert.equal(r.failed, true, JSON.stringify(extra));
        assert.equal(r.bytes.includes(0xee), false, `no byte of the replaced part (${JSON.stringify(extra)})`);
        // What arrived is the object's verified prefix, nothing past the spliced part's start.
        assert.ok(r.bytes.length <= start && r.bytes.equals(whole.subarray(0, r.bytes.length)), JSON.stringify(extra));
        if (r.bytes.length === 0 && r.status !== undefined) assert.equal(r.status, '500 InternalError', JSON.stringify(extra));
      }
      // The parts it did not touch still read.
      const other = replaced === 1 ? 2 : 1;
      const untouched = await receive(s3, key, { PartNumber: other });
      assert.equal(untouched.failed, false);
      assert.ok(untouched.bytes.equals(plains[other - 1]!));
    });
  }

  // The part list itself (numbers, sizes, key salts: s3_objects.parts) is tagged at completion
  // under a key derived from the object key (partListTag), and checked before a multipart body
  // is read: a list rewritten in metadata.db together with the body — parts dropped, reordered
  // or repeated, a replaced part and its old salt put back, the tag removed — fails instead of
  // joining part streams that each open.
  interface Row {
    storage_id: string;
    parts: string;
    size: number;
    parts_tag: string | null;
  }
  const rowOf = (key: string): Row => db.prepare('SELECT storage_id, parts, size, parts_tag FROM s3_objects WHERE bucket = ? AND key = ?').get(B, key) as Row;
  const setRow = (key: string, r: Pick<Row, 'parts' | 'size' | 'parts_tag'>): void => {
    db.prepare('UPDATE s3_objects SET parts = ?, size = ?, parts_tag = ? WHERE bucket = ? AND key = ?').run(r.parts, r.size, r.parts_tag, B, key);
  };

  it('parts dropped, reordered or repeated (body to match), a replaced part with its old salt, or the tag removed: GET and copy fail; restored, it reads', async () => {
    const key = 'listed';
    const plains = [Buffer.alloc(PART, 0x11), Buffer.alloc(PART, 0x22), Buffer.alloc(PART, 0x33)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
    const upload = (n: number, Body: Buffer): Promise<string> => s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: n, Body })).then((r) => r.ETag!);
    // Part 2 first uploaded with other bytes, its file and salt kept, then replaced.
    const oldStream = readFileSync(await newFile(() => upload(2, Buffer.alloc(PART, 0xee))));
    const oldSalt = (db.prepare('SELECT key_salt FROM s3_upload_parts WHERE upload_id = ? AND part_number = 2').get(UploadId) as { key_salt: string }).key_salt;
    const etags = [];
    for (let n = 1; n <= 3; n++) etags.push(await upload(n, plains[n - 1]!));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    const row = rowOf(key);
    assert.equal(typeof row.parts_tag, 'string', 'the completion tagged its part list');
    const path = filesUnder(data).find((f) => f.endsWith(row.storage_id))!;
    const body = readFileSync(path);
    const unit = body.length / 3;
    const stream = (i: number): Buffer => body.subarray(i * unit, (i + 1) * unit);
    const list = JSON.parse(row.parts) as Array<{ partNumber: number; size: number; keySalt: string }>;
    const [p1, p2, p3] = list as [typeof list[0], typeof list[0], typeof list[0]];
    const whole = Buffer.concat(plains);

    const cases: Array<[string, typeof list, Buffer[], string | null]> = [
      ['part 2 dropped', [p1, p3], [stream(0), stream(2)], row.parts_tag],
      ['parts 1 and 2 swapped', [p2, p1, p3], [stream(1), stream(0), stream(2)], row.parts_tag],
      ['part 1 repeated', [p1, p1, p3], [stream(0), stream(0), stream(2)], row.parts_tag],
      ['the replaced part 2 and its salt put back', [p1, { ...p2, keySalt: oldSalt }, p3], [stream(0), oldStream, stream(2)], row.parts_tag],
      ['the tag removed', list, [body], null],
    ];
    for (const [what, parts, streams, tag] of cases) {
      const tampered = Buffer.concat(streams);
      writeFileSync(path, tampered);
      setRow(key, { parts: JSON.stringify(parts), size: parts.reduce((n, p) => n + p.size, 0), parts_tag: tag });
      const r = await receive(s3, key);
      assert.equal(r.failed, true, what);
      assert.equal(r.bytes.length, 0, `${what}: nothing sent`);
      assert.equal(r.status, '500 InternalError', what);
      assert.equal(await errorCode(s3.send(new CopyObjectCommand({ Bucket: B, Key: `copy-of-${key}`, CopySource: `${B}/${key}` }))), '500 InternalError', `${what}: copy`);
    }
    writeFileSync(path, body);
    setRow(key, row);
    const clean = await receive(s3, key);
    assert.equal(clean.failed, false);
    assert.ok(clean.bytes.equals(whole), 'restored, it reads');
    // And copies: the refusals above were the list's, not the copy's.
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: `copy-of-${key}`, CopySource: `${B}/${key}` }));
    const copy = await receive(s3, `copy-of-${key}`);
    assert.equal(copy.failed, false);
    assert.ok(copy.bytes.equals(whole), 'restored, it copies');
  });
});
