import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killServer, serverChild, serverFixture } from '../helpers/server-process.js';

const STOP_PRIMARY = fileURLToPath(new URL('./stop-primary-as-worker-listens.ts', import.meta.url));

describe('cipherlake server --workers 2 stopped while its first worker starts', () => {
  const fixture = serverFixture('cipherlake-workers-stop-starting-');

  it('forks no other worker once stopping, and exits 0 once the first one has stopped', { timeout: 60_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data');
    const server = serverChild({ dataDir, args: ['--workers', '2'], preload: STOP_PRIMARY });
    try {
      // A worker forked by the "listening" of one being stopped never gets the stop's SIGTERM:
      // the primary then waits for it until its 12 s force exit, and exits 1.
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr());
    } finally {
      await killServer(server);
    }
    assert.equal([...server.stderr().matchAll(/stopped the primary before saying it listens/g)].length, 1, server.stderr());
  });
});
