import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { clusterWorkers, killServer, serverChild, serverFixture, type ServerChild } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';

const FAIL_FORKS_FROM = fileURLToPath(new URL('./fail-forks-from.ts', import.meta.url));

/** The delays (ms) the primary logged for its replacements, in order: its pino lines on stdout. */
function loggedDelays(server: ServerChild): number[] {
  const delays: number[] = [];
  for (const line of server.stdout().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: unknown; level?: unknown; delayMs?: unknown };
    if (entry.msg !== 'cluster worker replacement delayed') continue;
    assert.equal(entry.level, 40, line);
    delays.push(entry.delayMs as number);
  }
  return delays;
}

/** Pids of the workers that said they listen (fail-forks-from.ts), in order. */
function listeners(server: ServerChild): number[] {
  return [...server.stderr().matchAll(/cipherlake test: worker (\d+) listens/g)].map((m) => Number(m[1]));
}

/** The banner's endpoint, once it came. */
async function banner(server: ServerChild, dead: () => boolean): Promise<string> {
  await until(() => /kms list-keys\n/.test(server.stderr()) || dead(), 'the banner', 25_000);
  const endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr())?.[1];
  assert.ok(endpoint !== undefined, server.stderr());
  return endpoint;
}

/** audit verify on `dataDir`: intact, every one of `records` records signed by the final digest. */
async function assertTrailSigned(dataDir: string, records: number): Promise<void> {
  assert.deepEqual(readdirSync(join(dataDir, 'audit-journal')), [], 'every journal chained and removed at shutdown');
  const out: string[] = [];
  const err: string[] = [];
  assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'));
  assert.deepEqual(out, ['intact']);
  assert.match(err.join('\n'), new RegExp(`^${records} records \\(1\\.\\.${records}\\), \\d+ digests, signed through ${records}$`, 'm'));
}

