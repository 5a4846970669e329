import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { clusterWorkers, killServer, serverChild, serverFixture } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';

const FAIL_FORKS = fileURLToPath(new URL('./fail-worker-forks.ts', import.meta.url));

describe('cipherlake server --workers N whose forks fail', () => {
  const fixture = serverFixture('cipherlake-workers-fork-fails-');

  it('--workers 2, a worker killed: replaces it once a fork succeeds, keeps serving, and exits 0 on SIGTERM with the final digest over every record', { timeout: 90_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data');
    const server = serverChild({ dataDir, args: ['--workers', '2'], preload: FAIL_FORKS });
    const { child } = server;
    const dead = server.dead;
    let answered = 0;
    let victim = 0;
    try {
      await until(() => /kms list-keys\n/.test(server.stderr()) || dead(), 'the banner', 25_000);
      const endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr())?.[1];
      assert.ok(endpoint !== undefined, server.stderr());
      const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      answered++;
      const body = JSON.stringify({ KeyId: (created.json['KeyMetadata'] as { KeyId: string }).KeyId, KeySpec: 'AES_256' });
      const generate = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          assert.equal((await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body })).status, 200);
          answered++;
        }
      };
      await generate(4);

      // Its replacement (fork 3) fails on the next tick, the next one (fork 4) in cluster.fork
      // itself; fork 5 starts. Without a listener for the first, the primary dies of it.
      victim = clusterWorkers(child.pid!)[0]!;
      process.kill(victim, 'SIGKILL');
      const afterFailures = (): string => server.stderr().split('fork 4 spawns')[1] ?? '';
      await until(() => /worker \d+ listens/.test(afterFailures()) || dead(), 'a replacement that listens', 25_000);
      assert.ok(!dead(), `the primary is still running: ${server.stderr()}`);
      const workers = clusterWorkers(child.pid!);
      assert.equal(workers.length, 2, `two workers again: ${workers.join(',')}`);
      assert.ok(!workers.includes(victim));
      // The server still answers, the replacement in the round-robin.
      await generate(6);

      child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr());
    } finally {
      await killServer(server);
    }
    const stderr = server.stderr();
    assert.match(stderr, new RegExp(`worker ${victim} exited \\(SIGKILL\\), starting another`), stderr);
    assert.match(stderr, /a worker could not be started \(spawn \/nonexistent\/cipherlake-test-node ENOENT\), starting another/, stderr);
    assert.match(stderr, /a worker could not be started \(spawn E2BIG\), starting another/, stderr);
    assert.equal([...stderr.matchAll(/worker \d+ stopped; it appended \d+ audit events/g)].length, 2, stderr);
    assert.doesNotMatch(stderr, /closing the audit trail failed|failed \(retried|did not stop cleanly/, stderr);

    // The primary's close ran: every journal chained and removed, the final digest over every record.
    assert.deepEqual(readdirSync(join(dataDir, 'audit-journal')), [], 'every journal chained and removed at shutdown');
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'));
    assert.deepEqual(out, ['intact']);
    assert.match(err.join('\n'), new RegExp(`^${answered} records \\(1\\.\\.${answered}\\), \\d+ digests, signed through ${answered}$`, 'm'));
  });

  it('--workers 3, the third fork failing while the server starts: stops the others gracefully, closes the audit trail and exits 1', { timeout: 60_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data-start');
    const server = serverChild({ dataDir, args: ['--workers', '3'], preload: FAIL_FORKS });
    try {
      assert.deepEqual(await server.exited, { code: 1, signal: null }, server.stderr());
    } finally {
      await killServer(server);
    }
    const stderr = server.stderr();
    // The first worker (it listened, so fork 3 came) got the stop's SIGTERM and closed; had the
    // primary died of the fork's 'error', it would have exited on its own (no graceful close).
    const first = /cipherlake test: worker (\d+) listens/.exec(stderr)?.[1];
    assert.ok(first !== undefined, stderr);
    assert.match(stderr, new RegExp(`worker ${first} stopped; it appended 0 audit events`), stderr);
    assert.match(stderr, /a worker could not be started \(spawn \/nonexistent\/cipherlake-test-node ENOENT\)\n/, stderr);
    assert.doesNotMatch(stderr, /listening on|closing the audit trail failed|failed \(retried|did not stop cleanly/, stderr);
    assert.deepEqual(readdirSync(join(dataDir, 'audit-journal')), [], 'every journal chained and removed at shutdown');
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'));
    assert.deepEqual(out, ['intact']);
  });
});
