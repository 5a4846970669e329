import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededBytes, startHarness, tempDir } from './nbd-harness.js';
import type { Harness } from './nbd-harness.js';
import { RawNbdClient } from './raw-nbd-client.js';

const SIZE = 4 * 1024 * 1024;
const READ = 0;
const WRITE = 1;
const DISC = 2;
const FLUSH = 3;
const WRITE_ZEROES = 6;
const EINVAL = 22;
const ENOSPC = 28;
const NBD_REP_ERR_UNKNOWN = 0x8000_0006;

describe('NBD protocol edge cases', () => {
  let dir: { path: string; cleanup: () => void };
  let harness: Harness;
  const content = seededBytes('nbd-protocol', SIZE);

  before(async () => {
    dir = tempDir('cl-nbd-proto-');
    harness = await startHarness(dir.path, ['disk'], SIZE);
    await harness.volumes.get('disk')?.volume.write(0, content);
  });
  after(async () => {
    await harness.close();
    dir.cleanup();
  });

  async function assertIntact(): Promise<void> {
    const data = await harness.volumes.get('disk')?.volume.read(0, SIZE);
    assert.ok(data?.equals(content), 'volume content unchanged');
  }

  it('answers pipelined requests, each by its handle', async () => {
    const client = await RawNbdClient.connect(harness.port);
    assert.deepEqual((await client.go('disk')).slice(-1), [1]);
    const lengths = new Map<number, number>();
    const patch = Buffer.alloc(10_000, 0x5a);
    client.request(WRITE, 1, 5000, patch.length, patch);
    for (let i = 0; i < 20; i++) {
      lengths.set(100 + i, 4096 + i);
      client.request(READ, 100 + i, 200_000 + i * 8192, 4096 + i);
    }
    client.request(FLUSH, 2, 0, 0);
    client.request(WRITE_ZEROES, 3, 4096 * 10, 4096 * 2, undefined, 2);
    const seen = new Map<number, { error: number; data?: Buffer }>();
    for (let i = 0; i < 23; i++) {
      const reply = await client.reply(lengths);
      assert.ok(reply);
      seen.set(reply.handle, reply);
    }
    for (let i = 0; i < 20; i++) {
      const at = 200_000 + i * 8192;
      assert.deepEqual(seen.get(100 + i)?.data, content.subarray(at, at + 4096 + i));
    }
    assert.equal(seen.get(1)?.error, 0);
    assert.equal(seen.get(2)?.error, 0);
    assert.equal(seen.get(3)?.error, 0);
    client.request(DISC, 4, 0, 0);
    assert.equal(await client.closedByServer(), true);
    // Restore what the pipelined writes changed, so later tests see the original content.
    const volume = harness.volumes.get('disk')?.volume;
    assert.deepEqual(await volume?.read(5000, patch.length), patch);
    assert.deepEqual(await volume?.read(4096 * 10, 8192), Buffer.alloc(8192));
    await volume?.write(0, content);
  });

  it('refuses out-of-range requests with an error and stays usable', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.go('disk');
    client.request(WRITE, 1, SIZE - 10, 20, Buffer.alloc(20, 1));
    assert.equal((await client.reply(new Map()))?.error, ENOSPC);
    client.request(99, 2, 0, 0);
    assert.equal((await client.reply(new Map()))?.error, EINVAL);
    client.request(WRITE, 3, 0, 4, Buffer.alloc(4, 1), 0x80);
    assert.equal((await client.reply(new Map()))?.error, EINVAL);
    client.request(READ, 4, 0, 16);
    assert.deepEqual((await client.reply(new Map([[4, 16]])))?.data, content.subarray(0, 16));
    client.close();
    await assertIntact();
  });

  it('uses all 64 bits of the handle and the offset', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.go('disk');
    // Both halves of the handle must come back; an offset past 2^32 is not the offset
    // modulo 2^32 (which would land inside the volume and overwrite block 0).
    const bigHandle = 0x1234_5678_9abc;
    client.request(WRITE, bigHandle, 2 ** 32, 4, Buffer.alloc(4, 1));
    assert.deepEqual(await client.reply(new Map()), { handle: bigHandle, error: ENOSPC });
    client.request(READ, bigHandle + 1, 4096, 16);
    const reply = await client.reply(new Map([[bigHandle + 1, 16]]));
    assert.equal(reply?.handle, bigHandle + 1);
    assert.deepEqual(reply?.data, content.subarray(4096, 4096 + 16));
    client.close();
    await assertIntact();
  });

  it('answers a failed read with its error before hanging up (replies are batched)', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.go('disk');
    client.request(READ, 7, SIZE - 10, 20);
    const reply = await client.reply(new Map([[7, 20]]));
    assert.equal(reply?.handle, 7);
    assert.equal(reply?.error, EINVAL);
    assert.equal(await client.closedByServer(), true);
    await assertIntact();
  });

  it('round-trips large pipelined writes and reads (worker-thread crypto)', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.go('disk');
    const big = seededBytes('nbd-protocol-big', 1024 * 1024 + 4096);
    client.request(WRITE, 1, 8192 + 100, big.length, big);
    client.request(FLUSH, 2, 0, 0);
    assert.equal((await client.reply(new Map()))?.error, 0);
    assert.equal((await client.reply(new Map()))?.error, 0);
    const lengths = new Map([[3, big.length], [4, SIZE]]);
    client.request(READ, 3, 8192 + 100, big.length);
    client.request(READ, 4, 0, SIZE);
    const replies = [await client.reply(lengths), await client.reply(lengths)];
    const byHandle = new Map(replies.map((r) => [r?.handle, r?.data]));
    assert.ok(byHandle.get(3)?.equals(big));
    const expected = Buffer.from(content);
    big.copy(expected, 8192 + 100);
    assert.ok(byHandle.get(4)?.equals(expected));
    await harness.volumes.get('disk')?.volume.write(0, content);
    client.close();
    await assertIntact();
  });

  it('closes the connection on a bad request magic and keeps the volume intact', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.go('disk');
    client.request(WRITE, 1, 0, 4096, Buffer.alloc(4096, 0xee), 0, 0xdeadbeef);
    assert.equal(await client.closedByServer(), true);
    await assertIntact();
  });

  it('closes the connection on an oversized write and keeps the volume intact', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.go('disk');
    client.request(WRITE, 1, 0, 64 * 1024 * 1024, Buffer.alloc(1024, 0xee));
    assert.equal(await client.closedByServer(), true);
    await assertIntact();
  });

  it('refuses unknown export names', async () => {
    const client = await RawNbdClient.connect(harness.port);
    assert.deepEqual(await client.go('no-such-volume'), [NBD_REP_ERR_UNKNOWN]);
    client.close();
    const legacy = await RawNbdClient.connect(harness.port);
    await legacy.read(18);
    legacy.socket.write(Buffer.from([0, 0, 0, 3]));
    const name = Buffer.from('no-such-volume');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(name.length);
    legacy.socket.write(Buffer.concat([Buffer.from('IHAVEOPT'), Buffer.from([0, 0, 0, 1]), len, name]));
    assert.equal(await legacy.closedByServer(), true);
  });

  it('closes on garbage during the handshake', async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.read(18);
    client.socket.write(Buffer.from([0, 0, 0, 3]));
    client.socket.write(Buffer.from('NOTANOPTION-----'));
    assert.equal(await client.closedByServer(), true);
    await assertIntact();
  });
});
