import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LOAD_MS = 1500;
const CONCURRENCY = 16;

interface Server {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the real `cipherlake server` process and waits for its banner. */
function startServer(dataDir: string): Promise<Server> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dataDir,
    CIPHERLAKE_ROOT_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
  };
  const args = ['--import', 'tsx', 'src/cli/index.ts', 'server', '--port', '0', '--https-port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within 15 s; stderr: ${stderr}`));
    }, 15_000);
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m !== null && /kms list-keys\n/.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, endpoint: m[1]!, exited });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early with ${code}; stderr: ${stderr}`));
    });
  });
}

describe('kill -9 under load', () => {
  let dataDir: string;
  let server: Server | undefined;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-crash-'));
  });
  after(async () => {
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every acknowledged GenerateDataKey has its audit event after SIGKILL', async () => {
    server = await startServer(dataDir);
    const { endpoint } = server;
    const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const keyId = (created.json['KeyMetadata'] as { KeyId: string }).KeyId;
    const body = JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' });

    const acknowledged: string[] = [];
    let failures = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body });
          const id = r.headers.get('x-amzn-requestid');
          if (r.status === 200 && id !== null) acknowledged.push(id);
        } catch {
          failures += 1; // connection reset by the kill: never acknowledged
        }
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, () => worker());
    // Load for LOAD_MS, and longer on a slow or busy machine, until enough requests were
    // answered to mean something (bounded: the assertion below reports a machine too slow).
    const started = Date.now();
    while (Date.now() - started < LOAD_MS || (acknowledged.length <= 50 && Date.now() - started < 20_000)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Kill while requests are still in flight; only what was answered before counts.
    const answeredBeforeKill = acknowledged.length;
    server.child.kill('SIGKILL');
    const exit = await server.exited;
    stop = true;
    await Promise.all(workers);
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(answeredBeforeKill > 20, `load too light to mean anything: ${answeredBeforeKill} answered`);

    const db = new Database(join(dataDir, 'audit.db'));
    const recorded = new Set(
      (db.prepare("SELECT json_extract(event_json, '$.requestID') AS id FROM audit_records WHERE event_name = 'GenerateDataKey'").all() as { id: string }[]).map((r) => r.id),
    );
    db.close();
    const missing = acknowledged.filter((id) => !recorded.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged requests have no event (${failures} unanswered)`);

    // The chain survived the crash too: the unsigned tail is intact, nothing is reported.
    const out: string[] = [];
    const code = await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: () => {} });
    assert.deepEqual(out, ['intact']);
    assert.equal(code, 0);
  });
});
