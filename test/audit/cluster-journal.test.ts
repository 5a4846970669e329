import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { until } from '../helpers/until.js';
import { clusterWorkers, serverFixture, workerJournalName } from '../helpers/server-process.js';

// The cluster primary's journal handling when processes die (src/audit/README.md, "The audit
// journal" and "Several processes"): when a worker dies, the primary's writer thread chains and
// removes that worker's journal (then recovery takes anything left) before the replacement is
// forked, and keeps ingesting the live workers' journals; each fork journals under a fresh
// name. When the primary dies, the next start recovers every journal.

const CALLERS = 8;


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

/** How long a caller waits for one answer: a connection handed to a worker as it was killed may never get one. */
const ANSWER_WAIT_MS = 5_000;

/**
 * GenerateDataKey calls from CALLERS callers without pause (the workers serve in turn:
 * round-robin per connection) until `stop()`; `answered` collects the request ids answered
 * 200 (a call on a connection a killed process held is never answered, and not counted).
 */
function generateDataKeyLoad(endpoint: string, body: string): { answered: string[]; stop: () => Promise<void> } {
  const answered: string[] = [];
  let stopped = false;
  const caller = async (): Promise<void> => {
    while (!stopped) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const r = await Promise.race([
          rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer')), ANSWER_WAIT_MS);
          }),
        ]);
        const id = r.headers.get('x-amzn-requestid');
        if (r.status === 200 && id !== null) answered.push(id);
      } catch {
        // A connection a killed process held: never answered (or not in time: not counted).
      } finally {
        clearTimeout(timer);
      }
    }
  };
  const callers = Array.from({ length: CALLERS }, () => caller());
  return {
    answered,
    stop: async () => {
      stopped = true;
      await Promise.all(callers);
    },
  };
}

/** The GenerateDataKey request ids chained in `dataDir`'s audit.db, in chain order. */
function recordedGenerateDataKeys(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
  try {
    return db.prepare("SELECT json_extract(event_json, '$.requestID') FROM audit_records WHERE event_name = 'GenerateDataKey' ORDER BY seq").pluck().all() as string[];
  } finally {
    db.close();
  }
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
    const victimName = workerJournalName(victim);
    const survivorName = workerJournalName(survivor);
    assert.notEqual(victimName, survivorName);
    const filesOf = (name: string): string[] => readdirSync(journalDir).filter((f) => f.startsWith(`${name}.`));
    assert.ok(filesOf(victimName).length > 0 && filesOf(survivorName).length > 0, `each worker journals to its own file: ${readdirSync(journalDir).join(',')}`);

    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;

    // Callers without pause; the victim is killed while requests are in flight, so it may die
    // with frames the primary's thread had not chained.
    const load = generateDataKeyLoad(server.endpoint, JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }));
    const answered = load.answered;
    let replacement: number | undefined;
    try {
      await until(() => answered.length >= 60, 'requests answered under load');
      process.kill(victim, 'SIGKILL');
      // The primary retires its journal (and recovers) between the worker's exit and the replacement's fork.
      await until(() => new RegExp(`worker ${victim} exited \\(SIGKILL\\), starting another`).test(stderr), 'the primary saw the worker die');
      await until(() => (replacement = clusterWorkers(primary).find((w) => w !== survivor && w !== victim)) !== undefined, 'the replacement worker');
    } finally {
      await load.stop();
    }
    // Only a retire (or recovery) removes a journal's last generation: the worker's exit did this.
    assert.deepEqual(filesOf(victimName), [], "the dead worker's journal was chained and removed");
    assert.ok(filesOf(survivorName).length > 0, "the live worker's journal is still watched, not sealed");
    const replacementName = workerJournalName(replacement!);
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

    const ids = recordedGenerateDataKeys(dataDir);
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

    // Refused once the primary (which accepts) is gone: never answered.
    const load = generateDataKeyLoad(server.endpoint, JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }));
    const answered = load.answered;
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
      // The ingester dies with the primary; the workers see the channel close and exit at once
      // (node:cluster's own 'disconnect' handler exits a worker whose primary is gone, before
      // any handler of ours runs): what they answered is journaled, their journals left behind.
      process.kill(primary, 'SIGKILL');
      await until(() => workers.every((w) => !alive(w)), 'the workers stopped after their primary died', 15_000);
    } finally {
      await load.stop();
    }
    assert.ok(readdirSync(journalDir).length > 0, 'the journals no process ingested are still there');

    // The next start recovers them before anything else appends.
    const restarted = await fixture.spawn({ dataDir, timeoutMs: 25_000 });
    restarted.child.kill('SIGTERM');
    assert.deepEqual(await restarted.exited, { code: 0, signal: null });
    assert.deepEqual(readdirSync(journalDir), [], 'every journal chained and removed');

    const ids = recordedGenerateDataKeys(dataDir);
    const recorded = new Set(ids);
    assert.equal(ids.length, recorded.size, 'no request was recorded twice');
    assert.deepEqual(answered.filter((id) => !recorded.has(id)), [], 'every answered request has its event');
    const out: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: () => {} }), 0);
    assert.deepEqual(out, ['intact']);
  });
});

