import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { until } from '../helpers/until.js';
import { clusterWorkers, serverFixture } from '../helpers/server-process.js';

// The cluster primary's journal recovery (src/audit/README.md, "The audit journal" and
// "Several processes"): when a worker dies, the primary chains and removes that worker's
// journal before it forks the replacement, and leaves the live worker's journal to its own
// writer thread; each fork journals under a fresh name.

const CALLERS = 8;

/** The audit journal name the primary gave worker `pid` (CIPHERLAKE_AUDIT_JOURNAL in its environment). */
function journalNameOf(pid: number): string {
  const entry = readFileSync(`/proc/${pid}/environ`, 'latin1')
    .split('\0')
    .find((v) => v.startsWith('CIPHERLAKE_AUDIT_JOURNAL='));
  assert.ok(entry !== undefined, `worker ${pid} has a journal name`);
  return entry.slice('CIPHERLAKE_AUDIT_JOURNAL='.length);
}

/** One unsigned KMS call on a connection of its own (answered 400, audited as denied); resolves when answered. */
function freshConnectionCall(endpoint: string): Promise<void> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/', agent: false, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end('{}');
  });
}

describe('cipherlake server --workers 2, a worker killed under load', () => {
  const fixture = serverFixture('cipherlake-audit-cluster-journal-');

  it("its journal is chained and removed by the primary before the replacement starts; the live worker's is left alone; every answered request is recorded once", { timeout: 60_000 }, async () => {
    const dataDir = fixture.dir();
    const journalDir = join(dataDir, 'audit-journal');
    const server = await fixture.spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 });
    let stderr = '';
    server.child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const primary = server.child.pid!;
    const workers = clusterWorkers(primary);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const [victim, survivor] = workers as [number, number];
    const victimName = journalNameOf(victim);
    const survivorName = journalNameOf(survivor);
    assert.notEqual(victimName, survivorName);
    const filesOf = (name: string): string[] => readdirSync(journalDir).filter((f) => f.startsWith(`${name}.`));
    assert.ok(filesOf(victimName).length > 0 && filesOf(survivorName).length > 0, `each worker journals to its own file: ${readdirSync(journalDir).join(',')}`);

    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const body = JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' });

    // Callers without pause (both workers serve: round-robin per connection); the victim is
    // killed while requests are in flight, so it may die with frames its thread had not chained.
    const answered: string[] = [];
    let stop = false;
    const caller = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await rawKmsRequest(server.endpoint, { target: 'TrentService.GenerateDataKey', body });
          const id = r.headers.get('x-amzn-requestid');
          if (r.status === 200 && id !== null) answered.push(id);
        } catch {
          // A connection the killed worker held: never answered.
        }
      }
    };
    const callers = Array.from({ length: CALLERS }, () => caller());
    let replacement: number | undefined;
    try {
      await until(() => answered.length >= 60, 'requests answered under load');
      process.kill(victim, 'SIGKILL');
      // The primary recovers synchronously between the worker's exit and the replacement's fork.
      await until(() => new RegExp(`worker ${victim} exited \\(SIGKILL\\), starting another`).test(stderr), 'the primary saw the worker die');
      await until(() => (replacement = clusterWorkers(primary).find((w) => w !== survivor && w !== victim)) !== undefined, 'the replacement worker');
    } finally {
      stop = true;
      await Promise.all(callers);
    }
    // A writer thread never removes the generation it writes: only recovery removed this.
    assert.deepEqual(filesOf(victimName), [], "the dead worker's journal was chained and removed");
    assert.ok(filesOf(survivorName).length > 0, "the live worker's journal was left to its own thread");
    const replacementName = journalNameOf(replacement!);
    assert.ok(replacementName !== victimName && replacementName !== survivorName, 'a replacement journals under a fresh name');
    // The replacement serves (and journals) too once it listens, so SIGTERM below stops it
    // cleanly: requests on fresh connections (the callers' kept-alive ones stay with the
    // survivor), handed out in turn, until one reached it (an unsigned call is audited too;
    // what it journaled while starting does not count).
    const servedListKeys = (name: string): boolean => filesOf(name).some((f) => readFileSync(join(journalDir, f)).includes('"ListKeys"'));
    const deadline = Date.now() + 15_000;
    while (!servedListKeys(replacementName)) {
      assert.ok(Date.now() < deadline, 'the replacement journals the requests it serves');
      await freshConnectionCall(server.endpoint);
    }

    server.child.kill('SIGTERM');
    // Exit 0: every worker, the just-started replacement included, stopped gracefully (its
    // signal handlers are in place before it listens).
    assert.deepEqual(await server.exited, { code: 0, signal: null }, stderr);
    assert.deepEqual(readdirSync(journalDir), [], 'every journal chained and removed at shutdown');

    const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
    const ids = db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records WHERE event_name = 'GenerateDataKey'").pluck().all() as string[];
    db.close();
    const recorded = new Set(ids);
    assert.equal(ids.length, recorded.size, 'no request was recorded twice');
    assert.deepEqual(answered.filter((id) => !recorded.has(id)), [], 'every answered request has its event');

    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) }), 0);
    assert.deepEqual(out, ['intact']);
    assert.doesNotMatch(err.join('\n'), /not yet signed/, 'the final digest covers the recovered records');
  });
});

describe('cipherlake server --workers 2, the primary killed under load', () => {
  const fixture = serverFixture('cipherlake-audit-cluster-primary-kill-');

  it('the workers stop and leave their journals; the next start chains them: every answered request is recorded once, the chain intact', { timeout: 60_000 }, async () => {
    const dataDir = fixture.dir();
    const journalDir = join(dataDir, 'audit-journal');
    const server = await fixture.spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 });
    const primary = server.child.pid!;
    const workers = clusterWorkers(primary);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const body = JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' });

    const answered: string[] = [];
    let stop = false;
    const caller = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await rawKmsRequest(server.endpoint, { target: 'TrentService.GenerateDataKey', body });
          const id = r.headers.get('x-amzn-requestid');
          if (r.status === 200 && id !== null) answered.push(id);
        } catch {
          // Refused once the primary (which accepts) is gone: never answered.
        }
      }
    };
    const callers = Array.from({ length: CALLERS }, () => caller());
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await until(() => answered.length >= 60, 'requests answered under load');
      // The ingester dies with the primary; the workers see the channel close and stop
      // gracefully (answering what they hold), their journals left behind.
      process.kill(primary, 'SIGKILL');
      await until(() => workers.every((w) => !alive(w)), 'the workers stopped after their primary died', 15_000);
    } finally {
      stop = true;
      await Promise.all(callers);
    }
    assert.ok(readdirSync(journalDir).length > 0, 'the journals no process ingested are still there');

    // The next start recovers them before anything else appends.
    const restarted = await fixture.spawn({ dataDir, timeoutMs: 25_000 });
    restarted.child.kill('SIGTERM');
    assert.deepEqual(await restarted.exited, { code: 0, signal: null });
    assert.deepEqual(readdirSync(journalDir), [], 'every journal chained and removed');

    const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
    const ids = db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records WHERE event_name = 'GenerateDataKey'").pluck().all() as string[];
    db.close();
    const recorded = new Set(ids);
    assert.equal(ids.length, recorded.size, 'no request was recorded twice');
    assert.deepEqual(answered.filter((id) => !recorded.has(id)), [], 'every answered request has its event');
    const out: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: () => {} }), 0);
    assert.deepEqual(out, ['intact']);
  });
});
