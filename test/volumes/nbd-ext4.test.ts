import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededBytes, sha256, startHarness, tempDir, tool } from './nbd-harness.js';
import type { Harness } from './nbd-harness.js';

const SIZE = 64 * 1024 * 1024;

describe('ext4 filesystem through an encrypted NBD export', () => {
  let dir: { path: string; cleanup: () => void };
  let harness: Harness;
  let image: string;
  const payload = seededBytes('ext4-file', 3 * 1024 * 1024 + 17);

  before(async () => {
    dir = tempDir('cl-nbd-ext4-');
    const tree = join(dir.path, 'tree');
    mkdirSync(join(tree, 'models'), { recursive: true });
    writeFileSync(join(tree, 'models', 'weights.bin'), payload);
    writeFileSync(join(tree, 'README'), 'encrypted volume test\n');
    image = join(dir.path, 'fs.img');
    await tool('mkfs.ext4', ['-q', '-F', '-d', tree, image, '64M']);
    harness = await startHarness(dir.path, ['fs'], SIZE);
  });
  after(async () => {
    await harness.close();
    dir.cleanup();
  });

  it('copies in and out, fsck is clean and the file is intact', async () => {
    await tool('nbdcopy', [image, harness.uri('fs')]);
    const back = join(dir.path, 'back.img');
    await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', harness.uri('fs'), back]);
    await tool('e2fsck', ['-fn', back]);
    assert.equal(sha256(readFileSync(back)), sha256(readFileSync(image)));
    await tool('debugfs', ['-R', `dump /models/weights.bin ${join(dir.path, 'weights.out')}`, back]);
    assert.deepEqual(readFileSync(join(dir.path, 'weights.out')), payload);
  });
});
