import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterWorkers, serverFixture } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';
import { killThenStop } from './cluster-kill-stop-scenario.js';

describe('cipherlake server --workers 2: SIGTERM as soon as the primary saw a worker SIGKILLed under load (its recovery and perhaps a new worker starting race the stop)', () => {
  const fixture = serverFixture('cipherlake-cluster-stop-replacing-');
  it('exits on its own; every answered request is recorded once; no journal is left; the final digest covers the records', { timeout: 60_000 }, async () => {
    await killThenStop(fixture.dir(), (o) => fixture.spawn(o), 'once the death is seen');
  });
});

describe('cipherlake server --workers 2: SIGTERM while a replacement worker is still starting', () => {
  const fixture = serverFixture('cipherlake-cluster-stop-starting-');
  it('the replacement, stopped before its signal handlers were in (it served nothing), does not make the exit 1', { timeout: 60_000 }, async () => {
    const server = await fixture.spawn({ dataDir: fixture.dir(), args: ['--workers', '2'], timeoutMs: 25_000 });
    let stderr = '';
    server.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const primary = server.child.pid!;
    const workers = clusterWorkers(primary);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    process.kill(workers[0]!, 'SIGKILL');
    // A new pid among the workers: the replacement, forked once the dead worker's journal was
    // recovered. It loads the whole server before its handlers go in: seconds, not the
    // milliseconds this poll takes to see it.
    let replacement: number | undefined;
    await until(() => (replacement = clusterWorkers(primary).find((pid) => !workers.includes(pid))) !== undefined, 'a replacement worker forked');
    process.kill(primary, 'SIGTERM');
    const exit = await server.exited;
    assert.match(stderr, new RegExp(`worker ${replacement} was stopped while it started`), 'the replacement was stopped before its handlers were in');
    assert.doesNotMatch(stderr, /did not stop cleanly/);
    assert.deepEqual(exit, { code: 0, signal: null }, stderr);
  });
});
