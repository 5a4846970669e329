/**
 * TLS cost on the KMS hot path: GenerateDataKey requests/s over HTTPS as a ratio to plain
 * HTTP, against the same server process in the same run, keep-alive connections, SigV4
 * signed (KmsSigner from kms-load.ts). The server runs in a child process so the load
 * generator never shares its event loop. Target: ratio ≥ 0.8. Asserts nothing about speed.
 *
 * Run: node --import tsx bench/tls-bench.ts [--duration=<s>] [--concurrency=1,16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { KmsSigner, type KmsCall } from './kms-load.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';

const ACCESS_KEY_ID = 'AKIABENCHBENCH000001';
const SECRET = 'bench-secret-key-000000000000000000000000';
const REGION = 'us-east-1';
const FROM_SOURCE = import.meta.url.endsWith('.ts');

interface Server {
  readonly proc: ChildProcess;
  readonly http: string;
  readonly https: string;
  readonly dataDir: string;
}

/** Starts `cipherlake server` with HTTP and HTTPS on ephemeral ports and waits for its "listening" log line. */
function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cipherlake-tls-bench-'));
  const cli = fileURLToPath(new URL(`../src/cli/index${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));
  const args = [...SERVER_NODE_FLAGS, ...(FROM_SOURCE ? ['--import', 'tsx'] : []), cli, 'server', '--port', '0', '--https-port', '0', '--data-dir', dataDir, '--log-level', 'info'];
  const env = { ...process.env, CIPHERLAKE_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID, CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: SECRET };
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const line = seen.split('\n').find((l) => l.includes('"cipherlake listening"'));
      if (line === undefined) return;
      const parsed = JSON.parse(line) as { endpoint: string; https: string };
      proc.stdout?.removeAllListeners('data');
      proc.stdout?.resume();
      resolve({ proc, http: parsed.endpoint, https: parsed.https, dataDir });
    });
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${seen.slice(0, 500)}`)));
  });
}

function pool(origin: string, connections: number, ca: string): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, connect: { ca } });
}

async function call(p: Pool, signer: KmsSigner, c: KmsCall): Promise<Record<string, unknown>> {
  const res = await p.request({ path: '/', method: 'POST', headers: signer.headers(c), body: c.body });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${c.target} answered ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Closed loop: `concurrency` callers repeat `c` for `ms` (after a 0.5 s uncounted warm-up); returns requests/s. */
async function measure(origin: string, ca: string, c: KmsCall, concurrency: number, ms: number): Promise<number> {
  const p = pool(origin, concurrency, ca);
  const signer = new KmsSigner(ACCESS_KEY_ID, SECRET, REGION, new URL(origin).host);
  try {
    const loop = async (until: number, counter: { n: number }): Promise<void> => {
      while (performance.now() < until) {
        await call(p, signer, c);
        counter.n++;
      }
    };
    const warm = { n: 0 };
    await Promise.all(Array.from({ length: concurrency }, () => loop(performance.now() + 500, warm)));
    const counted = { n: 0 };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, () => loop(t0 + ms, counted)));
    return counted.n / ((performance.now() - t0) / 1000);
  } finally {
    await p.close();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const get = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const ms = Number(get('duration') ?? '4') * 1000;
  const levels = (get('concurrency') ?? '1,16').split(',').map(Number);
  const server = await startServer();
  try {
    const ca = readFileSync(join(server.dataDir, 'tls', 'ca', 'ca.crt'), 'utf8');
    const signer = new KmsSigner(ACCESS_KEY_ID, SECRET, REGION, new URL(server.http).host);
    const setup = pool(server.http, 1, ca);
    const created = await call(setup, signer, { target: 'TrentService.CreateKey', body: Buffer.from('{}') });
    await setup.close();
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    const gdk: KmsCall = { target: 'TrentService.GenerateDataKey', body: Buffer.from(JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'bench' } })) };
    const rows: string[] = [];
    for (const c of levels) {
      // HTTP, HTTPS, HTTP: the ratio uses the mean of the two HTTP runs, to cancel drift.
      const h1 = await measure(server.http, ca, gdk, c, ms);
      const s = await measure(server.https, ca, gdk, c, ms);
      const h2 = await measure(server.http, ca, gdk, c, ms);
      const ratio = s / ((h1 + h2) / 2);
      rows.push(`| ${c} | ${Math.round((h1 + h2) / 2)} | ${Math.round(s)} | ${ratio.toFixed(2)} |`);
      process.stderr.write(`c=${c}: http ${Math.round(h1)}/${Math.round(h2)} req/s, https ${Math.round(s)} req/s, ratio ${ratio.toFixed(2)}\n`);
    }
    process.stdout.write(`\nKMS GenerateDataKey, HTTPS (TLS 1.3, keep-alive) vs HTTP, same server: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}, ${ms / 1000} s per run\n\n`);
    process.stdout.write(['| concurrency | HTTP req/s | HTTPS req/s | HTTPS / HTTP |', '|---:|---:|---:|---:|', ...rows].join('\n') + '\n');
  } finally {
    const exited = new Promise<void>((resolve) => server.proc.once('exit', () => resolve()));
    server.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(server.dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tls-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
