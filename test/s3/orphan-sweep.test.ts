import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { bodyFile } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';

const B = 'sweep';

/** Every body file a row references: objects' (not inline) and multipart parts'. */
function referenced(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'metadata.db'), { readonly: true });
  try {
    const objects = db.prepare("SELECT storage_id FROM s3_objects WHERE storage_id <> 'inline'").pluck().all() as string[];
    const parts = db.prepare('SELECT storage_id FROM s3_upload_parts').pluck().all() as string[];
    return [...objects, ...parts];
  } finally {
    db.close();
  }
}

describe('orphan body sweep at server start', () => {
  let server: TestServer | undefined;
  after(async () => server?.close());

  it('removes a body file no row references, keeps referenced ones (objects and parts in progress) and names that are not storage ids', async () => {
    server = await startTestServer();
    const s3 = server.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const fileBody = randomBytes(200 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'file', Body: fileBody }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'inline', Body: Buffer.from('small') }));
    const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    await s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId: mp.UploadId, PartNumber: 1, Body: randomBytes(100 * 1024) }));
    const dataDir = server.dataDir;
    const kept = referenced(dataDir);
    assert.equal(kept.length, 2, 'one object body and one part body');
    await server.stop();

    // As if a PUT renamed its body into place and crashed before its row committed: one in an
    // existing fan-out directory, one in a fresh one.
    const orphans = [kept[0]!.slice(0, 2) + randomUUID().slice(2), 'ff' + randomUUID().slice(2)];
    for (const id of orphans) {
      mkdirSync(dirname(bodyFile(dataDir, id)), { recursive: true });
      writeFileSync(bodyFile(dataDir, id), randomBytes(1000));
    }
    const stranger = join(dataDir, 'objects', 'data', 'ff', 'not-a-storage-id');
    writeFileSync(stranger, 'x');

    server = await server.restart();
    for (const id of orphans) assert.equal(existsSync(bodyFile(dataDir, id)), false, `orphan ${id} removed`);
    for (const id of kept) assert.equal(existsSync(bodyFile(dataDir, id)), true, `referenced ${id} kept`);
    assert.equal(existsSync(stranger), true, 'a name that is not a storage id is left alone');
    const got = await server.s3().send(new GetObjectCommand({ Bucket: B, Key: 'file' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(fileBody));
  });

  it("removes an overwritten object's old body whose removal (started after the PUT's answer) a crash cut short", async () => {
    await server?.close();
    server = await startTestServer();
    const s3 = server.s3();
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'over', Body: randomBytes(200 * 1024) }));
    const dataDir = server.dataDir;
    const [old] = referenced(dataDir);
    const oldBytes = readFileSync(bodyFile(dataDir, old!));
    const newBody = randomBytes(300 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'over', Body: newBody }));
    const [current] = referenced(dataDir);
    assert.notEqual(current, old);
    await until(() => !existsSync(bodyFile(dataDir, old!)), 'the replaced body is removed in the background');
    await server.stop();

    // As if the process died before that removal ran: the old body is back, no row names it.
    writeFileSync(bodyFile(dataDir, old!), oldBytes);
    server = await server.restart();
    assert.equal(existsSync(bodyFile(dataDir, old!)), false, 'the replaced body is swept at the start');
    assert.equal(existsSync(bodyFile(dataDir, current!)), true, 'the live body is kept');
    const got = await server.s3().send(new GetObjectCommand({ Bucket: B, Key: 'over' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(newBody));
  });
});
