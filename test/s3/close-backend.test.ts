import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestServer } from '../helpers/server.js';

/** This process's open descriptors that point into `dir` (Linux /proc). */
function openUnder(dir: string): string[] {
  const found: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(join('/proc/self/fd', fd));
      if (target.startsWith(dir)) found.push(target);
    } catch {
      // Closed between the listing and the read (the listing's own descriptor among them).
    }
  }
  return found;
}

// A body above the inline limit goes to FsObjectBackend, which caches directory descriptors for its fsyncs; stopping the server must close them.
it('stopping the server closes the object store directory descriptors', async () => {
  const t = await startTestServer();
  try {
    const s3 = t.s3();
    await s3.send(new CreateBucketCommand({ Bucket: 'fds' }));
    await s3.send(new PutObjectCommand({ Bucket: 'fds', Key: 'k', Body: Buffer.alloc(256 * 1024, 1) }));
    const objects = join(t.dataDir, 'objects');
    assert.ok(openUnder(objects).length > 0, 'a written object left a directory descriptor cached (the check can see them)');
    await t.stop();
    assert.deepEqual(openUnder(objects), []);
  } finally {
    await t.close();
  }
});
