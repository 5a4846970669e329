import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Runs a bench server script under tsx as the benches do (a child process that prints
 * `PORT n` once listening) and resolves with it and its port; rejects if it exits first.
 */
export async function spawnBenchServer(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; port: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /PORT (\d+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  child.stderr?.resume();
  return { child, port };
}

/** SIGTERMs a bench server and waits for it to exit. */
export async function stopBenchServer(child: ChildProcess): Promise<void> {
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}
