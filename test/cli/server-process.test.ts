import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly banner: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `cipherlake server --port 0` and waits for the banner that names the real endpoint. */
function startServer(dataDir: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dataDir };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'server', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(stderr);
      // Wait for the whole banner (it ends with the list-keys hint).
      if (m !== null && /kms list-keys\n/.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, endpoint: m[1]!, banner: stderr, exited });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early with ${code}; stderr: ${stderr}`));
    });
  });
}

function field(banner: string, name: string): string {
  const m = new RegExp(`${name}:\\s+(\\S.*)`).exec(banner);
  assert.ok(m, `banner has ${name}: ${banner}`);
  return m[1]!.trim();
}

describe('cipherlake server as a process', () => {
  let dataDir: string;
  let running: Started | undefined;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-cli-'));
  });
  after(async () => {
    if (running !== undefined && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('first start: prints endpoint, region and credentials; files are 0600; health answers without auth; credentials work; SIGTERM exits 0', async () => {
    running = await startServer(dataDir);
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
    const stored = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    running = await startServer(dataDir);
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