describe('cipherlake server --workers N replacing workers that die soon', () => {
  const fixture = serverFixture('cipherlake-workers-backoff-');

  it('--workers 2, every fork after the second failing: waits 100 ms, doubling, between failed forks, and a SIGTERM while it waits forks nothing more and exits 0 with the final digest over every record', { timeout: 90_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data');
    // The surviving worker's stop takes 3 s: longer than the delay pending when the SIGTERM comes.
    const env = { CIPHERLAKE_TEST_FAIL_FORKS_FROM: '3', CIPHERLAKE_TEST_SLOW_STOP_MS: '3000' };
    const server = serverChild({ dataDir, args: ['--workers', '2'], preload: FAIL_FORKS_FROM, env });
    const { child } = server;
    const dead = server.dead;
    const failures = (): number => [...server.stderr().matchAll(/a worker could not be started \(spawn \/nonexistent\/cipherlake-test-node ENOENT\)/g)].length;
    const spawns = (): number => [...server.stderr().matchAll(/cipherlake test: fork \d+ spawns/g)].length;
    let victim = 0;
    let answered = 0;
    try {
      const endpoint = await banner(server, dead);
      const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      answered++;

      // Every replacement fails: without a backoff, dozens a second.
      victim = clusterWorkers(child.pid!)[0]!;
      const killedAt = performance.now();
      process.kill(victim, 'SIGKILL');
      await until(() => loggedDelays(server).includes(1600) || failures() > 20 || dead(), 'a replacement delayed 1.6 s', 30_000);
      const waited = performance.now() - killedAt;
      assert.ok(!dead(), `the primary is still running: ${server.stderr()}`);
      assert.ok(failures() <= 5, `a handful of failed forks, not dozens: ${failures()}`);
      // Logged once per delay. The victim's own replacement waited 100 ms (it died soon after
      // its fork), then forks 3 to 6 failed, each replaced after twice the delay before it;
      // had the victim run 10 s (a start slower than that), fork 3 came at once, fork 7 failed too.
      assert.deepEqual(loggedDelays(server), [100, 200, 400, 800, 1600], server.stdout());
      const victimWaited = new RegExp(`worker ${victim} exited \\(SIGKILL\\), starting another in 100 ms\\n`).test(server.stderr());
      assert.equal(failures(), victimWaited ? 4 : 5, server.stderr());
      assert.match(server.stderr(), /a worker could not be started \(spawn \/nonexistent\/cipherlake-test-node ENOENT\), starting another in 800 ms\n/);
      // Timers never fire early: a bound a loaded machine cannot break.
      assert.ok(waited >= 1500, `the delays were waited: ${waited} ms`);
      assert.equal(spawns(), failures());
      // The other worker still serves.
      const body = JSON.stringify({ KeyId: (created.json['KeyMetadata'] as { KeyId: string }).KeyId, KeySpec: 'AES_256' });
      assert.equal((await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body })).status, 200);
      answered++;

      // Within the 1.6 s delay: the stop cancels the pending replacement (the worker's stop
      // takes 3 s, so a replacement still pending would be forked while it stops).
      const spawnsBeforeStop = spawns();
      child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr());
      assert.equal(spawns(), spawnsBeforeStop, `nothing forked once the stop began: ${server.stderr()}`);
      assert.equal(loggedDelays(server).length, 5, server.stdout());
    } finally {
      await killServer(server);
    }
    const stderr = server.stderr();
    assert.equal([...stderr.matchAll(/worker \d+ stopped; it appended \d+ audit events/g)].length, 1, stderr);
    assert.doesNotMatch(stderr, /closing the audit trail failed|failed \(retried|did not stop cleanly/, stderr);
    await assertTrailSigned(dataDir, answered);
  });

  it('--workers 2, every fork after the second failing with EMFILE: the failed forks do not pile up in node:cluster (its registry holds the live worker alone as each later one spawns), and the server stops cleanly', { timeout: 60_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data-emfile');
    const server = serverChild({ dataDir, args: ['--workers', '2'], preload: FAIL_FORKS_FROM, env: { CIPHERLAKE_TEST_FAIL_FORKS_FROM: '3', CIPHERLAKE_TEST_FAIL_FORKS_WITH: 'EMFILE' } });
    const { child } = server;
    const dead = server.dead;
    // As each failing fork spawns: how many workers node:cluster holds (fail-forks-from.ts).
    const held = (): number[] => [...server.stderr().matchAll(/cipherlake test: fork \d+ fails with EMFILE \(cluster\.workers holds (\d+)\)/g)].map((m) => Number(m[1]));
    try {
      await banner(server, dead);
      process.kill(clusterWorkers(child.pid!)[0]!, 'SIGKILL');
      // Delays 100, 200, 400 ms: the fourth failed fork within a second or so.
      await until(() => held().length >= 4 || dead(), 'four failed forks', 30_000);
      assert.ok(!dead(), `the primary is still running: ${server.stderr()}`);
      assert.match(server.stderr(), /a worker could not be started \(spawn \S+ EMFILE\), starting another in \d+ ms\n/);
      // From the second on: the survivor alone. (As the first spawns, the killed worker may still
      // be there: node:cluster lets a worker go at its exit or its channel's end, whichever is last.)
      assert.deepEqual(held().slice(1, 4), [1, 1, 1], server.stderr());
      child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr());
    } finally {
      await killServer(server);
    }
    assert.doesNotMatch(server.stderr(), /closing the audit trail failed|failed \(retried|did not stop cleanly/, server.stderr());
  });

  it('--workers 1: a worker that dies soon after its fork is replaced after 100 ms, then 200 ms; one that ran 10 s at once, and the delay starts over', { timeout: 120_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data-reset');
    const server = serverChild({ dataDir, args: ['--workers', '1'], preload: FAIL_FORKS_FROM });
    const { child } = server;
    const dead = server.dead;
    let answered = 0;
    const killAndWaitForNext = async (pid: number): Promise<number> => {
      const before = listeners(server).length;
      process.kill(pid, 'SIGKILL');
      await until(() => listeners(server).length > before || dead(), `a replacement of worker ${pid} that listens`, 25_000);
      assert.ok(!dead(), `the primary is still running: ${server.stderr()}`);
      return listeners(server).at(-1)!;
    };
    try {
      const endpoint = await banner(server, dead);
      assert.equal((await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' })).status, 200);
      answered++;
      const first = listeners(server)[0]!;
      // No worker at all while the primary waits: it lives on to fork the replacement. (Which
      // listens on another port: the one worker gone, node:cluster closed the port-0 listener.)
      const second = await killAndWaitForNext(first);
      assert.deepEqual(loggedDelays(server), [100], server.stdout());
      assert.match(server.stderr(), new RegExp(`worker ${first} exited \\(SIGKILL\\), starting another in 100 ms\\n`));
      const third = await killAndWaitForNext(second);
      assert.deepEqual(loggedDelays(server), [100, 200], server.stdout());

      // Ran 10 s (it listened more than 10.5 s ago, and was forked before): replaced at once.
      await new Promise((r) => setTimeout(r, 10_500));
      const fourth = await killAndWaitForNext(third);
      assert.deepEqual(loggedDelays(server), [100, 200], server.stdout());
      assert.match(server.stderr(), new RegExp(`worker ${third} exited \\(SIGKILL\\), starting another\\n`));

      // Its replacement dying soon starts over at 100 ms.
      const fifth = await killAndWaitForNext(fourth);
      assert.deepEqual(loggedDelays(server), [100, 200, 100], server.stdout());
      assert.deepEqual(clusterWorkers(child.pid!), [fifth]);

      child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr());
    } finally {
      await killServer(server);
    }
    assert.doesNotMatch(server.stderr(), /closing the audit trail failed|failed \(retried|did not stop cleanly/, server.stderr());
    await assertTrailSigned(dataDir, answered);
  });
});
