import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/until.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** Descriptors the child may hold: node and tsx take about 30, so a few dozen connections exhaust it. */
const FD_LIMIT = 64;

// libuv meets EMFILE on accept by closing the connections it cannot take (its reserve
// descriptor trick), so this mostly shows that property; a failed accept that does reach
// node:net (the trick's reserve gone, ENOBUFS) is an 'error' on the listening server, which
// listeners.ts logs instead of letting it stop the process.
describe('a listener out of file descriptors keeps running and serves again once descriptors are free', () => {
  let child: ChildProcess | undefined;
  const sockets: Socket[] = [];
  after(() => {
    for (const s of sockets) s.destroy();
    child?.kill('SIGKILL');
  });

  it('connections beyond the descriptors are closed, the process lives on, and serves once they are freed', { timeout: 25_000 }, async () => {
    child = spawn('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" --import tsx test/net/listening-child.ts`, process.execPath], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let exit: string | undefined;
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code, signal) => (exit = `${code ?? signal}`));
    await until(() => stdout.includes('\n') || exit !== undefined, 'the child listening');
    assert.equal(exit, undefined, stderr);
    const port = Number(new URL(stdout.trim()).port);
    let refused = 0;
    for (let i = 0; i < FD_LIMIT * 2; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined); // connections refused by the exhausted child are expected
      s.on('close', () => (refused += 1));
      sockets.push(s);
    }
    // More connections than descriptors: some are closed by the child, which must still run.
    await until(() => refused >= FD_LIMIT / 2 || exit !== undefined, 'connections beyond the limit closed');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(exit, undefined, `the child is still running; stderr: ${stderr}`);
    for (const s of sockets.splice(0)) s.destroy();
    let answer: string | undefined;
    for (let attempt = 1; answer === undefined; attempt++) {
      assert.ok(attempt <= 200 && exit === undefined, `served again; stderr: ${stderr}`);
      answer = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => undefined);
      if (answer === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(answer, 'ok');
  });
});
