import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbdProtocolError } from '../../src/volumes/errors.js';
import { startHarness, tempDir, type Harness } from './nbd-harness.js';
import { until } from '../helpers/until.js';
import { RawNbdClient } from './raw-nbd-client.js';

const SIZE = 1024 * 1024;
const READ = 0;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

// Clients that stop mid-handshake: the server drops them after its handshake limit (as
// qemu-nbd does) instead of holding their sockets for ever, and keeps serving everyone else.
describe('NBD: a client that stalls during the handshake', () => {
  let dir: { path: string; cleanup: () => void };
  let harness: Harness;
  const errors: unknown[] = [];

  before(async () => {
    dir = tempDir('cl-nbd-adv-');
    harness = await startHarness(dir.path, ['disk'], SIZE, { handshakeTimeoutMs: 300, onConnectionError: (err) => errors.push(err) });
  });
  after(async () => {
    await harness.close();
    dir.cleanup();
  });

  // Before the limit existed these waited for ever: the test's own timeout fails them.
  it('drops a client that never answers the greeting', { timeout: 10_000 }, async () => {
    const client = await RawNbdClient.connect(harness.port);
    assert.equal((await client.read(18))?.length, 18);
    assert.equal(await client.closedByServer(), true);
    // Reported once the handshake's pending read has failed (after the close the client saw).
    await until(() => errors.some((e) => e instanceof NbdProtocolError && e.message === 'handshake not finished in time'), 'the timeout reported', 5_000);
  });

  it('drops a client that stops in the middle of an option', { timeout: 10_000 }, async () => {
    const client = await RawNbdClient.connect(harness.port);
    await client.read(18);
    client.socket.write(u32(3));
    // An NBD_OPT_GO header announcing 40 bytes, then only 4 of them.
    client.socket.write(Buffer.concat([Buffer.from('IHAVEOPT'), u32(7), u32(40), u32(4)]));
    assert.equal(await client.closedByServer(), true);
  });

  it('keeps a client that finished the handshake in time, however long it then idles', { timeout: 10_000 }, async () => {
    const stalled = await RawNbdClient.connect(harness.port);
    const client = await RawNbdClient.connect(harness.port);
    assert.deepEqual((await client.go('disk')).slice(-1), [1]);
    await stalled.closedByServer();
    // Past the negotiated client's own limit too (it connected after the stalled one): its
    // deadline must have been cleared once it chose an export.
    await sleep(600);
    // The stalled client's limit has passed; the negotiated one is still served.
    client.request(READ, 7, 0, 16);
    const reply = await client.reply(new Map([[7, 16]]));
    assert.equal(reply?.error, 0);
    assert.deepEqual(reply?.data, Buffer.alloc(16));
    client.close();
  });
});
