import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_CWD, serverCommand, serverFixture } from '../helpers/server-process.js';

const STOP_PRIMARY = fileURLToPath(new URL('./stop-primary-as-worker-listens.ts', import.meta.url));

describe('cipherlake server --workers 2 stopped while its first worker starts', () => {
  const fixture = serverFixture('cipherlake-workers-stop-starting-');

  it('forks no other worker once stopping, and exits 0 once the first one has stopped', { timeout: 60_000 }, async () => {
    const dataDir = join(fixture.dir(), 'data');
    const { args, env } = serverCommand({ dataDir, args: ['--workers', '2'] });
    // `--import tsx` first (the preload is TypeScript), then the preload, then the command.
    const child = spawn(process.execPath, [...args.slice(0, 2), '--import', STOP_PRIMARY, ...args.slice(2)], { cwd: SERVER_CWD, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    try {
      // A worker forked by the "listening" of one being stopped never gets the stop's SIGTERM:
      // the primary then waits for it until its 12 s force exit, and exits 1.
      assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    assert.equal([...stderr.matchAll(/stopped the primary before saying it listens/g)].length, 1, stderr);
  });
});
