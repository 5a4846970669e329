import { describe, it } from 'node:test';
import { serverFixture } from '../helpers/server-process.js';
import { killThenStop } from './cluster-kill-stop-scenario.js';

describe('cipherlake server --workers 2: SIGTERM at once after a worker was SIGKILLed under load', () => {
  const fixture = serverFixture('cipherlake-cluster-kill-stop-');
  it('exits on its own; every answered request is recorded once; no journal is left; the final digest covers the records', { timeout: 60_000 }, async () => {
    await killThenStop(fixture.dir(), (o) => fixture.spawn(o), 'at once');
  });
});
