import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuditVerify } from '../../src/cli/commands/audit-verify.js';
import { rawKmsRequest } from '../helpers/signed-request.js';
import { killServer, serverChild, serverFixture } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';

const HOLD_CHANNEL = fileURLToPath(new URL('./hold-worker-channel.ts', import.meta.url));

describe('cipherlake server --workers 2 whose workers exit before their IPC channels end', () => {
  const fixture = serverFixture('cipherlake-workers-exit-first-');

  it('still closes the audit trail on SIGTERM: every journal chained and removed, the final digest over every record', { timeout: 60_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data');
    const server = serverChild({ dataDir, args: ['--workers', '2'], preload: HOLD_CHANNEL });
    const { child } = server;
    try {
      await until(() => /kms list-keys\n/.test(server.stderr()) || child.exitCode !== null, 'the banner', 25_000);
      const endpoint = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr())?.[1];
      assert.ok(endpoint !== undefined, server.stderr());
      const created = await rawKmsRequest(endpoint, { target: 'TrentService.CreateKey', body: '{}' });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const body = JSON.stringify({ KeyId: (created.json['KeyMetadata'] as { KeyId: string }).KeyId, KeySpec: 'AES_256' });
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 5; i++) assert.equal((await rawKmsRequest(endpoint, { target: 'TrentService.GenerateDataKey', body })).status, 200);
        }),
      );

      child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.stderr());
    } finally {
      await killServer(server);
    }
    const stderr = server.stderr();
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
