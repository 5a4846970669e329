import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretBytes } from '../crypto/secret-bytes.js';
import { VolumeClosedError } from './errors.js';
import { SectorCipher, VOLUME_BLOCK_SIZE } from './sector-cipher.js';
import { XtsWorkerPool } from './xts-pool.js';
import { acquireXtsThreads, releaseXtsThreads } from './xts-threads.js';

const BS = VOLUME_BLOCK_SIZE;

describe('XtsThreads', () => {
  it('retires the whole set when a worker stops: its jobs and later ones fail, the next user gets a new set', async () => {
    const dying = acquireXtsThreads(2);
    // 'close' makes a worker end as if it had died: the job never gets an answer.
    await assert.rejects(dying.run({ op: 'close' }, [], 0), VolumeClosedError);
    assert.equal(dying.broken, true);
    await assert.rejects(dying.run({ op: 'drop-key', keyId: -1 }, [], 1), VolumeClosedError);
    const key = SecretBytes.random(64);
    const pool = new XtsWorkerPool(key, BS);
    try {
      const plain = Buffer.alloc(16 * BS, 0x5a);
      assert.deepEqual(await pool.encrypt(3, plain), Buffer.concat(new SectorCipher(key).encryptBlocks(3, plain)));
    } finally {
      await pool.close();
      await releaseXtsThreads(dying);
      key.dispose();
    }
  });
});
