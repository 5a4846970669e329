import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { SERVER_CWD, serverCommand, spawnServer } from '../helpers/server-process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DataDirInUseError } from '../../src/store/sqlite/data-dir-lock.js';
import { AuditTrailUnavailableError } from '../../src/audit-wiring.js';

describe('one server per data directory', () => {
  let first: TestServer | undefined;
  after(async () => first?.close());

  it('a second server on a data directory in use refuses to start, and the first keeps serving', async () => {
    first = await startTestServer();
    const dataDir = first.dataDir;
    // In this process: startCipherlake itself refuses.
    await assert.rejects(startTestServer({}, dataDir), (e: unknown) => e instanceof DataDirInUseError && e.dataDir === dataDir);
    // Another process: `cipherlake server` exits non-zero and says why.
    const { args, env } = serverCommand({ dataDir });
    const child = spawn(process.execPath, args, { cwd: SERVER_CWD, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.notEqual(code, 0);
    assert.match(stderr, /in use by another Cipherlake server/);
    const keys = await first.kms().send(new ListKeysCommand({}));
    assert.ok(Array.isArray(keys.Keys));
  });

  it('a cluster primary holds the directory for its workers: a single server on it refuses, the cluster keeps serving', async () => {
    assert.ok(first !== undefined);
    const dataDir = first.dataDir;
    await first.stop();
    const cluster = await spawnServer({ dataDir, args: ['--workers', '2'] });
    try {
      await assert.rejects(startTestServer({}, dataDir), DataDirInUseError);
      const answer = await fetch(`${cluster.endpoint}/_cipherlake/health`);
      assert.equal(answer.status, 200);
    } finally {
      cluster.child.kill('SIGTERM');
      await cluster.exited;
    }
    first = await first.restart();
  });

  it('a start that fails releases the directory: the same process starts on it once the cause is gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-lock-failed-start-'));
    writeFileSync(join(dataDir, 'audit.db'), Buffer.alloc(8192, 'this is not an audit trail '));
    try {
      await assert.rejects(startTestServer({}, dataDir), AuditTrailUnavailableError);
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    rmSync(join(dataDir, 'audit.db'));
    const again = await startTestServer({}, dataDir);
    await again.close();
  });

  it('the data directory is free again once its server stopped', async () => {
    assert.ok(first !== undefined);
    await first.stop();
    first = await first.restart();
    const keys = await first.kms().send(new ListKeysCommand({}));
    assert.ok(Array.isArray(keys.Keys));
  });
});
