import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { until } from '../helpers/until.js';
import { clusterWorkers, type ServerProcess, type SpawnOptions } from '../helpers/server-process.js';

// The cluster primary stopped (SIGTERM) right after a worker was SIGKILLed under load: the
// dead worker's audit journal is left to the primary's shutdown, or, when the primary saw the
// death first, to its dead-worker recovery racing the stop (and a replacement may be forked
// in between). Either way every request a client got an answer to must be in audit.db once,
// no journal may be left, and the final digest must cover it all. The kill-and-replace case
// (recovery well before the stop) is test/audit/cluster-journal.test.ts.

const CALLERS = 8;

/** When the test sends SIGTERM to the primary: at once after the SIGKILL, or once the primary said it saw the worker die. */
export type StopMoment = 'at once' | 'once the death is seen';

/**
 * Runs the scenario on a fresh `server --workers 2` in `dataDir` (spawned by `spawn`) and
 * asserts its outcome (see above). The only unclean stop it accepts is the killed worker's
 * (a replacement stopped while it started, before its signal handlers were in, served
 * nothing: the primary does not count it unclean).
 */
export async function killThenStop(dataDir: string, spawn: (o: SpawnOptions) => Promise<ServerProcess>, moment: StopMoment): Promise<void> {
  const server = await spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 });
  let stderr = '';
  server.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const primary = server.child.pid!;
  const workers = clusterWorkers(primary);
  assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
  const [victim, survivor] = workers as [number, number];

  const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const body = JSON.stringify({ KeyId: (created.json['KeyMetadata'] as { KeyId: string }).KeyId, KeySpec: 'AES_256' });

  const answered: string[] = [];
  let stop = false;
  const caller = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await rawKmsRequest(server.endpoint, { target: 'TrentService.GenerateDataKey', body });
        const id = r.headers.get('x-amzn-requestid');
        if (r.status === 200 && id !== null) answered.push(id);
      } catch {
        // Refused or cut: the killed worker's connections, and every connection once the server stops.
      }
    }
  };
  const callers = Array.from({ length: CALLERS }, () => caller());
  try {
    await until(() => answered.length >= 60, 'requests answered under load');
    // The load still running. At once, the primary may see either signal first.
    process.kill(victim, 'SIGKILL');
    if (moment === 'once the death is seen') {
      const seen = new RegExp(`worker ${victim} exited \\(SIGKILL\\)`);
      await until(() => seen.test(stderr), 'the primary saw the worker die');
    }
    process.kill(primary, 'SIGTERM');
    const exit = await server.exited;
    // A clean stop exits 0; one whose stop saw the killed worker exits 1 and says so (a
    // replacement forked in between and stopped before its handlers were in does not).
    // Never a signal (the 12 s forced exit is 1 too, but says nothing of a worker: caught below).
    assert.equal(exit.signal, null, stderr);
    const unclean = [...stderr.matchAll(/worker (\d+) did not stop cleanly \((\w+)\)/g)].map((m) => ({ pid: Number(m[1]), why: m[2] }));
    assert.ok(!unclean.some((u) => u.pid === survivor), `the surviving worker stopped cleanly: ${stderr}`);
    assert.ok(unclean.every((u) => u.pid === victim && u.why === 'SIGKILL'), stderr);
    assert.equal(exit.code, unclean.length === 0 ? 0 : 1, stderr);
    assert.doesNotMatch(stderr, /closing the audit trail failed|failed \(retried/, 'no audit failure at the stop');
  } finally {
    stop = true;
    await Promise.all(callers);
  }

  assert.deepEqual(readdirSync(join(dataDir, 'audit-journal')), [], 'every journal chained and removed at shutdown');
  const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
  const ids = db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records WHERE event_name = 'GenerateDataKey'").pluck().all() as string[];
  db.close();
  const recorded = new Set(ids);
  assert.equal(ids.length, recorded.size, 'no request was recorded twice');
  assert.deepEqual(answered.filter((id) => !recorded.has(id)), [], `every one of the ${answered.length} answered requests has its event`);

  const out: string[] = [];
  const err: string[] = [];
  assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'));
  assert.deepEqual(out, ['intact']);
  assert.doesNotMatch(err.join('\n'), /not yet signed/, 'the final digest covers every record');
}
