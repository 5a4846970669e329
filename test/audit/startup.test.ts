import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { AuditTrailUnavailableError, openAuditTrail } from '../../src/audit-wiring.js';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { systemClock } from '../../src/common/clock.js';
import { loadConfig } from '../../src/config/config.js';
import type { KeyService } from '../../src/kms/index.js';
import { SqliteAuditStore } from '../../src/store/sqlite/audit-store.js';
import { ThreadAuditWriter } from '../../src/store/sqlite/audit-writer-client.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { until } from '../helpers/until.js';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { clusterWorkers, killServer, serverCommand, SERVER_CWD, spawnServer, type ServerProcess } from '../helpers/server-process.js';

// A server that cannot write its audit trail must not serve: it fails its start, before it
// listens, naming audit.db and why; and once running, a request whose record cannot be
// made durable (written to the process's audit journal) is never answered as a success.

// Bytes SQLite refuses as "file is not a database" (no SQLite header).
const GARBAGE = Buffer.alloc(8192, 'this is not an audit trail ');
const INTERNAL_CODES = ['InternalFailure', 'InternalError', 'KMSInternalException', 'ServiceUnavailable'];

const dirs: string[] = [];
function dataDirWithGarbageAudit(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-startup-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'audit.db'), GARBAGE);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `cipherlake server ARGS` until it exits by itself (SIGKILLed after 20 s: a server that started). */
function runServerToExit(dataDir: string, args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const command = serverCommand({ dataDir, args });
  const child = spawn(process.execPath, command.args, { cwd: SERVER_CWD, env: command.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function assertRefusedStart(result: { code: number | null; stderr: string }, dataDir: string): void {
  assert.equal(result.code, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /listening on/);
  const line = result.stderr.split('\n').find((l) => l.includes('audit trail cannot start'));
  assert.ok(line !== undefined, result.stderr);
  assert.ok(line.includes(join(dataDir, 'audit.db')), line);
  assert.match(line, /file is not a database/);
  assert.ok(!result.stderr.includes(TEST_SECRET_ACCESS_KEY));
}

describe('an audit trail that cannot start', () => {
  it('a garbage audit.db makes `cipherlake server` exit 1 before listening, naming the file', async () => {
    const dataDir = dataDirWithGarbageAudit();
    assertRefusedStart(await runServerToExit(dataDir, []), dataDir);
  });

  it('the same with --workers 2: the cluster start fails', async () => {
    const dataDir = dataDirWithGarbageAudit();
    assertRefusedStart(await runServerToExit(dataDir, ['--workers', '2']), dataDir);
  });

  it("a cluster worker whose writer thread cannot write audit.db fails openAuditTrail, though its reader can read it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-startup-'));
    dirs.push(dataDir);
    const path = join(dataDir, 'audit.db');
    // Readable as a trail (head and digests are there) but no table the writer can append to:
    // only the writer thread finds out, which a start without the probe never waited for.
    const db = new Database(path);
    db.exec(`CREATE TABLE audit_records (seq INTEGER PRIMARY KEY);
      CREATE TABLE audit_head (id INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash TEXT NOT NULL);
      CREATE TABLE audit_digests (digest_no INTEGER PRIMARY KEY, to_seq INTEGER NOT NULL, payload_json TEXT NOT NULL, signature TEXT NOT NULL);`);
    db.close();
    const config = loadConfig({ dataDir });
    // A cluster worker signs nothing: openAuditTrail never touches the key service in that role.
    const keys = {} as KeyService;
    const opening = openAuditTrail(config, keys, systemClock, pino({ level: 'silent' }), { kind: 'cluster-worker' });
    await assert.rejects(opening, (err: unknown) => {
      assert.ok(err instanceof AuditTrailUnavailableError);
      assert.equal(err.path, path);
      assert.match(err.message, new RegExp(`^audit trail cannot start: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*audit_records has no column`));
      return true;
    });
  });

  it('ThreadAuditWriter.probe rejects with why the thread cannot open the file, and resolves on a good one', async () => {
    const dataDir = dataDirWithGarbageAudit();
    const bad = new ThreadAuditWriter({ path: join(dataDir, 'audit.db'), synchronous: 'NORMAL', index: null });
    await assert.rejects(bad.probe(), /file is not a database/);
    await bad.close();
    const missing = new ThreadAuditWriter({ path: join(dataDir, 'nothing-here.db'), synchronous: 'NORMAL', index: null });
    await assert.rejects(missing.probe(), /unable to open database file|does not exist/);
    await missing.close();
    // A good file: the probe resolves and writes nothing (the head stays where it was).
    const goodPath = join(dataDir, 'good.db');
    new SqliteAuditStore(goodPath).close();
    const good = new ThreadAuditWriter({ path: goodPath, synchronous: 'NORMAL', index: null });
    await good.probe();
    await good.close();
    const db = new Database(goodPath, { readonly: true });
    assert.equal(db.prepare('SELECT count(*) FROM audit_head').pluck().get(), 0);
    assert.equal(db.prepare('SELECT count(*) FROM audit_records').pluck().get(), 0);
    db.close();
  });
});

describe('a running server whose audit journal or audit.db refuses records', () => {
  let server: ServerProcess | undefined;
  after(() => killServer(server));

  it('answers an internal error when the journal write fails (never a 200 without a record) and heals; what audit.db refuses stays journaled and is chained once it passes; exits 1 when SIGTERM cannot sign the last digest', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-runtime-'));
    dirs.push(dataDir);
    server = await spawnServer({ dataDir });
    let stdout = '';
    server.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const s3 = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'held' }));
    await s3.send(new PutObjectCommand({ Bucket: 'held', Key: 'kept', Body: 'recorded before answered' }));
    const db = new Database(join(dataDir, 'audit.db'));
    const count = (): number => db.prepare('SELECT count(*) FROM audit_records').pluck().get() as number;
    const body = JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' });
    await journalIngested(dataDir, db);

    // audit.db refuses records (SQLite itself: running as root, chmod blocks nothing). The
    // record is in the journal when the call is answered; the writer thread's ingestion fails,
    // is reported, and chains it once the cause is gone.
    db.exec("CREATE TRIGGER test_refuse_records BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'test: audit.db refuses records'); END;");
    const before = count();
    const journaled = await rawKmsRequest(server.endpoint, { target: 'TrentService.GenerateDataKey', body });
    assert.equal(journaled.status, 200, JSON.stringify(journaled.json));
    assert.equal(count(), before);
    await until(() => /audit\.db refuses records/.test(stdout), 'the ingestion failure is logged');
    db.exec('DROP TRIGGER test_refuse_records');
    await journalIngested(dataDir, db);
    assert.equal(count(), before + 1);
    const recorded = db.prepare("SELECT count(*) FROM audit_records WHERE json_extract(event_json, '$.requestID') = ?").pluck();
    assert.equal(recorded.get(journaled.headers.get('x-amzn-requestid')), 1);

    // The journal write fails (a file size limit on the server process: EFBIG, or a short
    // write): no request is answered as a success, and none leaves a record.
    db.exec("CREATE TRIGGER test_refuse_digests BEFORE INSERT ON audit_digests BEGIN SELECT RAISE(ABORT, 'test: audit.db refuses digests'); END;");
    const pid = server.child.pid!;
    execFileSync('prlimit', ['--pid', String(pid), '--fsize=100:']);
    const refused = await Promise.all([
      rawKmsRequest(server.endpoint, { target: 'TrentService.GenerateDataKey', body }),
      rawKmsRequest(server.endpoint, { target: 'TrentService.Encrypt', body: JSON.stringify({ KeyId: keyId, Plaintext: 'aGVsbG8=' }) }),
      rawKmsRequest(server.endpoint, { target: 'TrentService.ListKeys', body: '{}' }),
    ]);
    for (const r of refused) {
      assert.equal(r.status, 500, JSON.stringify(r.json));
      assert.ok(INTERNAL_CODES.includes(r.json.__type ?? ''), JSON.stringify(r.json));
      assert.equal(r.json['Plaintext'], undefined);
    }
    // S3 holds its answer until the record is durable: with the record refused, no status line
    // reaches the client (the connection is cut), for a read and an error alike.
    const s3Refused = await Promise.allSettled([s3.send(new GetObjectCommand({ Bucket: 'held', Key: 'kept' })), s3.send(new GetObjectCommand({ Bucket: 'held', Key: 'missing' }))]);
    for (const r of s3Refused) {
      assert.equal(r.status, 'rejected');
      const meta = (r as PromiseRejectedResult).reason as { $metadata?: { httpStatusCode?: number } };
      assert.equal(meta.$metadata?.httpStatusCode, undefined, `an S3 answer reached the client: ${String(meta)}`);
    }
    assert.match(stdout, /audit append failed/);

    // A passing cause heals: the next request is recorded and answered.
    execFileSync('prlimit', ['--pid', String(pid), '--fsize=unlimited:']);
    const healed = await rawKmsRequest(server.endpoint, { target: 'TrentService.GenerateDataKey', body });
    assert.equal(healed.status, 200, JSON.stringify(healed.json));
    await journalIngested(dataDir, db);
    assert.equal(count(), before + 2, 'nothing of the refused requests was recorded');
    const read = await s3.send(new GetObjectCommand({ Bucket: 'held', Key: 'kept' }));
    assert.equal(await read.Body?.transformToString(), 'recorded before answered');
    await journalIngested(dataDir, db);
    assert.equal(count(), before + 3);

    // A PUT whose object is stored but whose record cannot be journaled is never acknowledged.
    // With --fsize=100 above, the object write itself fails first; here the limit sits above
    // every file the PUT writes (object, metadata.db and its WAL) and below the journal's end,
    // so only the journal write fails (the writer thread's audit.db writes may fail too: that
    // only delays ingestion). Big audited KMS requests (refused as malformed) grow the journal.
    const puts = (): number => db.prepare("SELECT count(*) FROM audit_records WHERE event_name = 'PutObject'").pluck().get() as number;
    assert.equal(puts(), 1);
    const limit = largestFile(dataDir, (f) => !f.includes('audit')) + 1024 * 1024;
    const journalSize = (): number => Math.max(...readdirSync(join(dataDir, 'audit-journal')).map((f) => statSync(join(dataDir, 'audit-journal', f)).size));
    for (let i = 0; journalSize() <= limit + 256 * 1024; i++) {
      assert.ok(i < 500, `the journal does not grow: ${journalSize()} bytes, limit ${limit}`);
      await rawKmsRequest(server.endpoint, { target: 'TrentService.ListKeys', body: JSON.stringify({ Limit: 1, Padding: 'p'.repeat(120_000) }) });
    }
    execFileSync('prlimit', ['--pid', String(pid), `--fsize=${limit}:`]);
    const put = await Promise.allSettled([s3.send(new PutObjectCommand({ Bucket: 'held', Key: 'new', Body: 'stored, never acknowledged' }))]);
    execFileSync('prlimit', ['--pid', String(pid), '--fsize=unlimited:']);
    assert.equal(put[0]!.status, 'rejected', 'a PUT was acknowledged though its record could not be written');
    const reason = (put[0] as PromiseRejectedResult).reason as { $metadata?: { httpStatusCode?: number } };
    assert.equal(reason.$metadata?.httpStatusCode, undefined, `an S3 answer reached the client: ${String(reason)}`);
    // The PUT itself succeeded: only its audit record withheld the answer.
    const stored = await s3.send(new GetObjectCommand({ Bucket: 'held', Key: 'new' }));
    assert.equal(await stored.Body?.transformToString(), 'stored, never acknowledged');
    await journalIngested(dataDir, db);
    assert.equal(puts(), 1, 'only the acknowledged PUT (kept) has a record; the refused one left none');
    s3.destroy();

    // SIGTERM while the trail's close rejects (its final digest is refused): exit 1, said why, no hang.
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.match(stdout, /shutdown failed/);
    db.exec('DROP TRIGGER test_refuse_digests');
    db.close();
    // Nothing half-written: the refused requests left no record and the chain is whole.
    const out: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: () => {} }), 0);
    assert.deepEqual(out, ['intact']);
  });
});

