import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { serverFixture } from '../helpers/server-process.js';

function field(banner: string, name: string): string {
  const m = new RegExp(`${name}:\\s+(\\S.*)`).exec(banner);
  assert.ok(m, `banner has ${name}: ${banner}`);
  return m[1]!.trim();
}

describe('cipherlake server as a process', () => {
  const fixture = serverFixture('cipherlake-cli-');

  it('first start: prints endpoint, region and credentials; files are 0600; health answers without auth; credentials work; SIGTERM exits 0', async () => {
    const dataDir = fixture.dir();
    const running = await fixture.spawn({ dataDir, testCredentials: false, timeoutMs: 15_000 });
    const { endpoint, banner } = running;
    assert.equal(field(banner, 'region'), 'us-east-1');
    const accessKeyId = field(banner, 'access key id');
    const secretAccessKey = field(banner, 'secret access key');
    assert.match(accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(secretAccessKey.length, 40);

    for (const name of ['credentials.json', 'root.key']) {
      assert.equal(statSync(join(dataDir, name)).mode & 0o777, 0o600, name);
    }
    assert.equal(statSync(join(dataDir, 'root.key')).size, 32);
    const stored = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    assert.deepEqual(stored, { accessKeyId, secretAccessKey });

    const health = await fetch(`${endpoint}/_cipherlake/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');

    const kms = new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    try {
      // A fresh server may already hold service keys of its own; the call succeeding is the point.
      const keys = await kms.send(new ListKeysCommand({}));
      assert.ok(Array.isArray(keys.Keys));
    } finally {
      kms.destroy();
    }

    running.child.kill('SIGTERM');
    assert.deepEqual(await running.exited, { code: 0, signal: null });
  });

  it('second start on the same data directory: same credentials, the secret is not printed again', async () => {
    const dataDir = fixture.dir();
    const stored = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    const running = await fixture.spawn({ dataDir, testCredentials: false, timeoutMs: 15_000 });
    assert.equal(field(running.banner, 'access key id'), stored.accessKeyId);
    assert.ok(!running.banner.includes(stored.secretAccessKey), 'secret not printed on a later start');
    assert.match(field(running.banner, 'secret access key'), /credentials\.json/);
    // The server installs its signal handlers in the same tick that prints the banner, so a
    // SIGTERM sent the instant the banner arrives can beat them; one answered request first
    // guarantees that tick is over.
    assert.equal((await fetch(`${running.endpoint}/_cipherlake/health`)).status, 200);
    running.child.kill('SIGTERM');
    assert.deepEqual(await running.exited, { code: 0, signal: null });
  });
});
