import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER_BYTES } from '../../src/volumes/volume-header.js';
import { sha256, startHarness, tempDir, tool, writeSeededImage } from './nbd-harness.js';
import type { Harness } from './nbd-harness.js';

const SIZE = 256 * 1024 * 1024;
const MARKER = Buffer.from('CIPHERLAKE-NBD-PLAINTEXT-MARKER-7f3a');

describe('NBD export with qemu-img, nbdcopy and nbdinfo', () => {
  let dir: { path: string; cleanup: () => void };
  let harness: Harness;
  let source: string;
  let sourceHash: string;

  before(async () => {
    dir = tempDir('cl-nbd-qemu-');
    source = join(dir.path, 'source.raw');
    sourceHash = writeSeededImage(source, 'nbd-qemu-seed', SIZE, MARKER);
    harness = await startHarness(dir.path, ['vol-a', 'vol-b'], SIZE);
  });
  after(async () => {
    await harness.close();
    dir.cleanup();
  });

  it('nbdinfo lists the attached exports', async () => {
    const { stdout } = await tool('nbdinfo', ['--list', `nbd://127.0.0.1:${harness.port}`]);
    assert.match(stdout, /export="vol-a"/);
    assert.match(stdout, /export="vol-b"/);
  });

  it('qemu-img converts a raw image in and back out unchanged', async () => {
    await tool('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, harness.uri('vol-a')]);
    const back = join(dir.path, 'back-qemu.raw');
    await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', harness.uri('vol-a'), back]);
    assert.equal(sha256(readFileSync(back)), sourceHash);
  });

  it('nbdcopy copies into an export and out of it unchanged', async () => {
    await tool('nbdcopy', [source, harness.uri('vol-b')]);
    const back = join(dir.path, 'back-nbdcopy.raw');
    await tool('nbdcopy', [harness.uri('vol-b'), back]);
    assert.equal(sha256(readFileSync(back)), sourceHash);
    const direct = await harness.volumes.get('vol-b')?.volume.read(SIZE - 4096, 4096);
    assert.deepEqual(direct, readFileSync(source).subarray(SIZE - 4096));
  });

  it('the backing file holds no plaintext and no zero block where data was written', async () => {
    const entry = harness.volumes.get('vol-a');
    assert.ok(entry);
    await entry.volume.flush();
    const stored = readFileSync(entry.path);
    assert.equal(readFileSync(source).indexOf(MARKER) >= 0, true, 'the marker is in the source');
    assert.equal(stored.indexOf(MARKER), -1);
    const zero = Buffer.alloc(4096);
    let zeroBlocks = 0;
    for (let at = HEADER_BYTES; at < stored.length; at += 4096) {
      if (stored.subarray(at, at + 4096).equals(zero)) zeroBlocks++;
    }
    assert.equal(zeroBlocks, 0);
  });
});