describe('a running --workers 2 server whose audit journal refuses records', () => {
  let server: ServerProcess | undefined;
  after(() => killServer(server));

  it('a worker answers an internal error without a record, and SIGTERM exits 1 when the primary cannot sign the last digest', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-runtime-workers-'));
    dirs.push(dataDir);
    server = await spawnServer({ dataDir, args: ['--workers', '2'], timeoutMs: 30_000 });
    let stderr = '';
    server.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const created = await rawKmsRequest(server.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));

    const db = new Database(join(dataDir, 'audit.db'));
    const count = (): number => db.prepare('SELECT count(*) FROM audit_records').pluck().get() as number;
    await journalIngested(dataDir, db);
    db.exec("CREATE TRIGGER test_refuse_digests BEFORE INSERT ON audit_digests BEGIN SELECT RAISE(ABORT, 'test: audit.db refuses digests'); END;");
    const before = count();
    const workers = clusterWorkers(server.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers.join(',')}`);
    for (const w of workers) execFileSync('prlimit', ['--pid', String(w), '--fsize=100:']);
    // Several, so that both workers (round-robin) answer some.
    const refused = await Promise.all(Array.from({ length: 4 }, () => rawKmsRequest(server!.endpoint, { target: 'TrentService.ListKeys', body: '{}' })));
    for (const r of refused) {
      assert.equal(r.status, 500, JSON.stringify(r.json));
      assert.ok(INTERNAL_CODES.includes(r.json.__type ?? ''), JSON.stringify(r.json));
    }
    for (const w of workers) execFileSync('prlimit', ['--pid', String(w), '--fsize=unlimited:']);
    await journalIngested(dataDir, db);
    assert.equal(count(), before);

    // The CreateKey record is not signed yet: the primary's final digest is refused.
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, stderr);
    assert.match(stderr, /closing the audit trail failed: .*refuses digests/);
    db.close();
  });
});

/** Size of the largest file under `dir` whose path (relative to it) passes `keep`. */
function largestFile(dir: string, keep: (path: string) => boolean): number {
  let largest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && keep(path.slice(dir.length))) largest = Math.max(largest, statSync(path).size);
  }
  return largest;
}

/** Waits until every journal file of `dataDir` is ingested up to its end (its stored offset equals its size). */
async function journalIngested(dataDir: string, db: Database.Database): Promise<void> {
  const dir = join(dataDir, 'audit-journal');
  const offset = db.prepare('SELECT offset FROM audit_journal WHERE name = ?').pluck();
  const behind = (): string[] =>
    readdirSync(dir)
      .filter((f) => !f.endsWith('.damaged'))
      .filter((f) => {
        try {
          return statSync(join(dir, f)).size !== ((offset.get(f) as number | undefined) ?? 0);
        } catch {
          return false; // sealed and unlinked meanwhile
        }
      });
  await until(() => behind().length === 0, 'journal ingested');
}
