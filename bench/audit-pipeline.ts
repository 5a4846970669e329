/**
 * What the audit trail itself costs per request, without HTTP, SigV4, KMS or S3 around it
 * (issue 5; audit-bench.ts measures the whole server on and off): the records of a 4 KiB
 * SSE-KMS S3 PUT (KMS GenerateDataKey on the caller's behalf, invokedBy s3.amazonaws.com, then
 * PutObject) or of a KMS GenerateDataKey call, built as the edge builds them (SinkEdgeAuditor,
 * kmsCallAuditor, s3Event), appended through an AuditTrail to a journaling ThreadAuditWriter
 * (durability `process`, as the server's default) by C concurrent callers, and chained into
 * a fresh audit.db by the writer thread. Reports, per request, the CPU of this process's
 * main thread (the request thread's share: building, encoding, the journal write) and of all
 * its threads (with the writer thread's chaining, SQLite and indexing), from /proc. The
 * machine's SHA-256 speed (openssl speed) is printed beside it: the chain hashes every record.
 * Requests are paced at --rate per second (default 10,000: about what one server process
 * serves of KMS calls, a few times its S3 PUTs), so that the writer thread polls as it does in
 * a server; --rate=0 runs flat out, where the writer falls behind and reads its backlog in
 * larger, costlier pieces.
 *
 * Run: node --import tsx bench/audit-pipeline.ts [--workload=s3,kms] [--concurrency=32]
 *        [--count=20000] [--warmup=5000] [--rate=10000]
 *  or: npm run build && node dist/bench/audit-pipeline.js [flags]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AuditTrail } from '../src/audit/index.js';
import { SinkEdgeAuditor } from '../src/net/edge-audit.js';
import { newJournalName } from '../src/store/sqlite/audit-journal.js';
import { SqliteAuditStore } from '../src/store/sqlite/audit-store.js';
import { ThreadAuditWriter } from '../src/store/sqlite/audit-writer-client.js';
import { SAMPLE_ACCOUNT, SAMPLE_REGION, sampleRequests, type AuditWorkload } from './audit-sample-requests.js';

const arg = (name: string, fallback: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const workloads = arg('workload', 's3,kms').split(',');
const concurrency = Number(arg('concurrency', '32'));
const count = Number(arg('count', '20000'));
const warmup = Number(arg('warmup', '5000'));
const rate = Number(arg('rate', '10000'));
for (const w of workloads) if (w !== 's3' && w !== 'kms') throw new Error(`--workload takes s3 and/or kms, not ${w}`);
if (![concurrency, count, warmup, rate].every((n) => Number.isInteger(n) && n >= 0) || concurrency < 1) throw new Error('--concurrency, --count, --warmup and --rate take whole numbers');

/** CPU ms of one thread of this process (utime + stime, 10 ms ticks). */
function threadCpuMs(tid: number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function opensslSha256(): string {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', '1', '-bytes', '2048', '-evp', 'sha256'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /^sha256\s+([\d.]+)k/m.exec(out);
    return m === null ? 'unparsed' : `${(Number(m[1]) / 1000).toFixed(0)} MB/s (2 KiB blocks, one core)`;
  } catch {
    return 'not measured (no openssl)';
  }
}

interface Result {
  readonly workload: string;
  readonly perSecond: number;
  readonly mainUs: number;
  readonly allUs: number;
}

async function measure(workload: AuditWorkload): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherlake-audit-pipeline-'));
  const path = join(dir, 'audit.db');
  const store = new SqliteAuditStore(path, { synchronous: 'NORMAL' });
  await store.prepareForWriters();
  // The server's writer: its journal in audit-journal/, its thread chaining it into audit.db.
  const writer = new ThreadAuditWriter({ path, synchronous: 'NORMAL', index: { idleMs: 500, backlog: 4096, chunk: 1024 }, journal: { dir: join(dir, 'audit-journal'), name: newJournalName('s'), durability: 'process' } });
  await writer.probe();
  const trail = await AuditTrail.open({ store, signer: null, writer });
  const auditor = new SinkEdgeAuditor(trail, { region: SAMPLE_REGION, accountId: SAMPLE_ACCOUNT }, pino({ level: 'silent' }));
  const oneRequest = sampleRequests(workload, auditor);
  let n = 0;
  /** `total` requests by `concurrency` callers; with a rate, request i starts no earlier than i / rate seconds in. */
  const run = async (total: number): Promise<void> => {
    let next = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const due = rate > 0 ? start + (i * 1000) / rate : 0;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        await oneRequest(n++);
      }
    }));
  };

  try {
    await run(warmup);
    const main0 = threadCpuMs(process.pid);
    const all0 = processCpuMs();
    const t0 = performance.now();
    await run(count);
    const seconds = (performance.now() - t0) / 1000;
    const mainMs = threadCpuMs(process.pid) - main0;
    // The writer thread's backlog is part of the cost: wait until it chained every record.
    await writer.flush();
    const allMs = processCpuMs() - all0;
    return { workload, perSecond: count / seconds, mainUs: (mainMs * 1000) / count, allUs: (allMs * 1000) / count };
  } finally {
    await trail.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Result[] = [];
for (const w of workloads) rows.push(await measure(w as AuditWorkload));
const label = (w: string): string => (w === 's3' ? 'S3 4 KiB SSE-KMS PUT (2 records)' : 'KMS GenerateDataKey (1 record)');
process.stdout.write(`SHA-256 (openssl speed -evp sha256): ${opensslSha256()}\n\n`);
process.stdout.write(`| workload | concurrency | paced at /s | requests/s | main thread µs/request | all threads µs/request |\n| :--- | ---: | ---: | ---: | ---: | ---: |\n`);
for (const r of rows) process.stdout.write(`| ${label(r.workload)} | ${concurrency} | ${rate > 0 ? rate : 'unpaced'} | ${r.perSecond.toFixed(0)} | ${r.mainUs.toFixed(1)} | ${r.allUs.toFixed(1)} |\n`);
