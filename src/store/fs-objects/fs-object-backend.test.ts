import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsObjectBackend } from './fs-object-backend.js';

describe('FsObjectBackend', () => {
  const root = mkdtempSync(join(tmpdir(), 'cipherlake-fs-backend-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('abort right after create (the temporary file still being opened) leaves no temporary file', async () => {
    const backend = new FsObjectBackend(root);
    for (let i = 0; i < 200; i++) {
      const pending = await backend.create();
      pending.stream.on('error', () => undefined);
      await pending.abort();
      assert.deepEqual(readdirSync(join(root, 'tmp')), [], `round ${i}`);
    }
  });

  it('abort after some bytes were written leaves no temporary file; commit of another body still works', async () => {
    const backend = new FsObjectBackend(root);
    const pending = await backend.create();
    pending.stream.write(Buffer.alloc(3 * 1024 * 1024, 7));
    await pending.abort();
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    const ok = await backend.create();
    await new Promise<void>((resolve, reject) => ok.stream.end(Buffer.from('sealed'), () => resolve()).once('error', reject));
    await ok.commit();
    assert.deepEqual(backend.listStorageIds(), [ok.storageId]);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  });
});
