/**
 * The cost of auditing: KMS GenerateDataKey requests/s with the audit trail on, as a ratio
 * to the same server build with `audit.enabled=false` (CIPHERLAKE_AUDIT_ENABLED=false), in
 * the same run. Two server child processes (one per setting) on fresh data directories;
 * rounds alternate on/off so machine drift hits both alike; the ratio is of the summed
 * counts, after one unmeasured 2 s warm-up round per server. Reuses kms-bench's load
 * generator (undici pool + pre-signed SigV4). Target ≥ 0.85. Asserts nothing about speed.
 *
 * Also reports each server's CPU per request over the rounds (from /proc: the whole process,
 * and its main thread alone, the request thread that auditing must not load): steadier than
 * req/s when other work shares the machine.
 *
 * Run: node --import tsx bench/audit-bench.ts [--duration=<s per round> (3)] [--rounds=<n> (3)] [--concurrency=<n> (16)]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmsCall, KmsSigner, runLoad, type KmsCall, type LoadResult } from './kms-load.js';

const ACCESS_KEY_ID = 'AKIABENCHBENCH000001';
const SECRET = 'bench-secret-key-000000000000000000000000';
const REGION = 'us-east-1';
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(`../src/cli/index${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));

interface Server {
  readonly origin: string;
  readonly proc: ChildProcess;
  readonly dataDir: string;
}

function option(name: string, fallback: number): number {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return v === undefined ? fallback : Number(v);
}

/** Starts `cipherlake server` with the audit trail on or off and waits for its banner. */
function startServer(auditEnabled: boolean): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), `cipherlake-audit-bench-${auditEnabled ? 'on' : 'off'}-`));
  const args = [...(FROM_SOURCE ? ['--import', 'tsx'] : []), CLI, 'server', '--port', '0', '--https-port', '0', '--data-dir', dataDir];
  const env = {
    ...process.env,
    CIPHERLAKE_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
    CIPHERLAKE_ROOT_SECRET_ACCESS_KEY: SECRET,
    CIPHERLAKE_LOG_LEVEL: 'warn',
    CIPHERLAKE_AUDIT_ENABLED: String(auditEnabled),
  };
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout!.resume();
    proc.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m !== null) resolve({ origin: m[1]!, proc, dataDir });
    });
    proc.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${seen.slice(0, 500)}`)));
  });
}

/** CPU ms (user + system) of a process (all its threads), or of its main thread only. NaN when unreadable. */
function cpuMs(pid: number | undefined, mainThreadOnly: boolean): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const fields = stat.replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime; USER_HZ 100
  } catch {
    return NaN;
  }
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((resolve) => s.proc.once('exit', resolve));
  s.proc.kill('SIGTERM');
  await exited;
  rmSync(s.dataDir, { recursive: true, force: true });
}

async function gdkCall(origin: string, signer: KmsSigner): Promise<KmsCall> {
  const jsonCall = (op: string, body: unknown): KmsCall => ({ target: `TrentService.${op}`, body: Buffer.from(JSON.stringify(body)) });
  const created = await kmsCall(origin, signer, jsonCall('CreateKey', { Description: 'audit-bench' }));
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  return jsonCall('GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { purpose: 'bench' } });
}

async function main(): Promise<void> {
  const durationMs = option('duration', 3) * 1000;
  const rounds = option('rounds', 3);
  const concurrency = option('concurrency', 16);
  const [on, off] = await Promise.all([startServer(true), startServer(false)]);
  try {
    const targets = await Promise.all(
      [on, off].map(async (s) => {
        const signer = new KmsSigner(ACCESS_KEY_ID, SECRET, REGION, new URL(s.origin).host);
        return { s, signer, call: await gdkCall(s.origin, signer) };
      }),
    );
    const totals = [0, 1].map(() => ({ requests: 0, seconds: 0, errors: 0, cpuMs: 0, mainMs: 0 }));
    const limits = { concurrency, durationMs, maxRequests: 10_000_000, warmupMs: 500 };
    // One unmeasured round per server first: round 1 otherwise measures JIT warm-up and a cold
    // SQLite page cache, and always on the same server (the audited one goes first).
    for (const t of targets) await runLoad(t.s.origin, t.signer, t.call, { ...limits, durationMs: 2000 });
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const t = targets[i]!;
        const pid = t.s.proc.pid;
        // runLoad reads the probe just before and after its measured window; the main thread's
        // CPU is read at the same two moments.
        const main: number[] = [];
        const probe = (): number => {
          main.push(cpuMs(pid, true));
          return cpuMs(pid, false);
        };
        const result: LoadResult = await runLoad(t.s.origin, t.signer, t.call, limits, probe);
        totals[i]!.cpuMs += result.serverCpuMs ?? NaN;
        totals[i]!.mainMs += (main.at(-1) ?? NaN) - (main[0] ?? NaN);
        totals[i]!.requests += result.requests;
        totals[i]!.seconds += result.seconds;
        totals[i]!.errors += result.errors;
        process.stdout.write(`round ${r + 1} audit ${i === 0 ? 'on ' : 'off'}: ${Math.round(result.perSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors}${result.firstError ? ` (${result.firstError})` : ''}\n`);
      }
    }
    const rate = totals.map((t) => t.requests / t.seconds);
    const ratio = rate[0]! / rate[1]!;
    process.stdout.write(`\n| KMS GenerateDataKey, concurrency ${concurrency} | req/s |\n| :--- | ---: |\n`);
    process.stdout.write(`| audit on  | ${Math.round(rate[0]!)} |\n| audit off | ${Math.round(rate[1]!)} |\n| ratio on/off | ${ratio.toFixed(2)} (target ≥ 0.85) |\n`);
    const us = (ms: number, t: { requests: number }): string => (Number.isFinite(ms) ? ((ms * 1000) / t.requests).toFixed(0) : '-');
    process.stdout.write(`server CPU µs/req (all threads / main thread): on ${us(totals[0]!.cpuMs, totals[0]!)} / ${us(totals[0]!.mainMs, totals[0]!)}, off ${us(totals[1]!.cpuMs, totals[1]!)} / ${us(totals[1]!.mainMs, totals[1]!)}\n`);
    process.stdout.write(`errors: on ${totals[0]!.errors}, off ${totals[1]!.errors}\n`);
  } finally {
    await Promise.all([stopServer(on), stopServer(off)]);
  }
}

await main();
