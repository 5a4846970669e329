import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../helpers/server.js';
import { signedFetch } from './raw-sign.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A `cipherlake server` child process and where it listens. */
export interface Server {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly exited: Promise<unknown>;
}

/**
 * Spawns `cipherlake server` on `dataDir` with the test credentials and resolves once its
 * banner is printed; rejects (after killing it) when no banner comes within 20 s or it exits.
 */
export function spawnServer(dataDir: string, configFile: string): Promise<Server> {
  const env = { PATH: process.env.PATH ?? '', HOME: dataDir, CIPHERLAKE_ROOT_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY };
  const args = ['--import', 'tsx', 'src/cli/index.ts', 'server', '-c', configFile, '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner within 20 s: ${stderr}`));
    }, 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m !== null && /kms list-keys\n/.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, endpoint: m[1]!, exited });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited early: ${stderr}`));
    });
  });
}

/** SIGKILLs the server unless it already exited, and waits for it; never throws. */
export async function killServer(server: Server | undefined): Promise<void> {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}

/** SHA-256 hex of the bytes. */
export const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every key ListObjectsV2 lists in `bucket` (following continuation tokens), with its listed size. */
export async function listAll(endpoint: string, bucket: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let token: string | undefined;
  do {
    const query: Record<string, string> = { 'list-type': '2', ...(token !== undefined ? { 'continuation-token': token } : {}) };
    const xml = await (await signedFetch(endpoint, { method: 'GET', path: `/${bucket}`, query })).text();
    for (const m of xml.matchAll(/<Contents>.*?<Key>([^<]*)<\/Key>.*?<Size>(\d+)<\/Size>.*?<\/Contents>/gs)) found.set(m[1]!, Number(m[2]));
    token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1];
  } while (token !== undefined);
  return found;
}
