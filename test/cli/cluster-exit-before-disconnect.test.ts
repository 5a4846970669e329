import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { SERVER_CWD, serverCommand, serverFixture } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';

const HOLD_CHANNEL = fileURLToPath(new URL('./hold-worker-channel.ts', import.meta.url));

describe('cipherlake server --workers 2 whose workers exit before their IPC channels end', () => {
  const fixture = serverFixture('cipherlake-workers-exit-first-');

  it('still closes the audit trail on SIGTERM: every journal chained and removed, the final digest over every record', { timeout: 60_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data');
    const { args, env } = serverCommand({ dataDir, args: ['--workers', '2'] });
    // `--import tsx` first (the preload is TypeScript), then the preload, then the command.
    const child = spawn(process.execPath, [...args.slice(0, 2), '--import', HOLD_CHANNEL, ...args.slice(2)], { cwd: SERVER_CWD, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    try {
      await until(() => /kms list-keys\n/.test(stderr) || child.exitCode !== null, 'the banner', 25_000);
      const endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
      assert.ok(endpoint !== undefined, stderr);
      const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const body = JSON.stringify({ KeyId: (created.json['KeyMetadata'] as { KeyId: string }).KeyId, KeySpec: 'AES_256' });
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 5; i++) assert.equal((await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body })).status, 200);
        }),
      );

      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // The preload did hold both channels (else this test would not test the order).
    assert.equal([...stderr.matchAll(/channel held \d+ ms past its exit/g)].length, 2, stderr);
    assert.equal([...stderr.matchAll(/worker \d+ stopped; it appended \d+ audit events/g)].length, 2, stderr);

    // The primary's close ran: it retired and removed every journal, and signed the final digest.
    assert.deepEqual(readdirSync(join(dataDir, 'audit-journal')), [], 'every journal chained and removed at shutdown');
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await runAuditVerify({ dataDir }, { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'));
    assert.deepEqual(out, ['intact']);
    assert.match(err.join('\n'), /^21 records \(1\.\.21\), 1 digests, signed through 21$/m);
  });
});