describe('cipherlake server --workers 3, two workers killed at once under load', () => {
  const fixture = serverFixture('cipherlake-audit-cluster-two-deaths-');

  it("each dead worker's journal is chained once: recovery after the first leaves the second to the thread that still watches it", { timeout: 90_000 }, async () => {
    const dataDir = fixture.dir();
    const journalDir = join(dataDir, 'audit-journal');
    // Three, so that one keeps the shared port open (with --port 0, the port the primary
    // opens again after its last worker died is another one).
    const server = await fixture.spawn({ dataDir, args: ['--workers', '3'], timeoutMs: 25_000 });
    let stderr = '';
    server.child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const primary = server.child.pid!;
    const workers = clusterWorkers(primary);
    assert.equal(workers.length, 3, `three workers: ${workers.join(',')}`);
    const victims = workers.slice(0, 2);
    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;

    // Two die at once, with frames the thread had not chained yet: the second's exit comes
    // while the first's journal is being retired, and the recovery that follows the first must
    // not read the second's journal, which the thread still watches and holds open (reading it
    // there chained its frames twice, or failed the second's retire). To make that the order,
    // audit.db's write lock is held (well within the thread's 10 s busy_timeout, so it waits
    // rather than fails) until the primary saw both exits.
    const load = generateDataKeyLoad(server.endpoint, JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }));
    let replacements: number[] = [];
    try {
      await until(() => load.answered.length >= 60, 'requests answered under load');
      const holder = new Database(join(dataDir, 'audit.db'));
      try {
        holder.exec('BEGIN IMMEDIATE');
        await until(() => load.answered.length >= 120, 'requests answered (journaled, not chained) while audit.db is locked', 5_000);
        for (const w of victims) process.kill(w, 'SIGKILL');
        for (const w of victims) await until(() => new RegExp(`worker ${w} exited \\(SIGKILL\\), starting another`).test(stderr), `the primary saw worker ${w} die`, 5_000);
      } finally {
        if (holder.inTransaction) holder.exec('COMMIT');
        holder.close();
      }
      await until(() => (replacements = clusterWorkers(primary).filter((w) => !workers.includes(w))).length === 2, 'two replacement workers');
    } finally {
      await load.stop();
    }
    // Each replacement listens (its signal handlers in place) once it served a request: fresh
    // connections, handed out in turn, until both journaled one.
    const names = replacements.map((w) => workerJournalName(w));
    const servedListKeys = (name: string): boolean => readdirSync(journalDir).some((f) => f.startsWith(`${name}.`) && readFileSync(join(journalDir, f)).includes('"ListKeys"'));
    const deadline = Date.now() + 15_000;
    while (!names.every(servedListKeys)) {
      assert.ok(Date.now() < deadline, 'both replacements journal the requests they serve');
      await freshConnectionCall(server.endpoint);
    }

    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null }, stderr);
    assert.doesNotMatch(stderr, /failed/, 'no retire or recovery failed');
    assert.deepEqual(readdirSync(journalDir), [], 'every journal chained and removed at shutdown');
    const ids = recordedGenerateDataKeys(dataDir);
    assert.equal(ids.length, new Set(ids).size, 'no request was recorded twice');
    const recorded = new Set(ids);
    assert.deepEqual(load.answered.filter((id) => !recorded.has(id)), [], 'every answered request has its event');
    const out: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: () => {} }), 0);
    assert.deepEqual(out, ['intact']);
  });
});
