import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { clusterWorkers, serverFixture } from '../helpers/server-process.js';

const CALLERS = 8;
const CALLS_EACH = 25;

describe('cipherlake server --workers 2', () => {
  const fixture = serverFixture('cipherlake-workers-');

  it('serves concurrent KMS calls from both workers into one intact audit chain', async () => {
    // A data directory that does not exist yet: the primary must make it (0700) before the root key.
    const dataDir = join(fixture.dir(), 'data');
    const server = await fixture.spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 });
    assert.match(server.banner, /\(2 worker processes\)/);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const { endpoint } = server;
    const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const body = JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { test: 'workers' } });

    // Several callers at once: fetch opens a connection per concurrent request, and the
    // cluster primary hands new connections to the workers in turn (Node's default
    // round-robin scheduling on Linux), so both workers serve. Each worker appends the
    // events of the requests it served through its own writer thread, and says how many
    // when it stops (checked below): that is how this test knows both served.
    let stderr = '';
    server.child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const answered: string[] = [];
    const caller = async (): Promise<void> => {
      for (let i = 0; i < CALLS_EACH; i++) {
        const r = await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const id = r.headers.get('x-amzn-requestid');
        assert.ok(id !== null);
        answered.push(id);
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, () => caller()));
    assert.equal(answered.length, CALLERS * CALLS_EACH);

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    const stopped = [...stderr.matchAll(/worker (\d+) stopped; it appended (\d+) audit events/g)].map((m) => ({ pid: m[1], events: Number(m[2]) }));
    assert.equal(new Set(stopped.map((w) => w.pid)).size, 2, `two workers stopped: ${stderr}`);
    assert.ok(stopped.every((w) => w.events > 0), `each worker served and audited requests: ${JSON.stringify(stopped)}`);
    assert.equal(stopped.reduce((sum, w) => sum + w.events, 0), CALLERS * CALLS_EACH + 1, 'the workers appended every event (CreateKey too), each once');

    const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
    const rows = db.prepare("SELECT json_extract(event_json, '$.requestID') AS id FROM audit_records WHERE event_name = 'GenerateDataKey'").all() as { id: string }[];
    db.close();
    const recorded = new Set(rows.map((r) => r.id));
    assert.equal(rows.length, recorded.size, 'no request was recorded twice');
    assert.deepEqual(answered.filter((id) => !recorded.has(id)), [], 'every answered request has its event');

    const out: string[] = [];
    const err: string[] = [];
    const code = await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    assert.deepEqual(out, ['intact']);
    assert.equal(code, 0);
    // The primary signed a final digest over everything the workers wrote when it stopped: no unsigned tail.
    assert.doesNotMatch(err.join('\n'), /not yet signed/);
  });
});


describe('cipherlake server --workers 2, a worker that does not stop cleanly', () => {
  const fixture = serverFixture('cipherlake-workers-stop-');

  it('makes the server exit 1 and say which worker', async () => {
    const server = await fixture.spawn({ dataDir: join(fixture.dir(), 'data'), args: ['--workers', '2'], timeoutMs: 25_000 });
    let stderr = '';
    server.child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const workers = clusterWorkers(server.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    const [stuck] = workers as [number];
    // Frozen, the worker cannot finish its graceful stop before it is killed: deterministic.
    process.kill(stuck, 'SIGSTOP');
    server.child.kill('SIGTERM');
    process.kill(stuck, 'SIGKILL');
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.match(stderr, new RegExp(`worker ${stuck} did not stop cleanly \\(SIGKILL\\)`));
  });
});

describe('cipherlake server --workers 2 whose audit trail cannot start', () => {
  const fixture = serverFixture('cipherlake-workers-audit-');

  it('exits 1 after closing the stores the primary opened (metadata.db left without its -wal and -shm files)', async () => {
    const dataDir = join(fixture.dir(), 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    // Bytes SQLite refuses as "file is not a database": the primary's audit trail cannot open.
    writeFileSync(join(dataDir, 'audit.db'), Buffer.alloc(8192, 'this is not an audit trail '));
    await assert.rejects(fixture.spawn({ dataDir, args: ['--workers', '2'], timeoutMs: 25_000 }), /exited early with 1[\s\S]*audit trail cannot start/);
    const files = readdirSync(dataDir);
    assert.ok(files.includes('metadata.db'), `the primary opened metadata.db: ${files.join(' ')}`);
    assert.deepEqual(files.filter((f) => f.startsWith('metadata.db-')), [], 'metadata.db was closed (a closed WAL database removes its -wal and -shm)');
  });
});
