import { describe, it } from 'node:test';
import { serverFixture } from '../helpers/server-process.js';
import { killThenStop } from './cluster-kill-stop-scenario.js';

describe('cipherlake server --workers 2: SIGTERM as soon as the primary saw a worker SIGKILLed under load (its recovery and perhaps a new worker starting race the stop)', () => {
  const fixture = serverFixture('cipherlake-cluster-stop-replacing-');
  it('exits on its own; every answered request is recorded once; no journal is left; the final digest covers the records', { timeout: 60_000 }, async () => {
    await killThenStop(fixture.dir(), (o) => fixture.spawn(o), 'once the death is seen');
  });
});
